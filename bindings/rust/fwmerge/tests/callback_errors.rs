//! A panic or an Err in the objective fails the step with FW_ERR_CALLBACK and the host's text,
//! leaves the solver exactly as it was, and the solver keeps working.
mod common;
use common::*;
use fwmerge::{Params, Status};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Objective that behaves like `quadratic` towards member 3 except on evaluation `fail_at`.
fn failing_solver(name: &str, fail_at: usize, panic: bool) -> (fwmerge::Solver, Arc<AtomicUsize>) {
    let dir = tmp_dir(name);
    write_pool(&dir);
    let mut s = pool_solver(
        &dir,
        &Params {
            max_iters: 10,
            epsilon: 0.0,
            ..Params::default()
        },
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let target = member_values(3);
    s.set_objective(move |p, g| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        if n == fail_at {
            if panic {
                panic!("host blew up at evaluation {n}");
            }
            return Err(format!("host refused evaluation {n}"));
        }
        Ok(quadratic(&target, p, g))
    })
    .unwrap();
    (s, calls)
}

fn check_failure_leaves_solver_unchanged(panic: bool) {
    // One clean step first, so the state to preserve is not the start point.
    let (mut s, calls) =
        failing_solver(if panic { "cb-panic" } else { "cb-err" }, usize::MAX, panic);
    s.step().unwrap();
    let spent = calls.load(Ordering::SeqCst);
    let before = snapshot(&s);
    let history = s.history().unwrap();

    // Re-arm: fail on the first evaluation of the next step.
    let (mut s2, calls2) =
        failing_solver(if panic { "cb-panic2" } else { "cb-err2" }, spent, panic);
    s2.step().unwrap();
    assert_eq!(calls2.load(Ordering::SeqCst), spent);
    assert!(same_bits(&before, &snapshot(&s2)));
    let e = s2.step().unwrap_err();
    assert_eq!(e.status(), Status::Callback, "{e}");
    let want = if panic {
        format!("objective panicked: host blew up at evaluation {spent}")
    } else {
        format!("host refused evaluation {spent}")
    };
    assert!(
        e.message().contains(&want),
        "message {:?} lacks {want:?}",
        e.message()
    );
    assert!(e.to_string().starts_with("FW_ERR_CALLBACK: "));
    assert!(
        same_bits(&before, &snapshot(&s2)),
        "a failed step changed the point"
    );
    assert_eq!(
        s2.history().unwrap(),
        history,
        "a failed step changed the history"
    );

    // Still usable: the next step (no failure armed any more) matches the clean solver's.
    let again = s2.step().unwrap();
    let clean = s.step().unwrap();
    assert_eq!(again.chosen, clean.chosen);
    assert_eq!(again.gamma.to_bits(), clean.gamma.to_bits());
    assert!(same_bits(&snapshot(&s), &snapshot(&s2)));
}

#[test]
fn err_in_callback_becomes_callback_error() {
    check_failure_leaves_solver_unchanged(false);
}

#[test]
fn panic_in_callback_becomes_callback_error() {
    check_failure_leaves_solver_unchanged(true);
}

#[test]
fn failure_inside_the_line_search_is_also_clean() {
    // Evaluation 0 is the gradient at theta_0; evaluation 1 is the line search's phi(1).
    let (mut s, _) = failing_solver("cb-linesearch", 1, true);
    let before = snapshot(&s);
    let e = s.step().unwrap_err();
    assert_eq!(e.status(), Status::Callback);
    assert!(e.message().contains("evaluation 1"), "{e}");
    assert!(same_bits(&before, &snapshot(&s)));
    assert_eq!(s.history_len(), 0);
}

#[test]
fn non_finite_loss_is_rejected() {
    let dir = tmp_dir("cb-nan");
    write_pool(&dir);
    let mut s = pool_solver(&dir, &Params::default());
    s.set_objective(|_p, _g| Ok::<f64, String>(f64::NAN))
        .unwrap();
    let before = snapshot(&s);
    let e = s.step().unwrap_err();
    assert_eq!(e.status(), Status::NonFinite, "{e}");
    assert!(same_bits(&before, &snapshot(&s)));
}

#[test]
fn replacing_the_objective_drops_the_old_closure() {
    let dir = tmp_dir("cb-replace");
    write_pool(&dir);
    let mut s = pool_solver(&dir, &Params::default());
    let token = Arc::new(());
    let held = token.clone();
    s.set_objective(move |_p, _g| {
        let _ = &held;
        Ok::<f64, String>(0.0)
    })
    .unwrap();
    assert_eq!(Arc::strong_count(&token), 2);
    let target = member_values(0);
    s.set_objective(move |p, g| Ok::<_, String>(quadratic(&target, p, g)))
        .unwrap();
    assert_eq!(Arc::strong_count(&token), 1);
    assert_eq!(s.step().unwrap().chosen, vec![0]);
    let held = token.clone();
    s.set_objective(move |_p, _g| {
        let _ = &held;
        Ok::<f64, String>(0.0)
    })
    .unwrap();
    drop(s);
    assert_eq!(
        Arc::strong_count(&token),
        1,
        "drop(Solver) frees the closure"
    );
}
