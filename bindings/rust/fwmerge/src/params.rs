//! Solver and export parameters as plain Rust values, converted to the C structs on each call.
use crate::error::Result;
use crate::path::{c_string, TensorFilters};
use fwmerge_sys as sys;
use std::ffi::CString;

/// A Rust enum mirroring a C enum; unknown raw values are an error, never undefined behaviour.
/// (Used by the other modules too: `params` is declared first with `#[macro_use]`.)
macro_rules! c_enum {
    ($(#[$doc:meta])* $name:ident : $raw:ty { $($(#[$vdoc:meta])* $variant:ident = $c:path),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            pub fn raw(self) -> $raw {
                match self { $($name::$variant => $c),+ }
            }

            pub fn from_raw(value: $raw) -> $crate::Result<$name> {
                match value {
                    $(v if v == $c => Ok($name::$variant),)+
                    other => Err($crate::Error::invalid(format!(
                        concat!("unknown ", stringify!($name), " value {}"), other))),
                }
            }
        }
    };
}

c_enum!(
    /// Linear minimization oracle.
    Lmo: sys::fw_lmo {
        /// argmin vertex (Algorithm 1).
        Hard = sys::FW_LMO_HARD,
        /// top-k vertices with simplex-optimized coefficients (Section 3.3).
        Soft = sys::FW_LMO_SOFT,
    }
);
c_enum!(
    /// One score per checkpoint, or per (checkpoint, block).
    Granularity: sys::fw_granularity {
        TaskWise = sys::FW_GRANULARITY_TASKWISE,
        LayerWise = sys::FW_GRANULARITY_LAYERWISE,
    }
);
c_enum!(
    /// How a vertex is scored against the gradient.
    Score: sys::fw_score {
        /// `<grad, theta_i>` (paper, eq. 7).
        Inner = sys::FW_SCORE_INNER,
        /// per-tensor cosine, summed task-wise.
        Cosine = sys::FW_SCORE_COSINE,
    }
);
c_enum!(
    /// Step size of the hard LMO.
    StepRule: sys::fw_step_rule {
        LineSearch = sys::FW_STEP_RULE_LINE_SEARCH,
        Schedule = sys::FW_STEP_RULE_SCHEDULE,
        Constant = sys::FW_STEP_RULE_CONSTANT,
    }
);
c_enum!(
    /// Inner solver of the soft LMO.
    SoftSolver: sys::fw_soft_solver {
        Simplex = sys::FW_SOFT_SOLVER_SIMPLEX,
        Capped = sys::FW_SOFT_SOLVER_CAPPED,
        Adam = sys::FW_SOFT_SOLVER_ADAM,
        /// 0.3.3: each lambda in [0, 1], the sum unbounded; the step may leave the hull
        /// (`StepInfo::leaves_hull`).
        Box = sys::FW_SOFT_SOLVER_BOX,
    }
);
c_enum!(
    /// How the soft LMO picks its k vertices when the objective is a sum of terms
    /// (`fw_topk_rule`; terms come from [`crate::Solver::set_objective_terms`],
    /// [`crate::Solver::set_ask_tell_terms`] or a TorchScript objective's terms). With one term
    /// both rules are the same.
    TopkRule: sys::fw_topk_rule {
        /// The k best vertices for the whole objective's gradient.
        Summed = sys::FW_TOPK_RULE_SUMMED,
        /// Terms in turn, each term's own gradient picks its best vertex not yet picked, until
        /// k = max(top_k, n_terms) vertices (the default); a step then takes one gradient
        /// evaluation per term at theta_t instead of one.
        PerTerm = sys::FW_TOPK_RULE_PER_TERM,
    }
);
c_enum!(
    /// Element type (`fw_dtype`). The solver and the merges work on F32, F16 and BF16; the others
    /// are storage types that `fw_save_tensors` writes and `fw_load_tensors` reads as they are.
    Dtype: sys::fw_dtype {
        /// export: each tensor in its base dtype; save_tensors: each tensor's own dtype.
        Default = sys::FW_DTYPE_DEFAULT,
        F32 = sys::FW_DTYPE_F32,
        F16 = sys::FW_DTYPE_F16,
        BF16 = sys::FW_DTYPE_BF16,
        F64 = sys::FW_DTYPE_F64,
        I64 = sys::FW_DTYPE_I64,
        I32 = sys::FW_DTYPE_I32,
        I16 = sys::FW_DTYPE_I16,
        I8 = sys::FW_DTYPE_I8,
        U8 = sys::FW_DTYPE_U8,
        /// One byte per element, 0 or 1.
        Bool = sys::FW_DTYPE_BOOL,
        U16 = sys::FW_DTYPE_U16,
        U32 = sys::FW_DTYPE_U32,
        U64 = sys::FW_DTYPE_U64,
    }
);
c_enum!(
    /// Where the solver keeps its model-sized tensors (`fw_device_type`).
    Device: sys::fw_device_type {
        /// Host memory.
        Cpu = sys::FW_DEVICE_TYPE_CPU,
        /// CUDA device `device_index` (needs a LibTorch with CUDA).
        Cuda = sys::FW_DEVICE_TYPE_CUDA,
    }
);

