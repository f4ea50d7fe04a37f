//! A small pool written through the wrapper's save_tensors, and a quadratic objective.
#![allow(dead_code)]
use fwmerge::{save_tensors, Dtype, GradView, Params, Solver, TensorView};
use std::path::{Path, PathBuf};

/// (name, shape) of the pool's tensors, in file order. Includes a rank-0 tensor.
pub const LAYOUT: &[(&str, &[i64])] = &[
    ("layer.0.weight", &[2, 3]),
    ("layer.0.bias", &[3]),
    ("head.weight", &[4]),
    ("scale", &[]),
];

pub const MEMBERS: usize = 4;

/// A fresh folder under cargo's per-target temp dir.
pub fn tmp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn numel(shape: &[i64]) -> usize {
    shape.iter().product::<i64>() as usize
}

/// Base values: tensor j, element i -> 0.1 (j + 1) + 0.01 i.
pub fn base_values() -> Vec<Vec<f32>> {
    LAYOUT
        .iter()
        .enumerate()
        .map(|(j, (_, s))| {
            (0..numel(s))
                .map(|i| 0.1 * (j as f32 + 1.0) + 0.01 * i as f32)
                .collect()
        })
        .collect()
}

/// Member k = base + task vector tau_k, where tau_k is (k + 1) / 2 on the flat indices g with
/// g % 4 == k and 0 elsewhere: the task vectors have disjoint supports, so they are orthogonal.
pub fn member_values(k: usize) -> Vec<Vec<f32>> {
    let mut g = 0usize;
    base_values()
        .into_iter()
        .map(|t| {
            t.into_iter()
                .map(|x| {
                    let v = if g % MEMBERS == k {
                        x + (k as f32 + 1.0) * 0.5
                    } else {
                        x
                    };
                    g += 1;
                    v
                })
                .collect()
        })
        .collect()
}

pub fn views<'a>(values: &'a [Vec<f32>]) -> Vec<TensorView<'a>> {
    LAYOUT
        .iter()
        .zip(values)
        .map(|((name, shape), data)| TensorView { name, shape, data })
        .collect()
}

/// Writes base.safetensors and member0..3.safetensors into `dir`.
pub fn write_pool(dir: &Path) {
    save_tensors(
        dir.join("base.safetensors"),
        &views(&base_values()),
        Dtype::F32,
        &[],
    )
    .unwrap();
    for k in 0..MEMBERS {
        let m = member_values(k);
        save_tensors(
            dir.join(format!("member{k}.safetensors")),
            &views(&m),
            Dtype::F32,
            &[],
        )
        .unwrap();
    }
}

/// A solver over the pool in `dir` (no objective yet).
pub fn pool_solver(dir: &Path, params: &Params) -> Solver {
    let mut s = Solver::new(params).unwrap();
    s.set_base(dir.join("base.safetensors")).unwrap();
    for k in 0..MEMBERS {
        assert_eq!(
            s.pool_add(dir.join(format!("member{k}.safetensors")))
                .unwrap(),
            k as i32
        );
    }
    s
}

/// Position of tensor `name` in LAYOUT.
pub fn layout_index(name: &str) -> usize {
    LAYOUT
        .iter()
        .position(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("unknown tensor {name}"))
}

/// 0.5 ||theta - target||^2 (f64 accumulator) and its gradient theta - target (f32).
pub fn quadratic(target: &[Vec<f32>], params: &[TensorView], grads: &mut [GradView]) -> f64 {
    assert_eq!(params.len(), target.len());
    let mut loss = 0.0f64;
    for (j, p) in params.iter().enumerate() {
        // The library presents tensors in the base file's order, not LAYOUT's.
        let t = layout_index(p.name);
        assert_eq!(p.shape, LAYOUT[t].1);
        for (i, &x) in p.data.iter().enumerate() {
            let d = x - target[t][i];
            loss += 0.5 * f64::from(d) * f64::from(d);
            if !grads.is_empty() {
                grads[j].data[i] = d;
            }
        }
    }
    loss
}

/// Deep copy of the solver's current point.
pub fn snapshot(s: &Solver) -> Vec<(String, Vec<i64>, Vec<f32>)> {
    s.current()
        .unwrap()
        .iter()
        .map(|t| (t.name.to_string(), t.shape.to_vec(), t.data.to_vec()))
        .collect()
}

/// Bit-exact comparison of two snapshots (NaN-safe, -0.0 distinct).
pub fn same_bits(a: &[(String, Vec<i64>, Vec<f32>)], b: &[(String, Vec<i64>, Vec<f32>)]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.0 == y.0
                && x.1 == y.1
                && x.2.len() == y.2.len()
                && x.2
                    .iter()
                    .zip(&y.2)
                    .all(|(p, q)| p.to_bits() == q.to_bits())
        })
}
