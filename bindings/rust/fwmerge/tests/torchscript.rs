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
