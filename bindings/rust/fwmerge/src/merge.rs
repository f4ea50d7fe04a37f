//! Data-free merging (`fw_merge`) and the methods as FW step merge functions / start points.
use crate::error::{check, Error, Result, Status};
use crate::objective::panic_text;
use crate::params::{Dtype, ExportOptions};
use crate::path::{c_path, c_string, TensorFilters};
use fwmerge_sys as sys;
use std::ffi::CString;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

c_enum!(
    /// Data-free merge method (mergekit's names); see include/fwmerge.h for the exact rules.
    MergeMethod: sys::fw_merge_method {
        Linear = sys::FW_MERGE_METHOD_LINEAR,
        TaskArithmetic = sys::FW_MERGE_METHOD_TASK_ARITHMETIC,
        Ties = sys::FW_MERGE_METHOD_TIES,
        DareLinear = sys::FW_MERGE_METHOD_DARE_LINEAR,
        DareTies = sys::FW_MERGE_METHOD_DARE_TIES,
        Breadcrumbs = sys::FW_MERGE_METHOD_BREADCRUMBS,
        ModelStock = sys::FW_MERGE_METHOD_MODEL_STOCK,
        BreadcrumbsTies = sys::FW_MERGE_METHOD_BREADCRUMBS_TIES,
        /// 0.5.0 (mergekit's `slerp`): the base to the one member along the arc, `t`.
        Slerp = sys::FW_MERGE_METHOD_SLERP,
        /// 0.5.0 (`nuslerp`): slerp of the two members' task vectors by their weights.
        Nuslerp = sys::FW_MERGE_METHOD_NUSLERP,
        /// 0.5.0 (`multislerp`): barycentric interpolation of the task vectors on the sphere.
        Multislerp = sys::FW_MERGE_METHOD_MULTISLERP,
        /// 0.5.0 (`karcher`): the Karcher mean of the members on the sphere.
        Karcher = sys::FW_MERGE_METHOD_KARCHER,
        /// 0.5.0 (`nearswap`): per entry, the one member where it is near the base (`t`).
        Nearswap = sys::FW_MERGE_METHOD_NEARSWAP,
        /// 0.5.0 (`arcee_fusion`).
        ArceeFusion = sys::FW_MERGE_METHOD_ARCEE_FUSION,
        /// 0.5.0 (`passthrough`): the one member times `scale`.
        Passthrough = sys::FW_MERGE_METHOD_PASSTHROUGH,
        /// 0.5.0 (`della`).
        Della = sys::FW_MERGE_METHOD_DELLA,
        /// 0.5.0 (`della_linear`).
        DellaLinear = sys::FW_MERGE_METHOD_DELLA_LINEAR,
        /// 0.5.0 (`sce`).
        Sce = sys::FW_MERGE_METHOD_SCE,
        /// 0.5.0 (`ram`).
        Ram = sys::FW_MERGE_METHOD_RAM,
        /// 0.5.0 (`ramplus_tl`).
        RamplusTl = sys::FW_MERGE_METHOD_RAMPLUS_TL,
        /// Task Singular Vectors merge (`tsv_m`; not mergekit's): `scaling` is the paper's alpha.
        TsvM = sys::FW_MERGE_METHOD_TSV_M,
        /// Isotropic merge in the common subspace (`iso_c`): `scaling` is the paper's alpha.
        IsoC = sys::FW_MERGE_METHOD_ISO_C,
        /// Isotropic merge in the common and task-specific subspaces (`iso_cts`): `select_topk`
        /// is its common_space_fraction.
        IsoCts = sys::FW_MERGE_METHOD_ISO_CTS,
    }
);

