//! The fields newer than the first Rust API, the version check and the process-wide settings
//! reach the library: each changes what it computes or is rejected by its own checks. A pool of
//! two tensors: base b=[0] w=[0,0]; m0 b=[2] w=[1,0]; m1 b=[-1] w=[0,1].
mod common;
use common::tmp_dir;
use fwmerge::{
    merge, save_tensors, Device, Dtype, ExportOptions, MergeField, MergeMethod, MergeOverride,
    MergeParams, Params, Solver, Status, TensorSet, TensorView,
};
use std::path::{Path, PathBuf};

fn write_pool(dir: &Path) -> (PathBuf, Vec<PathBuf>) {
    let files: [(&str, [f32; 1], [f32; 2]); 3] = [
        ("base", [0.0], [0.0, 0.0]),
        ("m0", [2.0], [1.0, 0.0]),
        ("m1", [-1.0], [0.0, 1.0]),
    ];
    for (name, b, w) in &files {
        let tensors = [
            TensorView {
                name: "b",
                shape: &[1],
                data: b,
            },
            TensorView {
                name: "w",
                shape: &[2],
                data: w,
            },
        ];
        save_tensors(
            dir.join(format!("{name}.safetensors")),
            &tensors,
            Dtype::Default,
            &[],
        )
        .unwrap();
    }
    let pool = ["m0", "m1"].map(|m| dir.join(format!("{m}.safetensors")));
    (dir.join("base.safetensors"), pool.to_vec())
}

fn merged(dir: &Path, p: &MergeParams, tensor: &str) -> fwmerge::Result<Vec<f32>> {
    let (base, pool) = write_pool(dir);
    let out = dir.join("out.safetensors");
    merge(p, &base, &pool, &out, &ExportOptions::default())?;
    let set = TensorSet::load(&out, false)?;
    let t = (0..set.len())
        .filter_map(|i| set.get(i))
        .find(|t| t.name == tensor)
        .expect("tensor in the output");
    Ok(t.bytes
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

#[test]
fn merge_filters_and_mergekit_fields_reach_the_library() {
    let dir = tmp_dir("fields-merge");
    // base + 0.5 * (tau0 + tau1); an excluded (or not included) b stays the base's.
    let mut ta = MergeParams::new(MergeMethod::TaskArithmetic);
    ta.scaling = 0.5;
    let mut exclude = ta.clone();
    exclude.exclude_tensors = vec!["b".into()];
    assert_eq!(merged(&dir, &exclude, "b").unwrap(), [0.0]);
    assert_eq!(merged(&dir, &exclude, "w").unwrap(), [0.5, 0.5]);
    let mut include = ta.clone();
    include.include_tensors = vec!["w*".into()];
    assert_eq!(merged(&dir, &include, "b").unwrap(), [0.0]);

    // TIES on b with weights 1, 2: the weighted signs +2 and -2 sum to zero. fwmerge elects no
    // sign (b stays at the base); mergekit elects + (m0 agrees: b = 2).
    let mut ties = MergeParams::new(MergeMethod::Ties);
    ties.density = 1.0;
    ties.weights = Some(vec![1.0, 2.0]);
    assert!(!ties.mergekit_compat);
    assert_eq!(ties.compute_dtype, Dtype::Default);
    assert_eq!(merged(&dir, &ties, "b").unwrap(), [0.0]);
    ties.mergekit_compat = true;
    ties.compute_dtype = Dtype::F32;
    assert_eq!(merged(&dir, &ties, "b").unwrap(), [2.0]);

    // A scaling override for b: base + 1 * (tau0 + tau1) = 1 there, w keeps the struct's 0.5.
    let mut over = ta.clone();
    over.overrides = vec![MergeOverride {
        tensors: Some("b".into()),
        member: -1,
        field: MergeField::Scaling,
        value: 1.0,
    }];
    assert_eq!(merged(&dir, &over, "b").unwrap(), [1.0]);
    assert_eq!(merged(&dir, &over, "w").unwrap(), [0.5, 0.5]);
    over.overrides[0].member = 0; // SCALING takes no member
    let e = merged(&dir, &over, "b").unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument, "{e}");

    // hf_folder: the output is a model folder with a model card.
    let (base, pool) = write_pool(&dir);
    let folder = dir.join("folder");
    let opts = ExportOptions {
        hf_folder: true,
        ..ExportOptions::default()
    };
    merge(&ta, &base, &pool, &folder, &opts).unwrap();
    assert!(folder.join("model.safetensors").exists() && folder.join("README.md").exists());

    // compute_dtype without mergekit_compat, and model_stock in mergekit mode, are rejected.
    ties.mergekit_compat = false;
    let e = merged(&dir, &ties, "b").unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument, "{e}");
    let mut stock = MergeParams::new(MergeMethod::ModelStock);
    stock.mergekit_compat = true;
    let e = merged(&dir, &stock, "b").unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument, "{e}");
}