/// Solver parameters (`fw_params`); see include/fwmerge.h for each field's meaning.
/// `Params::default()` is the library's `fw_default_params()`.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub lmo: Lmo,
    pub granularity: Granularity,
    pub block_depth: i32,
    pub score: Score,
    pub top_k: i32,
    pub step_rule: StepRule,
    pub step_scale: f64,
    pub line_search_evals: i32,
    pub soft_solver: SoftSolver,
    pub soft_iters: i32,
    pub soft_lr: f64,
    pub soft_memory_budget: u64,
    pub max_iters: i32,
    /// A budget of objective evaluations over the solver's life (0: none): a step is taken only
    /// when its evaluations fit (see fwmerge.h).
    pub max_evaluations: i64,
    /// How the soft LMO picks its vertices for a multi-term objective ([`TopkRule::PerTerm`] by
    /// default).
    pub topk_rule: TopkRule,
    pub epsilon: f64,
    pub threads: i32,
    pub seed: u64,
    /// Where and in which precision the solver keeps theta, the gradient and the candidates. This
    /// crate's views ([`crate::TensorView`]) are f32 in host memory: other settings need the
    /// TorchScript objective, or `host_views` on CUDA.
    pub device: Device,
    pub device_index: i32,
    pub work_dtype: Dtype,
    pub host_views: bool,
    /// Which tensors are merged: shell-style globs (fnmatch). A tensor is merged when it matches
    /// an include pattern (or `include_tensors` is empty) and no exclude pattern; the others are
    /// exported as the base has them. Empty: every tensor. Set before `set_base`.
    pub include_tensors: Vec<String>,
    pub exclude_tensors: Vec<String>,
    /// Follow symbolic links in model and adapter folders wherever they lead
    /// (`fw_params.allow_outside_links`). Off: a file that links out of the folder it was named
    /// through (a Hugging Face cache snapshot may link inside its cached repository) is
    /// [`crate::Status::InvalidArgument`].
    pub allow_outside_links: bool,
    /// Pool members (and start files) may lack floating-point tensors of the base, which they then
    /// read from the base: a zero task vector there (`fw_params.fill_missing_from_base`). Off:
    /// such a member is [`crate::Status::NameMismatch`].
    pub fill_missing_from_base: bool,
}

impl Params {
    pub(crate) fn from_raw(r: &sys::fw_params) -> Result<Params> {
        Ok(Params {
            lmo: Lmo::from_raw(r.lmo)?,
            granularity: Granularity::from_raw(r.granularity)?,
            block_depth: r.block_depth,
            score: Score::from_raw(r.score)?,
            top_k: r.top_k,
            step_rule: StepRule::from_raw(r.step_rule)?,
            step_scale: r.step_scale,
            line_search_evals: r.line_search_evals,
            soft_solver: SoftSolver::from_raw(r.soft_solver)?,
            soft_iters: r.soft_iters,
            soft_lr: r.soft_lr,
            soft_memory_budget: r.soft_memory_budget,
            max_iters: r.max_iters,
            max_evaluations: r.max_evaluations,
            topk_rule: TopkRule::from_raw(r.topk_rule)?,
            epsilon: r.epsilon,
            threads: r.threads,
            seed: r.seed,
            device: Device::from_raw(r.device)?,
            device_index: r.device_index,
            work_dtype: Dtype::from_raw(r.work_dtype)?,
            host_views: r.host_views != 0,
            // The defaults are "every tensor" (NULL); this is not read back from the library.
            include_tensors: Vec::new(),
            exclude_tensors: Vec::new(),
            allow_outside_links: r.allow_outside_links != 0,
            fill_missing_from_base: r.fill_missing_from_base != 0,
        })
    }

