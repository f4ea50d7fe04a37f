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

#[test]
fn model_card_is_the_readme_byte_for_byte() {
    let dir = tmp_dir("fields-model-card");
    let (base, pool) = write_pool(&dir);
    let linear = MergeParams::new(MergeMethod::Linear);
    let card = "---\nlicense: mit\n---\n# Merged \u{e9}\u{2713} \u{1F600}\n\nNo trailing newline";
    let opts = ExportOptions {
        hf_folder: true,
        model_card: Some(card.to_string()),
        ..ExportOptions::default()
    };
    assert_eq!(ExportOptions::default().model_card, None);
    let folder = dir.join("carded");
    merge(&linear, &base, &pool, &folder, &opts).unwrap();
    assert_eq!(
        std::fs::read(folder.join("README.md")).unwrap(),
        card.as_bytes()
    );

    let mut s = Solver::new(&Params::default()).unwrap();
    s.set_base(&base).unwrap();
    let exported = dir.join("exported");
    let export_opts = ExportOptions {
        model_card: Some("# exported".into()),
        ..opts.clone()
    };
    s.export(&exported, &export_opts).unwrap();
    assert_eq!(
        std::fs::read(exported.join("README.md")).unwrap(),
        b"# exported"
    );

    // Without hf_folder the library rejects the card and writes nothing; a NUL byte is rejected
    // before the call.
    let no_folder = ExportOptions {
        hf_folder: false,
        ..opts.clone()
    };
    let out = dir.join("card.safetensors");
    let e = merge(&linear, &base, &pool, &out, &no_folder).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument, "{e}");
    let e = s.export(&out, &no_folder).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument, "{e}");
    assert!(!out.exists());
    let nul = ExportOptions {
        model_card: Some("a\0b".into()),
        ..opts
    };
    let e = merge(&linear, &base, &pool, dir.join("nul"), &nul).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument, "{e}");
}

#[test]
fn merge_abort_hook_stops_the_merge_and_writes_nothing() {
    use fwmerge::merge_with_abort;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tmp_dir("fields-merge-abort");
    let (base, pool) = write_pool(&dir);
    let ta = MergeParams::new(MergeMethod::TaskArithmetic);
    let opts = ExportOptions::default();

    // A hook that never stops is polled (before each of the two tensors) and changes nothing.
    let out = dir.join("polled.safetensors");
    let mut polls = 0;
    merge_with_abort(&ta, &base, &pool, &out, &opts, || {
        polls += 1;
        false
    })
    .unwrap();
    assert!(polls >= 2, "polled {polls} times");
    assert!(out.exists());

    // A cancel flag (set by another thread, say) stops it: FW_ERR_ABORTED, no output.
    let cancel = AtomicBool::new(true);
    let out = dir.join("aborted.safetensors");
    let e = merge_with_abort(&ta, &base, &pool, &out, &opts, || {
        cancel.load(Ordering::Relaxed)
    })
    .unwrap_err();
    assert_eq!(e.status(), Status::Aborted, "{e}");
    assert!(!out.exists());

    // A panic does not unwind into the library: it stops the merge and comes back as
    // Status::Callback with its message.
    let out = dir.join("panicked.safetensors");
    let e = merge_with_abort(&ta, &base, &pool, &out, &opts, || -> bool {
        panic!("hook exploded")
    })
    .unwrap_err();
    assert_eq!(e.status(), Status::Callback, "{e}");
    assert!(e.to_string().contains("hook exploded"), "{e}");
    assert!(!out.exists());
    // The same hook of a folder export (a multi-file output) leaves nothing either.
    let folder = dir.join("aborted-folder");
    let hf = ExportOptions {
        hf_folder: true,
        ..ExportOptions::default()
    };
    let e = merge_with_abort(&ta, &base, &pool, &folder, &hf, || true).unwrap_err();
    assert_eq!(e.status(), Status::Aborted, "{e}");
    assert!(!folder.exists() || std::fs::read_dir(&folder).unwrap().next().is_none());
}