c_enum!(
    /// The value a [`MergeOverride`] sets (`fw_merge_field`).
    MergeField: sys::fw_merge_field {
        /// The member's weight.
        Weight = sys::FW_MERGE_FIELD_WEIGHT,
        /// The member's density (DARE: keep probability), in (0, 1].
        Density = sys::FW_MERGE_FIELD_DENSITY,
        /// The member's breadcrumbs beta, in [0, 1).
        Beta = sys::FW_MERGE_FIELD_BETA,
        /// The method's scaling; `member` must be -1.
        Scaling = sys::FW_MERGE_FIELD_SCALING,
        /// 0.5.0: the member's epsilon (DELLA; RAM: `member` must be -1).
        Epsilon = sys::FW_MERGE_FIELD_EPSILON,
        /// 0.5.0: PASSTHROUGH's scale; `member` -1 or 0.
        Scale = sys::FW_MERGE_FIELD_SCALE,
        /// 0.5.0: SLERP's / NEARSWAP's t; `member` must be -1.
        T = sys::FW_MERGE_FIELD_T,
    }
);

/// One per-tensor value (`fw_merge_override`): for the tensors whose names match the glob
/// `tensors` (`None` or "*": every tensor), `field` of pool member `member` (-1: every member) is
/// `value` instead of what the [`MergeParams`] fields give. The first matching override wins.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeOverride {
    pub tensors: Option<String>,
    pub member: i64,
    pub field: MergeField,
    pub value: f64,
}