    /// Starts from the library's defaults so fields this crate does not know keep their defaults.
    /// The struct points into the returned filters, which must outlive the call.
    pub(crate) fn to_raw(&self) -> Result<(sys::fw_params, TensorFilters)> {
        let filters = TensorFilters::new(&self.include_tensors, &self.exclude_tensors)?;
        // SAFETY: plain value-returning call.
        let mut r = unsafe { sys::fw_default_params() };
        r.lmo = self.lmo.raw();
        r.granularity = self.granularity.raw();
        r.block_depth = self.block_depth;
        r.score = self.score.raw();
        r.top_k = self.top_k;
        r.step_rule = self.step_rule.raw();
        r.step_scale = self.step_scale;
        r.line_search_evals = self.line_search_evals;
        r.soft_solver = self.soft_solver.raw();
        r.soft_iters = self.soft_iters;
        r.soft_lr = self.soft_lr;
        r.soft_memory_budget = self.soft_memory_budget;
        r.max_iters = self.max_iters;
        r.max_evaluations = self.max_evaluations;
        r.topk_rule = self.topk_rule.raw();
        r.epsilon = self.epsilon;
        r.threads = self.threads;
        r.seed = self.seed;
        r.device = self.device.raw();
        r.device_index = self.device_index;
        r.work_dtype = self.work_dtype.raw();
        r.host_views = i32::from(self.host_views);
        r.allow_outside_links = i32::from(self.allow_outside_links);
        r.fill_missing_from_base = i32::from(self.fill_missing_from_base);
        r.include_tensors = filters.include.as_ptr();
        r.n_include_tensors = filters.include.len();
        r.exclude_tensors = filters.exclude.as_ptr();
        r.n_exclude_tensors = filters.exclude.len();
        Ok((r, filters))
    }
}

impl Default for Params {
    fn default() -> Params {
        // SAFETY: plain value-returning call.
        let raw = unsafe { sys::fw_default_params() };
        Params::from_raw(&raw).expect("fw_default_params returns known enum values")
    }
}

/// Export options (`fw_export_options`). `ExportOptions::default()` is the library's default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// `Dtype::Default`: each tensor in its base dtype.
    pub dtype: Dtype,
    /// 0: one .safetensors file; > 0: a folder of shards plus model.safetensors.index.json.
    pub max_shard_bytes: u64,
    /// Writes the path as a Hugging Face model folder (model.safetensors or shards, the base
    /// folder's config and tokenizer files, a README.md model card); the path must not exist or
    /// be an empty folder.
    pub hf_folder: bool,
    /// With `hf_folder`: the README.md text, written byte for byte (`None`: the card the library
    /// writes, with the recipe). Without `hf_folder` the library rejects it
    /// (`Status::InvalidArgument`); a NUL byte is `Status::InvalidArgument` too.
    pub model_card: Option<String>,
}

impl ExportOptions {
    /// The C struct; it points into the returned model card, which must outlive the call.
    pub(crate) fn to_raw(&self) -> Result<(sys::fw_export_options, Option<CString>)> {
        let card = self
            .model_card
            .as_deref()
            .map(|c| c_string(c, "model card"))
            .transpose()?;
        // SAFETY: plain value-returning call.
        let mut r = unsafe { sys::fw_default_export_options() };
        r.dtype = self.dtype.raw();
        r.max_shard_bytes = self.max_shard_bytes;
        r.hf_folder = i32::from(self.hf_folder);
        r.model_card = card.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
        Ok((r, card))
    }
}

impl Default for ExportOptions {
    fn default() -> ExportOptions {
        // SAFETY: plain value-returning call.
        let r = unsafe { sys::fw_default_export_options() };
        ExportOptions {
            dtype: Dtype::from_raw(r.dtype).expect("known default dtype"),
            max_shard_bytes: r.max_shard_bytes,
            hf_folder: r.hf_folder != 0,
            // NULL by default: the library's own card.
            model_card: None,
        }
    }
}