#[test]
fn solver_filters_and_device_fields_reach_the_library() {
    let dir = tmp_dir("fields-solver");
    let (base, _) = write_pool(&dir);
    let p = Params::default();
    assert_eq!(
        (p.device, p.device_index, p.work_dtype, p.host_views),
        (Device::Cpu, 0, Dtype::F32, false)
    );
    // Only w is merged: the views cover it alone.
    let mut s = Solver::new(&Params {
        exclude_tensors: vec!["b".into()],
        ..Params::default()
    })
    .unwrap();
    s.set_base(&base).unwrap();
    let names: Vec<String> = s
        .current()
        .unwrap()
        .iter()
        .map(|v| v.name.to_string())
        .collect();
    assert_eq!(names, ["w"]);
    // A filter that selects nothing is refused at set_base.
    let mut s = Solver::new(&Params {
        include_tensors: vec!["nothing*".into()],
        ..Params::default()
    })
    .unwrap();
    assert_eq!(
        s.set_base(&base).unwrap_err().status(),
        Status::NameMismatch
    );
    // The device index is checked by the library: 1 on the CPU is invalid.
    let e = Solver::new(&Params {
        device_index: 1,
        ..Params::default()
    })
    .err()
    .expect("device_index 1 on the CPU");
    assert_eq!(e.status(), Status::InvalidArgument);
    // A pattern with a NUL byte cannot be passed to C.
    let e = Solver::new(&Params {
        exclude_tensors: vec!["a\0b".into()],
        ..Params::default()
    })
    .err()
    .expect("NUL in a pattern");
    assert_eq!(e.status(), Status::InvalidArgument);
}

#[test]
fn version_check_and_process_wide_settings() {
    let header = fwmerge::sys::FW_VERSION_NUMBER;
    assert_eq!(fwmerge::version_number(), header);
    assert!(fwmerge::version_incompatibility(header, header).is_none());
    assert!(fwmerge::version_incompatibility(header + 1, header).is_none()); // a later patch
    let older = fwmerge::version_incompatibility(header - 1, header).unwrap();
    assert!(older.contains("rebuild"), "{older}");
    assert!(fwmerge::version_incompatibility(header + 100, header).is_some()); // next minor

    fwmerge::set_torch_threads(1).unwrap();
    assert_eq!(
        fwmerge::set_torch_threads(0).unwrap_err().status(),
        Status::InvalidArgument
    );
    // glibc: accepted up to 32 MiB; another allocator: unsupported.
    match fwmerge::set_malloc_mmap_threshold(1 << 20) {
        Ok(()) => assert_eq!(
            fwmerge::set_malloc_mmap_threshold(1 << 30)
                .unwrap_err()
                .status(),
            Status::InvalidArgument
        ),
        Err(e) => assert_eq!(e.status(), Status::Unsupported),
    }
}