#[test]
fn save_tensors_writes_every_storage_dtype_as_it_is() {
    use fwmerge::{HostTensor, TensorData};
    let dir = tmp_dir("fields-save-dtypes");
    let path = dir.join("dtypes.safetensors");
    let f32s = [1.5f32, -2.25];
    let f64s = [0.1f64, -1e300];
    let i64s = [i64::MIN, 1 << 40, -1];
    let i32s = [i32::MIN, 7];
    let i16s = [-300i16, 300];
    let i8s = [-128i8, 127, 0];
    let u8s = [0u8, 255];
    let bools = [true, false, true];
    let u16s = [0u16, 65535];
    let u32s = [u32::MAX, 1];
    let u64s = [u64::MAX, 2];
    let f16s = [0x3c00u16, 0xc000]; // 1.0, -2.0
    let bf16s = [0x3f80u16, 0xbf00]; // 1.0, -0.5
    let tensors = [
        HostTensor::new("f32", &[2], &f32s[..]),
        HostTensor::new("f64", &[2], &f64s[..]),
        HostTensor::new("i64", &[3], &i64s[..]),
        HostTensor::new("i32", &[2, 1], &i32s[..]),
        HostTensor::new("i16", &[2], &i16s[..]),
        HostTensor::new("i8", &[3], &i8s[..]),
        HostTensor::new("u8", &[2], &u8s[..]),
        HostTensor::new("bool", &[3], &bools[..]),
        HostTensor::new("u16", &[2], &u16s[..]),
        HostTensor::new("u32", &[2], &u32s[..]),
        HostTensor::new("u64", &[2], &u64s[..]),
        HostTensor {
            name: "f16",
            shape: &[2],
            data: TensorData::F16(&f16s),
        },
        HostTensor {
            name: "bf16",
            shape: &[2],
            data: TensorData::BF16(&bf16s),
        },
    ];
    save_tensors(&path, &tensors, Dtype::Default, &[("k", "v")]).unwrap();

    fn le<T: Copy, const N: usize>(values: &[T], bytes: fn(T) -> [u8; N]) -> Vec<u8> {
        values.iter().flat_map(|&v| bytes(v)).collect()
    }
    let want: [(&str, &str, Vec<u8>); 13] = [
        ("f32", "F32", le(&f32s, f32::to_le_bytes)),
        ("f64", "F64", le(&f64s, f64::to_le_bytes)),
        ("i64", "I64", le(&i64s, i64::to_le_bytes)),
        ("i32", "I32", le(&i32s, i32::to_le_bytes)),
        ("i16", "I16", le(&i16s, i16::to_le_bytes)),
        ("i8", "I8", le(&i8s, i8::to_le_bytes)),
        ("u8", "U8", u8s.to_vec()),
        ("bool", "BOOL", vec![1, 0, 1]),
        ("u16", "U16", le(&u16s, u16::to_le_bytes)),
        ("u32", "U32", le(&u32s, u32::to_le_bytes)),
        ("u64", "U64", le(&u64s, u64::to_le_bytes)),
        ("f16", "F16", le(&f16s, u16::to_le_bytes)),
        ("bf16", "BF16", le(&bf16s, u16::to_le_bytes)),
    ];
    // The file's order is the writer's (by alignment): look the tensors up by name.
    let set = TensorSet::load(&path, false).unwrap();
    assert_eq!(set.len(), want.len());
    assert_eq!(set.metadata(), vec![("k", "v")]);
    for (name, dtype, bytes) in &want {
        let t = set.iter().find(|t| t.name == *name).expect(name);
        assert_eq!(t.dtype, *dtype, "{name}");
        assert_eq!(t.bytes.unwrap(), &bytes[..], "{name}");
        let src = tensors.iter().find(|h| h.name == *name).unwrap();
        assert_eq!(t.shape, src.shape, "{name}");
        assert_eq!(src.data.len(), src.shape.iter().product::<i64>() as usize);
    }

    // Integers are written as they are whatever dtype says; floats are converted to it.
    save_tensors(&path, &tensors[..3], Dtype::BF16, &[]).unwrap();
    let set = TensorSet::load(&path, false).unwrap();
    let dtype_of = |name: &str| set.iter().find(|t| t.name == name).unwrap().dtype;
    assert_eq!(
        [dtype_of("f32"), dtype_of("f64"), dtype_of("i64")],
        ["BF16", "BF16", "I64"]
    );
    let i64s_back = set.iter().find(|t| t.name == "i64").unwrap();
    assert_eq!(i64s_back.bytes.unwrap(), &want[2].2[..]);

    // The shape must fit the data, whatever the dtype.
    let bad = [HostTensor::new("i8", &[4], &i8s[..])];
    let e = save_tensors(dir.join("bad.safetensors"), &bad, Dtype::Default, &[]).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument, "{e}");
}