/// What the raw `fw_merge_params` points into besides `self`: keep it until the call returns.
pub(crate) struct MergeArrays {
    _filters: TensorFilters,
    _override_globs: Vec<Option<CString>>,
    _overrides: Vec<sys::fw_merge_override>,
}

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
    /// Which tensors are merged (globs, as [`crate::Params::include_tensors`]): the others are
    /// written as the base has them ([`merge`]) or kept at theta (merge functions). Empty: all.
    pub include_tensors: Vec<String>,
    pub exclude_tensors: Vec<String>,
    /// mergekit 0.1.5's arithmetic instead of fwmerge's ([`merge`] only; not for `ModelStock`),
    /// rounded in `compute_dtype` (F32, F16, BF16, or `Default`: each tensor's own dtype).
    pub mergekit_compat: bool,
    /// With `mergekit_compat`: also keep the equal magnitudes at TIES / breadcrumbs thresholds
    /// that mergekit keeps (`FW_MERGEKIT_COMPAT_EXACT_TIES`: bit-identical to mergekit, each split tensor
    /// sorted).
    pub mergekit_exact_ties: bool,
    pub compute_dtype: Dtype,
    /// Per-tensor values ([`merge`] and `set_start_merge`), checked by the library; empty: none.
    pub overrides: Vec<MergeOverride>,
    /// As [`crate::Params::allow_outside_links`], for [`merge`]'s base and pool folders.
    pub allow_outside_links: bool,
    /// As [`crate::Params::fill_missing_from_base`], for [`merge`]'s members.
    pub fill_missing_from_base: bool,
    // The parameters of the 0.5.0 methods (fw_merge_params v8, mergekit's names and defaults;
    // other methods ignore them). See include/fwmerge.h for each range.
    /// SLERP: the point on the arc, base 0 to member 1; NEARSWAP: the distance scale.
    pub t: f64,
    /// DELLA(_LINEAR): keep probabilities density +- epsilon; RAM(PLUS_TL): change threshold.
    pub epsilon: f64,
    /// Per-member epsilons (DELLA, DELLA_LINEAR), pool order; `None`: `epsilon` for every member.
    pub epsilons: Option<Vec<f64>>,
    /// MULTISLERP: added to the norms it divides by, > 0.
    pub eps: f64,
    /// KARCHER: convergence threshold, >= 0.
    pub tol: f64,
    /// SCE: fraction of the varying entries kept, in [0, 1].
    pub select_topk: f64,
    /// RAMPLUS_TL: r.
    pub ram_r: f64,
    /// RAMPLUS_TL: alpha, >= 0.
    pub ram_alpha: f64,
    /// PASSTHROUGH: the member's multiplier.
    pub scale: f64,
    /// KARCHER: iterations, >= 0.
    pub max_iter: i32,
    /// DELLA(_LINEAR): survivors divided by their keep probability.
    pub rescale: bool,
    /// NUSLERP: one angle per tensor.
    pub nuslerp_flatten: bool,
    /// NUSLERP, not flattened: per column (dim 0) instead of per row.
    pub nuslerp_row_wise: bool,
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
            include_tensors: Vec::new(),
            exclude_tensors: Vec::new(),
            mergekit_compat: r.mergekit_compat != 0,
            mergekit_exact_ties: r.mergekit_compat == sys::FW_MERGEKIT_COMPAT_EXACT_TIES as i32,
            compute_dtype: Dtype::from_raw(r.compute_dtype).expect("known default dtype"),
            overrides: Vec::new(),
            allow_outside_links: r.allow_outside_links != 0,
            fill_missing_from_base: r.fill_missing_from_base != 0,
            t: r.t,
            epsilon: r.epsilon,
            epsilons: None,
            eps: r.eps,
            tol: r.tol,
            select_topk: r.select_topk,
            ram_r: r.ram_r,
            ram_alpha: r.ram_alpha,
            scale: r.scale,
            max_iter: r.max_iter,
            rescale: r.rescale != 0,
            nuslerp_flatten: r.nuslerp_flatten != 0,
            nuslerp_row_wise: r.nuslerp_row_wise != 0,
        }
    }

    /// The C struct; its arrays point into `self` (valid while `self` is borrowed) and into the
    /// returned arrays (which must outlive the call).
    pub(crate) fn to_raw(&self) -> Result<(sys::fw_merge_params, MergeArrays)> {
        let filters = TensorFilters::new(&self.include_tensors, &self.exclude_tensors)?;
        let globs: Vec<Option<CString>> = self
            .overrides
            .iter()
            .map(|o| {
                o.tensors
                    .as_deref()
                    .map(|t| c_string(t, "override glob"))
                    .transpose()
            })
            .collect::<Result<_>>()?;
        let overrides: Vec<sys::fw_merge_override> = self
            .overrides
            .iter()
            .zip(&globs)
            .map(|(o, glob)| sys::fw_merge_override {
                tensors: glob.as_ref().map_or(std::ptr::null(), |g| g.as_ptr()),
                member: o.member,
                field: o.field.raw(),
                value: o.value,
            })
            .collect();
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
        r.include_tensors = filters.include.as_ptr();
        r.n_include_tensors = filters.include.len();
        r.exclude_tensors = filters.exclude.as_ptr();
        r.n_exclude_tensors = filters.exclude.len();
        r.mergekit_compat = match (self.mergekit_compat, self.mergekit_exact_ties) {
            (false, _) => sys::FW_MERGEKIT_COMPAT_OFF,
            (true, false) => sys::FW_MERGEKIT_COMPAT_ARITHMETIC,
            (true, true) => sys::FW_MERGEKIT_COMPAT_EXACT_TIES,
        } as i32; // the field keeps its 0.3 type, int32_t; the values are fw_mergekit_compat's
        r.compute_dtype = self.compute_dtype.raw();
        r.allow_outside_links = i32::from(self.allow_outside_links);
        r.fill_missing_from_base = i32::from(self.fill_missing_from_base);
        r.t = self.t;
        r.epsilon = self.epsilon;
        r.epsilons = self
            .epsilons
            .as_ref()
            .map_or(std::ptr::null(), |e| e.as_ptr());
        r.eps = self.eps;
        r.tol = self.tol;
        r.select_topk = self.select_topk;
        r.ram_r = self.ram_r;
        r.ram_alpha = self.ram_alpha;
        r.scale = self.scale;
        r.max_iter = self.max_iter;
        r.rescale = i32::from(self.rescale);
        r.nuslerp_flatten = i32::from(self.nuslerp_flatten);
        r.nuslerp_row_wise = i32::from(self.nuslerp_row_wise);
        r.overrides = if overrides.is_empty() {
            std::ptr::null()
        } else {
            overrides.as_ptr()
        };
        r.n_overrides = overrides.len();
        Ok((
            r,
            MergeArrays {
                _filters: filters,
                _override_globs: globs,
                _overrides: overrides,
            },
        ))
    }

    /// The per-member arrays must match the pool: the library reads `pool_size` of each.
    pub(crate) fn check_weights(&self, pool_size: usize) -> Result<()> {
        for (what, values) in [
            ("weights", &self.weights),
            ("densities", &self.densities),
            ("betas", &self.betas),
            ("epsilons", &self.epsilons),
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
    merge_raw(params, base.as_ref(), pool, out.as_ref(), options, None)
}

/// [`merge`] with an abort hook (`fw_merge_params.abort`), polled before each tensor during the
/// call: `true` stops the merge with `Status::Aborted` and writes nothing. The hook may read a
/// flag that another thread sets, e.g. `|| cancel.load(Ordering::Relaxed)` with
/// `cancel: &AtomicBool`. A panic in the hook does not cross into the library: it stops the merge
/// (nothing written) and is returned as `Status::Callback` with the panic's message, as a panic
/// in an objective is.
pub fn merge_with_abort<P: AsRef<Path>, F: FnMut() -> bool + Send>(
    params: &MergeParams,
    base: impl AsRef<Path>,
    pool: &[P],
    out: impl AsRef<Path>,
    options: &ExportOptions,
    abort: F,
) -> Result<()> {
    let mut hook = AbortHook { abort, panic: None };
    let result = merge_raw(
        params,
        base.as_ref(),
        pool,
        out.as_ref(),
        options,
        Some((
            merge_abort_trampoline::<F> as unsafe extern "C" fn(*mut c_void) -> c_int,
            &mut hook as *mut AbortHook<F> as *mut c_void,
        )),
    );
    match hook.panic {
        Some(text) => Err(Error::new(
            Status::Callback,
            format!("merge abort hook panicked: {text}"),
        )),
        None => result,
    }
}

/// The host's abort hook of one `fw_merge` call, and the text of a panic it raised.
struct AbortHook<F> {
    abort: F,
    panic: Option<String>,
}

/// `fw_abort_fn` for [`merge_with_abort`]: a panic is caught here (never unwinds into C) and
/// counts as "abort"; after one, the hook is not called again.
unsafe extern "C" fn merge_abort_trampoline<F: FnMut() -> bool>(ud: *mut c_void) -> c_int {
    // SAFETY: ud is the AbortHook<F> on merge_with_abort's stack, alive during fw_merge, which
    // polls it from one thread at a time.
    let hook = unsafe { &mut *(ud as *mut AbortHook<F>) };
    if hook.panic.is_some() {
        return 1;
    }
    match catch_unwind(AssertUnwindSafe(|| (hook.abort)())) {
        Ok(stop) => c_int::from(stop),
        Err(payload) => {
            hook.panic = Some(panic_text(payload.as_ref()));
            1
        }
    }
}

fn merge_raw<P: AsRef<Path>>(
    params: &MergeParams,
    base: &Path,
    pool: &[P],
    out: &Path,
    options: &ExportOptions,
    abort: Option<(unsafe extern "C" fn(*mut c_void) -> c_int, *mut c_void)>,
) -> Result<()> {
    crate::check_library_version()?;
    params.check_weights(pool.len())?;
    let base = c_path(base)?;
    let out = c_path(out)?;
    let paths: Vec<CString> = pool
        .iter()
        .map(|p| c_path(p.as_ref()))
        .collect::<Result<_>>()?;
    let ptrs: Vec<*const c_char> = paths.iter().map(|p| p.as_ptr()).collect();
    let (mut raw, _arrays) = params.to_raw()?;
    if let Some((trampoline, user_data)) = abort {
        raw.abort = Some(trampoline);
        raw.abort_user_data = user_data;
    }
    // _card: the model card's text the options point to.
    let (opts, _card) = options.to_raw()?;
    // SAFETY: all pointers outlive the call; n matches the array (and the weights, checked); the
    // abort hook's user data outlives the call (the caller's stack).
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
