//! The ask/tell loop computes exactly what the callback does.
mod common;
use common::*;
use fwmerge::{Params, Solver, Status, StepInfo};

fn same_info(a: &StepInfo, b: &StepInfo) {
    assert_eq!(a.iteration, b.iteration);
    assert_eq!(a.loss.to_bits(), b.loss.to_bits());
    assert_eq!(
        a.loss_after.map(f64::to_bits),
        b.loss_after.map(f64::to_bits)
    );
    assert_eq!(a.gap.to_bits(), b.gap.to_bits());
    assert_eq!(a.gamma.to_bits(), b.gamma.to_bits());
    assert_eq!(
        (a.converged, a.evaluations, a.n_blocks, a.k),
        (b.converged, b.evaluations, b.n_blocks, b.k)
    );
    assert_eq!(a.chosen, b.chosen);
    assert_eq!(
        a.lambdas.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        b.lambdas.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
}

fn interior_target() -> Vec<Vec<f32>> {
    let (m1, m3) = (member_values(1), member_values(3));
    m1.iter()
        .zip(&m3)
        .map(|(a, b)| a.iter().zip(b).map(|(x, y)| 0.3 * x + 0.7 * y).collect())
        .collect()
}

/// One step through ask/tell, evaluating `quadratic`; returns the info and the evaluation count.
fn ask_tell_step(s: &mut Solver, target: &[Vec<f32>]) -> (StepInfo, i32) {
    let mut step = s.step_begin().unwrap();
    let mut evaluations = 0;
    while let Some(mut req) = step.ask().unwrap() {
        evaluations += 1;
        let (p, g) = req.views();
        let loss = quadratic(target, p, g);
        req.tell(loss).unwrap();
    }
    (step.finish().unwrap(), evaluations)
}

fn run_both(params: &Params, name: &str, steps: usize) {
    let dir = tmp_dir(name);
    write_pool(&dir);
    let target = interior_target();
    let mut cb = pool_solver(&dir, params);
    let t = target.clone();
    cb.set_objective(move |p, g| Ok::<_, String>(quadratic(&t, p, g)))
        .unwrap();
    let mut at = pool_solver(&dir, params);
    for _ in 0..steps {
        let a = cb.step().unwrap();
        let (b, evaluations) = ask_tell_step(&mut at, &target);
        same_info(&a, &b);
        assert_eq!(b.evaluations, evaluations);
        assert!(same_bits(&snapshot(&cb), &snapshot(&at)));
    }
    assert_eq!(at.history_len(), steps);
}

#[test]
fn ask_tell_equals_callback_hard_line_search() {
    run_both(
        &Params {
            epsilon: 0.0,
            ..Params::default()
        },
        "at-hard",
        5,
    );
}

#[test]
fn ask_tell_equals_callback_soft_layerwise() {
    let params = Params {
        lmo: fwmerge::Lmo::Soft,
        granularity: fwmerge::Granularity::LayerWise,
        top_k: 2,
        soft_iters: 5,
        epsilon: 0.0,
        ..Params::default()
    };
    run_both(&params, "at-soft", 3);
}

#[test]
fn cancel_and_drop_leave_the_solver_unchanged() {
    let dir = tmp_dir("at-cancel");
    write_pool(&dir);
    let target = interior_target();
    let mut s = pool_solver(&dir, &Params::default());
    ask_tell_step(&mut s, &target);
    let before = snapshot(&s);

    // Explicit cancel after one answered request.
    let mut step = s.step_begin().unwrap();
    let mut req = step.ask().unwrap().expect("a request");
    assert!(req.need_gradient());
    let (p, g) = req.views();
    let loss = quadratic(&target, p, g);
    req.tell(loss).unwrap();
    step.cancel().unwrap();
    assert!(same_bits(&before, &snapshot(&s)));
    assert_eq!(s.history_len(), 1);

    // Dropping a step in progress (one evaluation answered) cancels it too.
    {
        let mut step = s.step_begin().unwrap();
        let mut req = step.ask().unwrap().expect("a request");
        let (p, g) = req.views();
        let loss = quadratic(&target, p, g);
        req.tell(loss).unwrap();
        assert!(step.ask().unwrap().is_some(), "the line search wants more");
    }
    assert!(same_bits(&before, &snapshot(&s)));

    // A failed evaluation ends the step with the host's message.
    let mut step = s.step_begin().unwrap();
    // tell reports the step's end right away; finish reports it again.
    let req = step.ask().unwrap().expect("a request");
    let e = req.fail("evaluator is down").unwrap_err();
    assert_eq!(e.status(), Status::Callback);
    assert!(step.ask().unwrap().is_none(), "the step ended");
    let e = step.finish().unwrap_err();
    assert_eq!(e.status(), Status::Callback);
    assert!(e.message().contains("evaluator is down"), "{e}");
    assert!(same_bits(&before, &snapshot(&s)));

    // A request dropped unanswered fails the step as well.
    let mut step = s.step_begin().unwrap();
    drop(step.ask().unwrap());
    while step.ask().unwrap().is_some() {}
    let e = step.finish().unwrap_err();
    assert_eq!(e.status(), Status::Callback);
    assert!(e.message().contains("without an answer"), "{e}");
    assert!(same_bits(&before, &snapshot(&s)));

    // And the solver still steps normally.
    let (info, _) = ask_tell_step(&mut s, &target);
    assert_eq!(info.iteration, 1);
}