#[test]
fn max_evaluations_budget_stops_the_run() {
    use fwmerge::StepRule;
    let dir = tmp_dir("fields-budget");
    let (base, pool) = write_pool(&dir);
    assert_eq!(Params::default().max_evaluations, 0);
    // A constant step makes one evaluation: a budget of 1 allows one of the two steps.
    let mut s = Solver::new(&Params {
        step_rule: StepRule::Constant,
        step_scale: 0.5,
        max_iters: 2,
        epsilon: 0.0,
        threads: 1,
        max_evaluations: 1,
        ..Params::default()
    })
    .unwrap();
    s.set_base(&base).unwrap();
    for m in &pool {
        s.pool_add(m).unwrap();
    }
    // 0.5 ||theta - target||^2 with target b=[0.5], w=[1, 0.25].
    s.set_objective(|params: &[TensorView], grads: &mut [fwmerge::GradView]| {
        let mut loss = 0.0;
        for (j, p) in params.iter().enumerate() {
            let target: &[f32] = if p.name == "b" { &[0.5] } else { &[1.0, 0.25] };
            for (i, &x) in p.data.iter().enumerate() {
                let d = x - target[i];
                loss += 0.5 * f64::from(d) * f64::from(d);
                if let Some(g) = grads.get_mut(j) {
                    g.data[i] = d;
                }
            }
        }
        Ok::<f64, String>(loss)
    })
    .unwrap();
    s.run().unwrap();
    assert_eq!(s.history_len(), 1);
}

