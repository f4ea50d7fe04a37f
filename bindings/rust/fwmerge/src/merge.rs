//! Data-free merging (`fw_merge`) and the methods as FW step merge functions / start points.
use crate::error::{check, Error, Result};
use crate::params::ExportOptions;
use crate::path::c_path;
use fwmerge_sys as sys;
use std::ffi::CString;
use std::os::raw::c_char;
use std::path::Path;

c_enum!(
    /// Data-free merge method (mergekit's names); see include/fwmerge.h for the exact rules.
    MergeMethod: sys::fw_merge_method {
        Linear = sys::FW_MERGE_LINEAR,
        TaskArithmetic = sys::FW_MERGE_TASK_ARITHMETIC,
        Ties = sys::FW_MERGE_TIES,
        DareLinear = sys::FW_MERGE_DARE_LINEAR,
        DareTies = sys::FW_MERGE_DARE_TIES,
        Breadcrumbs = sys::FW_MERGE_BREADCRUMBS,
        ModelStock = sys::FW_MERGE_MODEL_STOCK,
        BreadcrumbsTies = sys::FW_MERGE_BREADCRUMBS_TIES,
    }
);

/// Parameters of a data-free merge (`fw_merge_params`). `MergeParams::new(method)` gives the
/// library's defaults for that method.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeParams {
    pub method: MergeMethod,
    pub scaling: f64,
    pub density: f64,
    pub drop_rate: f64,
    pub beta: f64,
    /// One weight per pool member (pool order); `None`: all 1.
    pub weights: Option<Vec<f64>>,
    pub normalize: bool,
    /// Per-member densities (TIES, breadcrumbs; DARE: keep probabilities), pool order; `None`:
    /// `density` (or `drop_rate`) for every member. mergekit's per-model `density`.
    pub densities: Option<Vec<f64>>,
    /// Per-member breadcrumbs betas; `None`: `beta`. mergekit's per-model `gamma`.
    pub betas: Option<Vec<f64>>,
    pub seed: u64,
    /// Intra-op threads during the call; 0 = leave the current setting.
    pub threads: i32,
}

impl MergeParams {
    pub fn new(method: MergeMethod) -> MergeParams {
        // SAFETY: plain value-returning call.
        let r = unsafe { sys::fw_default_merge_params(method.raw()) };
        MergeParams {
            method,
            scaling: r.scaling,
            density: r.density,
            drop_rate: r.drop_rate,
            beta: r.beta,
            weights: None,
            normalize: r.normalize != 0,
            densities: None,
            betas: None,
            seed: r.seed,
            threads: r.threads,
        }
    }

    /// The C struct; its `weights` points into `self` and is valid while `self` is borrowed.
    pub(crate) fn to_raw(&self) -> sys::fw_merge_params {
        // SAFETY: plain value-returning call; starting from it keeps unknown fields at defaults.
        let mut r = unsafe { sys::fw_default_merge_params(self.method.raw()) };
        r.scaling = self.scaling;
        r.density = self.density;
        r.drop_rate = self.drop_rate;
        r.beta = self.beta;
        r.weights = self
            .weights
            .as_ref()
            .map_or(std::ptr::null(), |w| w.as_ptr());
        r.normalize = i32::from(self.normalize);
        r.densities = self
            .densities
            .as_ref()
            .map_or(std::ptr::null(), |d| d.as_ptr());
        r.betas = self.betas.as_ref().map_or(std::ptr::null(), |b| b.as_ptr());
        r.seed = self.seed;
        r.threads = self.threads;
        r
    }

    /// The per-member arrays must match the pool: the library reads `pool_size` of each.
    pub(crate) fn check_weights(&self, pool_size: usize) -> Result<()> {
        for (what, values) in [
            ("weights", &self.weights),
            ("densities", &self.densities),
            ("betas", &self.betas),
        ] {
            match values {
                Some(v) if v.len() != pool_size => {
                    return Err(Error::invalid(format!(
                        "{} {what} for a pool of {pool_size}",
                        v.len()
                    )))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Merges `pool` against `base` with a data-free method and writes the result to `out` (as
/// [`crate::Solver::export`] does: atomically, one file or shards, recipe in the metadata).
pub fn merge<P: AsRef<Path>>(
    params: &MergeParams,
    base: impl AsRef<Path>,
    pool: &[P],
    out: impl AsRef<Path>,
    options: &ExportOptions,
) -> Result<()> {
    params.check_weights(pool.len())?;
    let base = c_path(base.as_ref())?;
    let out = c_path(out.as_ref())?;
    let paths: Vec<CString> = pool
        .iter()
        .map(|p| c_path(p.as_ref()))
        .collect::<Result<_>>()?;
    let ptrs: Vec<*const c_char> = paths.iter().map(|p| p.as_ptr()).collect();
    let raw = params.to_raw();
    let opts = options.to_raw();
    // SAFETY: all pointers outlive the call; n matches the array (and the weights, checked).
    check(unsafe {
        sys::fw_merge(
            &raw,
            base.as_ptr(),
            ptrs.as_ptr(),
            ptrs.len(),
            out.as_ptr(),
            &opts,
        )
    })
}
