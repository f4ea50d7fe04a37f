//! save_state / load_state continue a run exactly; an Interrupter stops a step from another
//! thread and is harmless once its solver is gone.
mod common;
use common::*;
use fwmerge::{ExportOptions, Params, Status};

fn params() -> Params {
    Params {
        max_iters: 4,
        epsilon: 0.0,
        threads: 1,
        ..Params::default()
    }
}

#[test]
fn a_saved_run_continues_with_the_same_bytes() {
    let dir = tmp_dir("resume");
    write_pool(&dir);
    let target = member_values(3)
        .iter()
        .map(|t| t.iter().map(|x| x * 0.5).collect())
        .collect::<Vec<Vec<f32>>>();
    let solver = |target: Vec<Vec<f32>>| {
        let mut s = pool_solver(&dir, &params());
        s.set_objective(move |p, g| Ok::<f64, String>(quadratic(&target, p, g)))
            .unwrap();
        s
    };
    let mut straight = solver(target.clone());
    straight.run().unwrap();
    straight
        .export(dir.join("straight.safetensors"), &ExportOptions::default())
        .unwrap();

    let mut first = solver(target.clone());
    first.step().unwrap();
    first.step().unwrap();
    first.save_state(dir.join("half.state")).unwrap();
    drop(first);
    let mut second = solver(target);
    second.load_state(dir.join("half.state")).unwrap();
    assert_eq!(second.history_len(), 2);
    second.run().unwrap();
    assert_eq!(second.history_len(), 4);
    second
        .export(dir.join("resumed.safetensors"), &ExportOptions::default())
        .unwrap();
    assert_eq!(
        std::fs::read(dir.join("straight.safetensors")).unwrap(),
        std::fs::read(dir.join("resumed.safetensors")).unwrap()
    );

    let e = second
        .load_state(dir.join("member0.safetensors"))
        .unwrap_err();
    assert_eq!(e.status(), Status::Format, "{e}");
}

#[test]
fn an_interrupter_stops_the_next_step_from_another_thread() {
    let dir = tmp_dir("interrupt");
    write_pool(&dir);
    let mut s = pool_solver(&dir, &params());
    let target = member_values(3);
    s.set_objective(move |p, g| Ok::<f64, String>(quadratic(&target, p, g)))
        .unwrap();
    let handle = s.interrupter();
    assert!(std::thread::spawn(move || handle.interrupt())
        .join()
        .unwrap());
    let before = snapshot(&s);
    let e = s.step().unwrap_err();
    assert_eq!(e.status(), Status::Aborted, "{e}");
    assert_eq!(snapshot(&s), before);
    assert_eq!(s.history_len(), 0);
    s.step().unwrap(); // consumed

    let late = s.interrupter();
    drop(s);
    assert!(!late.interrupt(), "an interrupter outlived its solver");
}