/// fill_missing_from_base: a member saved without the base's b is refused by default and, with
/// the field set, reads b from the base (a zero task vector there), in merge and in the solver.
#[test]
fn fill_missing_from_base_reaches_the_library() {
    let dir = tmp_dir("fields-fill");
    let (base, pool) = write_pool(&dir);
    let partial = dir.join("partial.safetensors");
    let w = [0.0f32, 3.0];
    let view = TensorView {
        name: "w",
        shape: &[2],
        data: &w,
    };
    save_tensors(&partial, &[view], Dtype::Default, &[]).unwrap();
    let members = vec![pool[0].clone(), partial.clone()];
    let out = dir.join("filled.safetensors");
    let mut ta = MergeParams::new(MergeMethod::TaskArithmetic);
    ta.scaling = 1.0;
    assert!(!ta.fill_missing_from_base);
    let err = merge(&ta, &base, &members, &out, &ExportOptions::default()).unwrap_err();
    assert_eq!(err.status(), Status::NameMismatch, "{err}");
    ta.fill_missing_from_base = true;
    merge(&ta, &base, &members, &out, &ExportOptions::default()).unwrap();
    let set = TensorSet::load(&out, false).unwrap();
    let values = |name: &str| -> Vec<f32> {
        let t = (0..set.len())
            .filter_map(|i| set.get(i))
            .find(|t| t.name == name)
            .expect("tensor in the output");
        t.bytes
            .unwrap()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    // b: 0 + tau_m0 (2) + 0; w: 0 + (1, 0) + (0, 3).
    assert_eq!(values("b"), vec![2.0]);
    assert_eq!(values("w"), vec![1.0, 3.0]);

    for fill in [false, true] {
        let mut s = Solver::new(&Params {
            fill_missing_from_base: fill,
            ..Params::default()
        })
        .unwrap();
        s.set_base(&base).unwrap();
        match s.pool_add(&partial) {
            Ok(index) => assert!(fill && index == 0),
            Err(e) => assert!(!fill && e.status() == Status::NameMismatch, "{e}"),
        }
    }
}

/// The defaults of the 0.5.0 methods (`fw_merge_params` v8): fwmerge.h's "Defaults per method".
#[test]
fn defaults_of_the_0_5_0_methods() {
    let slerp = MergeParams::new(MergeMethod::Slerp);
    assert_eq!((slerp.method, slerp.t), (MergeMethod::Slerp, 0.5));
    assert_eq!(MergeParams::new(MergeMethod::Nearswap).t, 1e-4);
    let della = MergeParams::new(MergeMethod::Della);
    assert_eq!(
        (della.epsilon, della.rescale, della.normalize, della.scaling),
        (0.15, true, true, 1.0)
    );
    assert_eq!(della.epsilons, None);
    let della_linear = MergeParams::new(MergeMethod::DellaLinear);
    assert_eq!(
        (
            della_linear.epsilon,
            della_linear.rescale,
            della_linear.normalize
        ),
        (0.15, true, false)
    );
    assert_eq!(MergeParams::new(MergeMethod::Ram).epsilon, 1e-5);
    let ramplus = MergeParams::new(MergeMethod::RamplusTl);
    assert_eq!(
        (ramplus.epsilon, ramplus.ram_r, ramplus.ram_alpha),
        (1e-5, 0.1, 0.2)
    );
    let karcher = MergeParams::new(MergeMethod::Karcher);
    assert_eq!((karcher.max_iter, karcher.tol), (10, 1e-5));
    let multislerp = MergeParams::new(MergeMethod::Multislerp);
    assert_eq!((multislerp.normalize, multislerp.eps), (true, 1e-8));
    let nuslerp = MergeParams::new(MergeMethod::Nuslerp);
    assert_eq!(
        (nuslerp.nuslerp_flatten, nuslerp.nuslerp_row_wise),
        (true, false)
    );
    assert_eq!(MergeParams::new(MergeMethod::Passthrough).scale, 1.0);
    assert_eq!(MergeParams::new(MergeMethod::Sce).select_topk, 1.0);
    // Every method's value round-trips through the C enum.
    for raw in 0..23 {
        let method = MergeMethod::from_raw(raw).unwrap();
        assert_eq!(method.raw(), raw);
    }
    assert!(MergeMethod::from_raw(99).is_err());
    for raw in 0..7 {
        assert_eq!(MergeField::from_raw(raw).unwrap().raw(), raw);
    }
}

/// Merges with 0.5.0 methods against values computed by hand from fwmerge.h, and their fields and
/// override fields reach the library (m0 b=[2] w=[1,0] over base 0).
#[test]
fn the_0_5_0_methods_match_hand_computed_values() {
    let dir = tmp_dir("fields-050");
    let (base, pool) = write_pool(&dir);
    let m0 = &pool[..1];
    let out = dir.join("out.safetensors");
    let merged_with = |p: &MergeParams, members: &[PathBuf]| -> fwmerge::Result<Vec<Vec<f32>>> {
        merge(p, &base, members, &out, &ExportOptions::default())?;
        let set = TensorSet::load(&out, false)?;
        Ok(["b", "w"]
            .iter()
            .map(|name| {
                let t = (0..set.len())
                    .filter_map(|i| set.get(i))
                    .find(|t| t.name == *name)
                    .expect("tensor in the output");
                t.to_f32s().unwrap()
            })
            .collect())
    };

    // PASSTHROUGH, scale 2: exactly 2 x m0; a SCALE override of 3 on w: 3 x m0's w there.
    let mut pass = MergeParams::new(MergeMethod::Passthrough);
    pass.scale = 2.0;
    assert_eq!(merged_with(&pass, m0).unwrap(), [vec![4.0], vec![2.0, 0.0]]);
    pass.overrides = vec![MergeOverride {
        tensors: Some("w".into()),
        member: -1,
        field: MergeField::Scale,
        value: 3.0,
    }];
    assert_eq!(merged_with(&pass, m0).unwrap(), [vec![4.0], vec![3.0, 0.0]]);

    // NEARSWAP, t 1: weight = clamp(1 / max(|m - b|, 1e-6), 0, 1) of m0 over the base. b: |2 - 0|
    // = 2, weight 0.5: 1. w: |1 - 0| = 1, weight 1: 1; |0 - 0| clamped to 1e-6, weight 1: 0.
    let mut near = MergeParams::new(MergeMethod::Nearswap);
    near.t = 1.0;
    assert_eq!(merged_with(&near, m0).unwrap(), [vec![1.0], vec![1.0, 0.0]]);
    // A T override of 10 on b: |2 - 0| is far below t, weight 1: exactly m0's 2.
    near.overrides = vec![MergeOverride {
        tensors: Some("b".into()),
        member: -1,
        field: MergeField::T,
        value: 10.0,
    }];
    assert_eq!(merged_with(&near, m0).unwrap(), [vec![2.0], vec![1.0, 0.0]]);

    // DELLA's per-member epsilons: a count other than the pool's is refused by the binding, a
    // value whose density 0.5 +- epsilon leaves (0, 1) by the library, naming the member.
    let mut della = MergeParams::new(MergeMethod::Della);
    della.density = 0.5;
    della.epsilons = Some(vec![0.1]);
    let e = merged_with(&della, &pool).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument, "{e}");
    della.epsilons = Some(vec![0.1, 0.6]);
    let e = merged_with(&della, &pool).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument, "{e}");
    let text = e.to_string();
    assert!(
        text.contains("member 1") && text.contains("epsilon 0.6"),
        "{text}"
    );
    della.epsilons = Some(vec![0.1, 0.1]);
    assert_eq!(merged_with(&della, &pool).unwrap()[1].len(), 2);
}
