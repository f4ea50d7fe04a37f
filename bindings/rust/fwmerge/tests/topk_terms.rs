//! Per-term top-k (`TopkRule`) through `set_objective_terms` and over ask/tell. Pool: base 0,
//! members e_0..e_3 in R^4 (tensor "w"); terms l_j = 1/2 ||x - c_j||^2 with c_0 = (3,0,2,0),
//! c_1 = (0,1,0,0), gradient x - c_j (ALL_TERMS: the sum of both). At x = 0 the gradients are
//! -c_j, so the scores <g_j, e_i> = -c_j[i]: term 0 picks e_0, then term 1 e_1 (PerTerm: [0, 1]);
//! the whole gradient -(3,1,2,0) ranks e_0, e_2 first (Summed: [0, 2]). l(0) = 13/2 + 1/2 = 7.
mod common;

use common::tmp_dir;
use fwmerge::{
    save_tensors, Dtype, GradView, Lmo, Params, Solver, Status, TensorView, TopkRule, ALL_TERMS,
};
use std::path::Path;
use std::sync::{Arc, Mutex};

const TARGETS: [[f64; 4]; 2] = [[3.0, 0.0, 2.0, 0.0], [0.0, 1.0, 0.0, 0.0]];

/// The two-term objective: loss of `term` (or of both) at params, gradient added into grads.
fn terms_loss(term: i32, params: &[TensorView], grads: &mut [GradView]) -> f64 {
    let mut total = 0.0;
    for (j, c) in TARGETS.iter().enumerate() {
        if term != ALL_TERMS && term as usize != j {
            continue;
        }
        for (i, &x) in params[0].data.iter().enumerate() {
            let d = f64::from(x) - c[i];
            total += 0.5 * d * d;
            if !grads.is_empty() {
                grads[0].data[i] += d as f32;
            }
        }
    }
    total
}

fn write(path: &Path, w: [f32; 4]) {
    let view = TensorView {
        name: "w",
        shape: &[4],
        data: &w,
    };
    save_tensors(path, &[view], Dtype::F32, &[]).unwrap();
}

fn unit4_solver(name: &str, rule: TopkRule) -> Solver {
    let dir = tmp_dir(name);
    write(&dir.join("base.safetensors"), [0.0; 4]);
    let params = Params {
        lmo: Lmo::Soft,
        top_k: 2,
        soft_iters: 3,
        epsilon: 0.0,
        topk_rule: rule,
        ..Params::default()
    };
    let mut s = Solver::new(&params).unwrap();
    s.set_base(dir.join("base.safetensors")).unwrap();
    for i in 0..4 {
        let mut e = [0.0f32; 4];
        e[i] = 1.0;
        let path = dir.join(format!("e{i}.safetensors"));
        write(&path, e);
        s.pool_add(&path).unwrap();
    }
    s
}

type Calls = Arc<Mutex<Vec<(i32, bool)>>>;

/// Installs the terms objective, recording (term, gradient wanted) per call.
fn install(s: &mut Solver) -> Calls {
    let calls: Calls = Arc::default();
    let seen = calls.clone();
    s.set_objective_terms(2, move |term, params, grads| {
        seen.lock().unwrap().push((term, !grads.is_empty()));
        Ok::<f64, String>(terms_loss(term, params, grads))
    })
    .unwrap();
    calls
}

#[test]
fn default_rule_is_per_term() {
    assert_eq!(Params::default().topk_rule, TopkRule::PerTerm);
    assert_eq!(ALL_TERMS, -1);
}

#[test]
fn each_term_brings_its_own_vertex() {
    let mut s = unit4_solver("topk-per-term", TopkRule::PerTerm);
    let calls = install(&mut s);
    let info = s.step().unwrap();
    assert_eq!(info.chosen, vec![0, 1]);
    assert_eq!(info.loss, 7.0);
    let calls = calls.lock().unwrap();
    assert!(calls.len() >= 3, "{calls:?}");
    assert_eq!(calls[..3], [(0, true), (1, true), (ALL_TERMS, true)]);
}

#[test]
fn summed_ranks_by_the_whole_gradient() {
    let mut s = unit4_solver("topk-summed", TopkRule::Summed);
    let calls = install(&mut s);
    let info = s.step().unwrap();
    assert_eq!(info.chosen, vec![0, 2]);
    assert_eq!(info.loss, 7.0);
    assert_eq!(calls.lock().unwrap()[0], (ALL_TERMS, true));
}

#[test]
fn ask_tell_requests_name_the_term() {
    let mut s = unit4_solver("topk-ask-tell", TopkRule::PerTerm);
    assert_eq!(
        s.set_ask_tell_terms(0).unwrap_err().status(),
        Status::InvalidArgument
    );
    s.set_ask_tell_terms(2).unwrap();
    let mut calls = Vec::new();
    let mut step = s.step_begin().unwrap();
    while let Some(mut req) = step.ask().unwrap() {
        let term = req.term();
        let (params, grads) = req.views();
        calls.push((term, !grads.is_empty()));
        let loss = terms_loss(term, params, grads);
        req.tell(loss).unwrap();
    }
    let info = step.finish().unwrap();
    assert!(calls.len() >= 3, "{calls:?}");
    assert_eq!(calls[..3], [(0, true), (1, true), (ALL_TERMS, true)]);
    assert_eq!(info.chosen, vec![0, 1]);
}

#[test]
fn a_failing_term_fails_the_step() {
    for panics in [false, true] {
        let mut s = unit4_solver("topk-fail", TopkRule::PerTerm);
        s.set_objective_terms(2, move |term, params, grads| {
            if term == 1 {
                if panics {
                    panic!("term exploded");
                }
                return Err("term exploded".to_string());
            }
            Ok(terms_loss(term, params, grads))
        })
        .unwrap();
        let err = s.step().unwrap_err();
        assert_eq!(err.status(), Status::Callback, "panics {panics}");
        assert!(err.to_string().contains("term exploded"), "{err}");
        assert_eq!(s.history_len(), 0);
    }
}
