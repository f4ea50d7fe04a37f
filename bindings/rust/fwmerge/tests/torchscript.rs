//! The built-in objective's wrapper: inputs reach the library, its errors come back. (A real
//! TorchScript module is exercised by the C++ tests; none can be written from here.)
mod common;
use common::*;
use fwmerge::{ObjectiveTerm, Params, Status, TorchScriptObjective};
use std::sync::Arc;

fn objective(dir: &std::path::Path, module: &str) -> TorchScriptObjective {
    TorchScriptObjective {
        module_path: dir.join(module),
        calibration_path: dir.join("base.safetensors"),
        param_map: Some(vec![("fc.weight".into(), "layer.0.weight".into())]),
        terms: vec![ObjectiveTerm {
            method: None,
            inputs: "x".into(),
            labels: Some("y".into()),
            weight: 1.0,
        }],
    }
}

#[test]
fn torchscript_errors_come_back_and_keep_the_callback() {
    let dir = tmp_dir("ts-errors");
    write_pool(&dir);
    let mut s = pool_solver(&dir, &Params::default());
    let token = Arc::new(());
    let held = token.clone();
    let target = member_values(1);
    s.set_objective(move |p, g| {
        let _ = &held;
        Ok::<_, String>(quadratic(&target, p, g))
    })
    .unwrap();

    let e = s
        .set_objective_torchscript(&objective(&dir, "missing.pt"))
        .unwrap_err();
    assert_eq!(e.status(), Status::Io, "{e}");
    assert!(e.message().contains("missing.pt"), "{e}");

    std::fs::write(dir.join("garbage.pt"), b"not a zip archive").unwrap();
    let e = s
        .set_objective_torchscript(&objective(&dir, "garbage.pt"))
        .unwrap_err();
    assert_eq!(e.status(), Status::Format, "{e}");

    let mut bad = objective(&dir, "garbage.pt");
    bad.terms[0].weight = f64::NAN;
    let e = s.set_objective_torchscript(&bad).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);

    // Failed replacements keep the closure objective, alive and in use.
    assert_eq!(Arc::strong_count(&token), 2);
    assert_eq!(s.step().unwrap().chosen, vec![1]);
}

/// The module written by the CMake-built helper (env FWMERGE_TS_FIXTURE); None outside CTest.
fn fixture_module(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    let helper = std::env::var_os("FWMERGE_TS_FIXTURE")?;
    let status = std::process::Command::new(helper)
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
    Some(dir.join("net.pt"))
}

#[test]
fn torchscript_cross_entropy_step_matches_the_closed_form() {
    use fwmerge::{save_tensors, Dtype, TensorView};
    use safetensors::{serialize_to_file, tensor::TensorView as StView, Dtype as StDtype};
    let dir = tmp_dir("ts-step");
    let Some(module) = fixture_module(&dir) else {
        eprintln!("skipped: FWMERGE_TS_FIXTURE is not set (CTest sets it)");
        return;
    };
    // Base W = 0, b = 0; member 0 moves W against the gradient, member 1 along it.
    let model = |path: &str, w: [f32; 4]| {
        let b = [0.0f32; 2];
        let t = [
            TensorView {
                name: "fc.weight",
                shape: &[2, 2],
                data: &w,
            },
            TensorView {
                name: "fc.bias",
                shape: &[2],
                data: &b,
            },
        ];
        save_tensors(dir.join(path), &t, Dtype::F32, &[]).unwrap();
    };
    model("base.safetensors", [0.0; 4]);
    model("good.safetensors", [-0.5, 0.75, 0.5, -0.75]);
    model("bad.safetensors", [0.5, -0.75, -0.5, 0.75]);
    // Calibration: x = [[1, 2], [3, -1]] (F32), labels y = [0, 1] (I64), via the reference crate.
    let x: Vec<u8> = [1.0f32, 2.0, 3.0, -1.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let y: Vec<u8> = [0i64, 1].iter().flat_map(|v| v.to_le_bytes()).collect();
    let calib = dir.join("calib.safetensors");
    serialize_to_file(
        [
            ("x", StView::new(StDtype::F32, vec![2, 2], &x).unwrap()),
            ("y", StView::new(StDtype::I64, vec![2], &y).unwrap()),
        ],
        None,
        &calib,
    )
    .unwrap();

    let mut s = fwmerge::Solver::new(&Params::default()).unwrap();
    s.set_base(dir.join("base.safetensors")).unwrap();
    s.pool_add(dir.join("good.safetensors")).unwrap();
    s.pool_add(dir.join("bad.safetensors")).unwrap();
    let token = Arc::new(());
    let held = token.clone();
    s.set_objective(move |_p, _g| {
        let _ = &held;
        Ok::<f64, String>(0.0)
    })
    .unwrap();
    s.set_objective_torchscript(&TorchScriptObjective {
        module_path: module,
        calibration_path: calib,
        param_map: None,
        terms: vec![ObjectiveTerm {
            method: None,
            inputs: "x".into(),
            labels: Some("y".into()),
            weight: 1.0,
        }],
    })
    .unwrap();
    assert_eq!(
        Arc::strong_count(&token),
        1,
        "the replaced closure is freed"
    );

    // At W = 0: p = (1/2, 1/2), loss = ln 2, dL/dW = [[0.5, -0.75], [-0.5, 0.75]], dL/db = 0.
    // Scores <grad, theta_i>: good -1.625, bad +1.625, base 0 -> good; gap = 1.625.
    let info = s.step().unwrap();
    assert!(
        (info.loss - std::f64::consts::LN_2).abs() < 1e-6,
        "loss {}",
        info.loss
    );
    assert_eq!(info.chosen, vec![0]);
    assert!((info.gap - 1.625).abs() < 1e-6, "gap {}", info.gap);
    assert!(info.loss_after.unwrap() < info.loss);
}
