//! Progress, log and abort hooks as closures.
mod common;
use common::*;
use fwmerge::{LogLevel, Params, Status};
use std::sync::{Arc, Mutex};

fn solver_towards_member(name: &str, k: usize) -> (fwmerge::Solver, Vec<Vec<f32>>) {
    let dir = tmp_dir(name);
    write_pool(&dir);
    let mut s = pool_solver(
        &dir,
        &Params {
            max_iters: 5,
            epsilon: 0.0,
            ..Params::default()
        },
    );
    let (m, other) = (member_values(k), member_values((k + 1) % MEMBERS));
    // An interior target, so every step does work.
    let target: Vec<Vec<f32>> = m
        .iter()
        .zip(&other)
        .map(|(a, b)| a.iter().zip(b).map(|(x, y)| 0.5 * x + 0.5 * y).collect())
        .collect();
    let t = target.clone();
    s.set_objective(move |p, g| Ok::<_, String>(quadratic(&t, p, g)))
        .unwrap();
    (s, target)
}

#[test]
fn progress_sees_every_step_and_log_gets_a_line_per_step() {
    let (mut s, _) = solver_towards_member("hooks-progress", 0);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    s.set_progress(move |info| sink.lock().unwrap().push(info.clone()))
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    s.set_log(move |level, text| sink.lock().unwrap().push((level, text.to_string())))
        .unwrap();
    s.run().unwrap();
    assert_eq!(*seen.lock().unwrap(), s.history().unwrap());
    // Copied out: the log hook locks the mutex again in the steps below.
    let lines = lines.lock().unwrap().clone();
    for t in 0..5 {
        let prefix = format!("step {t}: loss");
        assert!(
            lines
                .iter()
                .any(|(l, m)| *l == LogLevel::Info && m.starts_with(&prefix)),
            "no log line for step {t}: {lines:?}"
        );
    }

    // A panicking progress hook cannot hurt the step.
    s.set_progress(|_| panic!("progress hook panics")).unwrap();
    s.set_params(&Params {
        max_iters: 6,
        epsilon: 0.0,
        ..Params::default()
    })
    .unwrap();
    assert_eq!(s.step().unwrap().iteration, 5);
    s.clear_progress().unwrap();
    s.clear_log().unwrap();
}

#[test]
fn abort_hook_stops_the_step_and_leaves_the_solver_unchanged() {
    let (mut s, target) = solver_towards_member("hooks-abort", 2);
    s.step().unwrap();
    let before = snapshot(&s);

    // Abort at the third poll: inside the step, after some work.
    let polls = Arc::new(Mutex::new(0usize));
    let counter = polls.clone();
    s.set_abort(move || {
        let mut n = counter.lock().unwrap();
        *n += 1;
        *n == 3
    })
    .unwrap();
    let e = s.step().unwrap_err();
    assert_eq!(e.status(), Status::Aborted, "{e}");
    assert!(*polls.lock().unwrap() >= 3);
    assert!(same_bits(&before, &snapshot(&s)));
    assert_eq!(s.history_len(), 1);

    // A panicking abort hook aborts too.
    s.set_abort(|| panic!("abort hook panics")).unwrap();
    assert_eq!(s.step().unwrap_err().status(), Status::Aborted);
    assert!(same_bits(&before, &snapshot(&s)));

    // Ask/tell steps do not consult the hook (the host cancels them itself): this one completes.
    s.set_abort(|| true).unwrap();
    let mut step = s.step_begin().unwrap();
    while let Some(mut req) = step.ask().unwrap() {
        let (p, g) = req.views();
        let loss = quadratic(&target, p, g);
        req.tell(loss).unwrap();
    }
    assert_eq!(step.finish().unwrap().iteration, 1);
    assert!(s.step().is_err(), "callback steps still consult it");

    s.clear_abort().unwrap();
    assert_eq!(s.step().unwrap().iteration, 2);
}
