//! Data-free merges against closed forms, read back with the reference safetensors crate.
mod common;
use common::*;
use fwmerge::{merge, ExportOptions, MergeMethod, MergeParams, Params, Status};
use safetensors::SafeTensors;
use std::path::PathBuf;

fn pool_paths(dir: &std::path::Path) -> Vec<PathBuf> {
    (0..MEMBERS)
        .map(|k| dir.join(format!("member{k}.safetensors")))
        .collect()
}

/// Reads `path` and checks every tensor against `want` (LAYOUT order) within `tol`.
fn assert_file_close(path: &std::path::Path, want: &[Vec<f32>], tol: f32) {
    let bytes = std::fs::read(path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.len(), LAYOUT.len());
    for ((name, _), w) in LAYOUT.iter().zip(want) {
        let t = st.tensor(name).unwrap();
        let got: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(got.len(), w.len());
        for (a, b) in got.iter().zip(w) {
            assert!((a - b).abs() <= tol, "{name}: {a} vs {b}");
        }
    }
}

fn combine(f: impl Fn(usize, usize) -> f32) -> Vec<Vec<f32>> {
    LAYOUT
        .iter()
        .enumerate()
        .map(|(j, (_, s))| {
            (0..s.iter().product::<i64>() as usize)
                .map(|i| f(j, i))
                .collect()
        })
        .collect()
}

#[test]
fn weighted_linear_is_the_weighted_mean() {
    let dir = tmp_dir("df-linear");
    write_pool(&dir);
    let params = MergeParams {
        weights: Some(vec![1.0, 3.0, 0.0, 0.0]),
        ..MergeParams::new(MergeMethod::Linear)
    };
    assert!(params.normalize, "LINEAR normalizes by default");
    let out = dir.join("linear.safetensors");
    merge(
        &params,
        dir.join("base.safetensors"),
        &pool_paths(&dir),
        &out,
        &ExportOptions::default(),
    )
    .unwrap();
    let (m0, m1) = (member_values(0), member_values(1));
    assert_file_close(
        &out,
        &combine(|j, i| (m0[j][i] + 3.0 * m1[j][i]) / 4.0),
        1e-6,
    );
}

#[test]
fn task_arithmetic_adds_scaled_task_vectors() {
    let dir = tmp_dir("df-ta");
    write_pool(&dir);
    let params = MergeParams::new(MergeMethod::TaskArithmetic);
    assert_eq!((params.scaling, params.normalize), (0.3, false));
    let out = dir.join("ta.safetensors");
    merge(
        &params,
        dir.join("base.safetensors"),
        &pool_paths(&dir),
        &out,
        &ExportOptions::default(),
    )
    .unwrap();
    // base + 0.3 sum_k tau_k; the task vectors have disjoint supports.
    let base = base_values();
    let members: Vec<_> = (0..MEMBERS).map(member_values).collect();
    let want = combine(|j, i| {
        base[j][i] + 0.3 * members.iter().map(|m| m[j][i] - base[j][i]).sum::<f32>()
    });
    assert_file_close(&out, &want, 1e-6);

    // The same merge as the FW start point: current() is it before any step.
    let mut s = pool_solver(&dir, &Params::default());
    s.set_start_merge(&params).unwrap();
    for view in s.current().unwrap() {
        let w = &want[layout_index(view.name)];
        for (a, b) in view.data.iter().zip(w) {
            assert!((a - b).abs() <= 1e-6, "{}: {a} vs {b}", view.name);
        }
    }
}

#[test]
fn bad_merge_input_is_rejected_and_writes_nothing() {
    let dir = tmp_dir("df-bad");
    write_pool(&dir);
    let out = dir.join("never.safetensors");
    let base = dir.join("base.safetensors");
    let pool = pool_paths(&dir);
    let two_weights = MergeParams {
        weights: Some(vec![1.0, 1.0]),
        ..MergeParams::new(MergeMethod::Linear)
    };
    let e = merge(&two_weights, &base, &pool, &out, &ExportOptions::default()).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("2 weights for a pool of 4"), "{e}");

    let two_densities = MergeParams {
        densities: Some(vec![0.5, 0.5]),
        ..MergeParams::new(MergeMethod::Ties)
    };
    let e = merge(
        &two_densities,
        &base,
        &pool,
        &out,
        &ExportOptions::default(),
    )
    .unwrap_err();
    assert!(e.message().contains("2 densities for a pool of 4"), "{e}");
    let linear_densities = MergeParams {
        densities: Some(vec![0.5; 4]),
        ..MergeParams::new(MergeMethod::Linear)
    };
    let e = merge(
        &linear_densities,
        &base,
        &pool,
        &out,
        &ExportOptions::default(),
    )
    .unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("linear takes no densities"), "{e}");

    let dense = MergeParams {
        density: 1.5,
        ..MergeParams::new(MergeMethod::Ties)
    };
    let e = merge(&dense, &base, &pool, &out, &ExportOptions::default()).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument, "{e}");
    assert!(!out.exists());

    let mut s = pool_solver(&dir, &Params::default());
    let stock = MergeParams::new(MergeMethod::ModelStock);
    assert_eq!(
        s.set_merge_function(Some(&stock)).unwrap_err().status(),
        Status::Unsupported
    );
    s.set_merge_function(Some(&MergeParams::new(MergeMethod::Ties)))
        .unwrap();
    s.set_merge_function(None).unwrap();
}
