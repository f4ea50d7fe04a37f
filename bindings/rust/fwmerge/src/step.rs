//! Per-step report, copied out of the library's `fw_step_info` (whose arrays die at the next step).
use fwmerge_sys as sys;

/// What one Frank-Wolfe step did (`fw_step_info`).
#[derive(Debug, Clone, PartialEq)]
pub struct StepInfo {
    /// t, 0-based.
    pub iteration: i32,
    /// l(theta_t) at the start of the step.
    pub loss: f64,
    /// l(theta_{t+1}) when the step evaluated it.
    pub loss_after: Option<f64>,
    /// FW gap `<-grad, s_t - theta_t>`.
    pub gap: f64,
    /// hard: step size; soft: mean over blocks of sum_j lambda_j.
    pub gamma: f64,
    /// gap <= epsilon: theta unchanged, nothing more to do.
    pub converged: bool,
    /// objective evaluations spent in this step.
    pub evaluations: i32,
    /// 1 task-wise; number of blocks layer-wise.
    pub n_blocks: i32,
    /// vertices per block: 1 hard, top_k soft.
    pub k: i32,
    /// n_blocks * k vertex indices (pool index, -1 = start vertex), block-major.
    pub chosen: Vec<i32>,
    /// n_blocks * k coefficients.
    pub lambdas: Vec<f64>,
    /// the merge function may leave the convex hull.
    pub leaves_hull: bool,
}

impl StepInfo {
    /// A zeroed `fw_step_info` with struct_size set, for the library to fill.
    pub(crate) fn raw_empty() -> sys::fw_step_info {
        // SAFETY: fw_step_info is integers, floats and pointers; all-zero is a valid value.
        let mut raw: sys::fw_step_info = unsafe { std::mem::zeroed() };
        raw.struct_size = std::mem::size_of::<sys::fw_step_info>() as u32;
        raw
    }

    /// Copies a filled `fw_step_info` (its arrays must be valid, as right after the call).
    pub(crate) fn from_raw(r: &sys::fw_step_info) -> StepInfo {
        let len = (r.n_blocks.max(0) as usize) * (r.k.max(0) as usize);
        // SAFETY: the library documents n_blocks * k entries in each array, valid until the next
        // step; they are copied before this returns.
        let chosen = if r.chosen.is_null() || len == 0 {
            Vec::new()
        } else {
            unsafe { std::slice::from_raw_parts(r.chosen, len) }.to_vec()
        };
        let lambdas = if r.lambdas.is_null() || len == 0 {
            Vec::new()
        } else {
            unsafe { std::slice::from_raw_parts(r.lambdas, len) }.to_vec()
        };
        StepInfo {
            iteration: r.iteration,
            loss: r.loss,
            loss_after: if r.loss_after.is_nan() {
                None
            } else {
                Some(r.loss_after)
            },
            gap: r.gap,
            gamma: r.gamma,
            converged: r.converged != 0,
            evaluations: r.evaluations,
            n_blocks: r.n_blocks,
            k: r.k,
            chosen,
            lambdas,
            leaves_hull: r.leaves_hull != 0,
        }
    }
}
