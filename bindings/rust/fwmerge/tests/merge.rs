//! Callback merges with closed-form answers.
mod common;
use common::*;
use fwmerge::{Params, Solver, Status};

fn sq_norm_tau(k: usize) -> f64 {
    // tau_k is (k + 1) / 2 on the flat indices g % 4 == k of the 14 elements.
    let count = (0..14).filter(|g| g % MEMBERS == k).count() as f64;
    count * ((k as f64 + 1.0) * 0.5).powi(2)
}

#[test]
fn target_equal_to_a_member_is_reached_in_one_exact_step() {
    let dir = tmp_dir("merge-member");
    write_pool(&dir);
    let mut s = pool_solver(
        &dir,
        &Params {
            max_iters: 10,
            ..Params::default()
        },
    );
    assert_eq!(s.pool_size(), MEMBERS);
    let target = member_values(2);
    let t = target.clone();
    s.set_objective(move |p, g| Ok::<_, String>(quadratic(&t, p, g)))
        .unwrap();

    // At theta_0 = base the gradient is -tau_2; the scores <grad, theta_i> differ only by
    // -<tau_2, tau_i>, so member 2 is the argmin, the gap is ||tau_2||^2 and the loss
    // 0.5 ||tau_2||^2; the quadratic line search then gives gamma = 1 exactly.
    let info = s.step().unwrap();
    let norm2 = sq_norm_tau(2);
    assert_eq!(norm2, 3.0 * 1.5 * 1.5);
    assert_eq!(info.iteration, 0);
    assert_eq!(info.chosen, vec![2]);
    assert_eq!((info.n_blocks, info.k), (1, 1));
    assert!((info.loss - 0.5 * norm2).abs() < 1e-5, "loss {}", info.loss);
    assert!((info.gap - norm2).abs() < 1e-5, "gap {}", info.gap);
    assert_eq!(info.gamma, 1.0);
    assert!(info.loss_after.unwrap().abs() < 1e-10);
    assert!(!info.converged);
    assert!(!info.leaves_hull);
    let current = s.current().unwrap();
    assert_eq!(current.len(), LAYOUT.len());
    for view in &current {
        let want = &target[layout_index(view.name)];
        assert_eq!(view.data.len(), want.len());
        for (a, b) in view.data.iter().zip(want) {
            assert!((a - b).abs() <= 1e-6, "{} {a} vs {b}", view.name);
        }
    }

    // At the optimum the gap is ~0: run stops with converged and the point unchanged.
    let before = snapshot(&s);
    let last = s.run().unwrap().expect("run took a step");
    assert!(last.converged);
    assert!(last.gap.abs() <= 1e-6);
    assert!(same_bits(&before, &snapshot(&s)));
    assert_eq!(s.history_len(), 2);
    assert_eq!(s.history().unwrap()[0], info);
    assert_eq!(s.block_name(0).unwrap(), "", "task-wise: one unnamed block");
    assert_eq!(
        s.block_name(1).unwrap_err().status(),
        Status::InvalidArgument
    );
}

#[test]
fn layer_wise_blocks_are_the_tensors() {
    let dir = tmp_dir("merge-layerwise");
    write_pool(&dir);
    let params = Params {
        granularity: fwmerge::Granularity::LayerWise,
        ..Params::default()
    };
    let mut s = pool_solver(&dir, &params);
    let target = member_values(1);
    s.set_objective(move |p, g| Ok::<_, String>(quadratic(&target, p, g)))
        .unwrap();
    let info = s.step().unwrap();
    assert_eq!(info.n_blocks as usize, LAYOUT.len());
    assert_eq!(info.chosen.len(), LAYOUT.len());
    let names: Vec<String> = (0..info.n_blocks)
        .map(|b| s.block_name(b).unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    let mut want: Vec<String> = LAYOUT.iter().map(|(n, _)| n.to_string()).collect();
    want.sort();
    assert_eq!(sorted, want);
    // tau_1 lives on flat indices 1, 5, 9, 13: in every tensor but layer.0.bias (6..8), whose
    // gradient is 0 (a tie, any vertex). Elsewhere member 1 is the block's argmin.
    for (name, &c) in names.iter().zip(&info.chosen) {
        if name != "layer.0.bias" {
            assert_eq!(c, 1, "block {name}: {:?}", info.chosen);
        }
    }
}

#[test]
fn run_decreases_the_loss_towards_an_interior_target() {
    // Target = the mean of members 0 and 1: inside the hull, so FW approaches it.
    let dir = tmp_dir("merge-interior");
    write_pool(&dir);
    let mut s = pool_solver(
        &dir,
        &Params {
            max_iters: 8,
            epsilon: 0.0,
            ..Params::default()
        },
    );
    let (m0, m1) = (member_values(0), member_values(1));
    let target: Vec<Vec<f32>> = m0
        .iter()
        .zip(&m1)
        .map(|(a, b)| a.iter().zip(b).map(|(x, y)| 0.5 * x + 0.5 * y).collect())
        .collect();
    // Loss at the base: 0.5 * 0.25 * (||tau_0||^2 + ||tau_1||^2).
    let start_loss = 0.125 * (sq_norm_tau(0) + sq_norm_tau(1));
    s.set_objective(move |p, g| Ok::<_, String>(quadratic(&target, p, g)))
        .unwrap();
    s.run().unwrap();
    let history = s.history().unwrap();
    assert_eq!(history.len(), 8);
    assert!((history[0].loss - start_loss).abs() < 1e-5);
    for w in history.windows(2) {
        assert!(
            w[1].loss <= w[0].loss,
            "loss rose: {} -> {}",
            w[0].loss,
            w[1].loss
        );
        assert!(w[1].iteration == w[0].iteration + 1);
    }
    for h in &history {
        assert!(
            h.chosen.iter().all(|&c| c == 0 || c == 1 || c == -1),
            "{:?}",
            h.chosen
        );
    }
    assert!(history.last().unwrap().loss < 0.1 * start_loss);
}

#[test]
fn errors_carry_status_and_message() {
    let dir = tmp_dir("merge-errors");
    write_pool(&dir);
    let mut s = Solver::new(&Params::default()).unwrap();
    let e = s.set_base(dir.join("missing.safetensors")).unwrap_err();
    assert_eq!(e.status(), Status::Io);
    assert!(!e.message().is_empty());
    assert!(e.to_string().starts_with("FW_ERR_IO: "), "{e}");

    let e = s.set_base("bad\0path").unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);

    let mut s = pool_solver(&dir, &Params::default());
    let e = s.step().unwrap_err();
    assert_eq!(e.status(), Status::State, "{e}");

    let e = Solver::new(&Params {
        top_k: 0,
        ..Params::default()
    })
    .err()
    .unwrap();
    assert_eq!(e.status(), Status::InvalidArgument, "{e}");
}

#[test]
fn version_matches_the_header() {
    assert_eq!(fwmerge::version(), "0.5.0");
    // "1.13.0" (Debian's LibTorch) or "2.15.0+cu132" (a pip torch's): MAJOR.MINOR.PATCH first.
    let libtorch = fwmerge::libtorch_version();
    let numbers: Vec<&str> = libtorch.split('+').next().unwrap().split('.').collect();
    assert_eq!(numbers.len(), 3, "{libtorch}");
    assert!(numbers.iter().all(|n| n.parse::<u32>().is_ok()), "{libtorch}");
    let macro_version = std::str::from_utf8(fwmerge::sys::FW_VERSION_STRING).unwrap();
    assert_eq!(macro_version, "0.5.0\0");
}
