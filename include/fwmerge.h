/*
 * fwmerge: Frank-Wolfe merging of fine-tuned checkpoints (Chen et al., ICCV 2025).
 *
 * The whole public C API (C99). What changed in which release: CHANGELOG.md. Conventions:
 *  - Every fallible call returns fw_status (FW_OK == 0, errors < 0). The text of the last failure
 *    in the calling thread is fw_last_error(). No C++ exception crosses this boundary.
 *  - Handles are opaque and created/freed in pairs; freeing NULL is a no-op.
 *  - Names: functions on a solver (first argument fw_solver *) are fw_solver_*; other functions
 *    are fw_<noun>_* or fw_<verb> (fw_merge, fw_load_tensors). Enum constants are FW_ + their
 *    type's name without fw_, upper-cased, + the value (fw_step_rule: FW_STEP_RULE_LINE_SEARCH).
 *    The one exception is fw_status, whose FW_OK / FW_ERR_* follow the usual errno-like
 *    convention. The 0.3 names (fw_solver_step, FW_GRANULARITY_TASKWISE, ...) remain as deprecated
 * aliases of the same functions and values (see "Deprecated names" at the end): they warn when used
 * unless FW_DISABLE_DEPRECATE_WARNINGS is defined before this header is included.
 *  - Experimental declarations (tensor-sharded solving) are compiled only when FWMERGE_EXPERIMENTAL
 *    is defined before this header is included (as zstd's ZSTD_STATIC_LINKING_ONLY): they are not
 *    under the stability promise and may change in any minor release.
 *  - Versioned structs. Every struct the library reads from the caller (fw_params,
 *    fw_merge_params, fw_export_options, fw_torchscript_objective, fw_dist_params) or fills for it
 *    (fw_step_info, fw_request) starts with `uint32_t struct_size`, the sizeof the caller was
 *    compiled with. Fields are only ever appended; each appended group of fields is marked with
 *    its struct version and release ("v2 (0.3.0)"). Shipped versions: fw_params v1-v7,
 *    fw_merge_params v1-v8, fw_export_options v1-v3, fw_request v1-v2, fw_dist_params v1-v2,
 *    fw_step_info and fw_torchscript_objective v1 (v1 is the layout of 0.2.0).
 *    Input structs: start from fw_X_init(&x, sizeof x) (0.5.0), which fills the caller's version
 *    of fw_X with the defaults and sets struct_size (NULL or an unshipped size:
 *    FW_ERR_INVALID_ARGUMENT, nothing written), or from fw_default_X(), a header inline over it
 *    returning the struct by value. Up to 0.4 fw_default_X() was an exported function returning
 *    by value, which fixes the struct's size; the library still exports it, frozen at the 0.4
 *    layout, for programs built then (docs/abi.md).
 *    struct_size must be one of the shipped sizes;
 *    0, a size below v1, above the newest this library knows, or between two versions is
 *    FW_ERR_INVALID_ARGUMENT, whose message names the struct, the size given and the sizes
 *    accepted. An older version's struct is read up to its size, and the fields appended since
 *    get their defaults (those of fw_default_*(); for fw_merge_params, those of its method).
 *    Output structs: the caller sets struct_size (sizeof); 0 or a size below v1 is
 *    FW_ERR_INVALID_ARGUMENT, checked before the call does anything. The library writes only the
 *    first min(struct_size, its own sizeof) bytes, never past them, and sets struct_size to the
 *    number of bytes written. An fw_step_info the library hands to a callback carries its own size.
 *    fw_tensor and fw_objective_term (array elements) have no struct_size: their layout is fixed,
 *    and changing it is a new ABI (fw_tensor keeps reserved words to grow into).
 *  - Enum-typed fields and arguments given by the caller are checked as integers: a value outside
 *    the enum is FW_ERR_INVALID_ARGUMENT (fw_status_name: "FW_ERR_UNKNOWN").
 *  - ABI (docs/abi.md): one SONAME per major version, libfwmerge.so.0 for all of 0.x (up to
 *    0.3.6 it was libfwmerge.so.0.MINOR). Releases only add (functions, enumerators, types, struct
 *    versions), so a program compiled against this header runs with any later 0.x library; the
 *    CTest abi_check holds each release to it. Compare FW_VERSION_NUMBER with fw_version_number().
 *  - Thread safety: one solver is used by one thread at a time; distinct solvers are independent.
 *    The one exception is fw_solver_interrupt, which any thread may call at any time. The library
 *    enforces the rule: a call on a solver that another thread is inside fails with FW_ERR_STATE
 *    naming the conflict (fw_solver_pool_size, fw_solver_history_size and fw_solver_block_name
 *    return 0 / NULL and set fw_last_error()); fw_solver_free of such a solver frees nothing and
 *    says so in fw_last_error() (freeing a solver while, or after, another thread uses it is still
 *    the host's bug). Calls back into a solver from its own callbacks are allowed. Callbacks run
 *    on the thread that called fw_solver_step / fw_solver_run (never on a library worker thread).
 *  - Process-wide state (LibTorch's thread count, the C library's malloc tuning) is changed only
 *    by the calls that say so: fw_params.threads > 0, fw_merge_params.threads > 0 and the
 *    "Process-wide settings" section. Creating or using a solver changes none of it.
 *  - Strings and arrays returned by the library are owned by it; each function says how long they
 *    live.
 */
#ifndef FWMERGE_H
#define FWMERGE_H

#include <stddef.h>
#include <stdint.h>

#define FW_VERSION_MAJOR 0
#define FW_VERSION_MINOR 5
#define FW_VERSION_PATCH 0
#define FW_VERSION_STRING "0.5.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH: 300 for 0.3.0. */
#define FW_VERSION_NUMBER (FW_VERSION_MAJOR * 100 * 100 + FW_VERSION_MINOR * 100 + FW_VERSION_PATCH)

/* FW_API marks the exported functions. The library's build defines FWMERGE_BUILDING (Windows:
 * dllexport); a host linking a static libfwmerge defines FWMERGE_STATIC, so that Windows does not
 * look for the functions in a DLL (dllimport otherwise). The library compiles with hidden
 * visibility (CMake's visibility preset), so on GCC / Clang the attribute is what exports these. */
#if defined(FWMERGE_STATIC)
#define FW_API
#elif defined(_WIN32) || defined(__CYGWIN__)
#if defined(FWMERGE_BUILDING)
#define FW_API __declspec(dllexport)
#else
#define FW_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define FW_API __attribute__((visibility("default")))
#else
#define FW_API
#endif

/* FW_DEPRECATED(msg) marks a 0.3 function name kept as an alias, FW_DEPRECATED_ENUM(msg) a 0.3
 * enumerator kept with its value (zstd's and libgit2's scheme): using one warns with msg, which
 * names the replacement. Define FW_DISABLE_DEPRECATE_WARNINGS to silence them. SWIG cannot parse
 * attributes, so both are empty there. GCC and Clang take the GNU attribute on enumerators in C
 * and C++ alike (standard C++ only since C++17); MSVC takes none on enumerators. */
#if defined(SWIG) || defined(FW_DISABLE_DEPRECATE_WARNINGS)
#define FW_DEPRECATED(msg)
#define FW_DEPRECATED_ENUM(msg)
#elif defined(__GNUC__) || defined(__clang__)
#define FW_DEPRECATED(msg) __attribute__((deprecated(msg)))
#define FW_DEPRECATED_ENUM(msg) __attribute__((deprecated(msg)))
#elif defined(_MSC_VER)
#define FW_DEPRECATED(msg) __declspec(deprecated(msg))
#define FW_DEPRECATED_ENUM(msg)
#elif defined(__cplusplus) && __cplusplus >= 201402L
#define FW_DEPRECATED(msg) [[deprecated(msg)]]
#define FW_DEPRECATED_ENUM(msg)
#else
#define FW_DEPRECATED(msg)
#define FW_DEPRECATED_ENUM(msg)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------- */
/* Status codes and errors */
/* ---------------------------------------------------------------------------------------------- */

typedef enum fw_status {
  FW_OK = 0,
  FW_ERR_INVALID_ARGUMENT = -1, /* NULL handle, value out of range, unknown enum */
  FW_ERR_IO = -2,               /* open/read/write/rename/fsync failed (disk full included) */
  FW_ERR_FORMAT = -3,           /* malformed file; the message names the defect, e.g. "[overlap]" */
  FW_ERR_SHAPE_MISMATCH = -4,   /* a pool member's tensor shape differs from the base */
  FW_ERR_DTYPE_MISMATCH = -5,   /* a pool member's tensor dtype differs from the base */
  FW_ERR_NAME_MISMATCH = -6,    /* a pool member lacks a base tensor or has an extra one */
  FW_ERR_CALLBACK = -7,         /* the host objective returned a non-OK status */
  FW_ERR_NON_FINITE = -8,       /* NaN/Inf loss or gradient */
  FW_ERR_OUT_OF_MEMORY = -9,
  FW_ERR_ABORTED = -10,     /* the abort hook asked to stop, or fw_solver_step_cancel */
  FW_ERR_STATE = -11,       /* call not valid now (no base, no objective, ask/tell order) */
  FW_ERR_UNSUPPORTED = -12, /* valid input this version does not handle (dtype, adapter kind) */
  FW_ERR_INTERNAL = -13
} fw_status;

/* Stable name of a status code ("FW_ERR_FORMAT"; "FW_ERR_UNKNOWN" for a value outside fw_status).
 * Static storage. */
FW_API const char *fw_status_name(fw_status status);

/* Message of the last failed call in this thread ("" if none). Valid until the next fwmerge call
 * in this thread. */
FW_API const char *fw_last_error(void);

/* For objective callbacks: record the host's reason before returning a non-OK status. The solver
 * then reports FW_ERR_CALLBACK with this text in fw_last_error(). The text is copied. */
FW_API void fw_set_callback_error(const char *message);

/* The library's FW_VERSION_STRING ("0.5.0"); static storage. */
FW_API const char *fw_version(void);
/* The library's FW_VERSION_NUMBER (500 for 0.5.0), to compare with the header's. */
FW_API unsigned fw_version_number(void);
/* The LibTorch this library was built against and loads, as its own version string ("1.13.0"
 * for Debian's libtorch-dev, "2.15.0+cu132" for a pip torch); static storage. Since 0.3.5.
 * A process holds one LibTorch: two builds (libfwmerge on Debian's, the host's PyTorch from pip)
 * export the same C++ symbols and abort the process when the second one loads. A host that loads
 * its own LibTorch (PyTorch, DJL, tch-rs, gotch) needs a libfwmerge built against that one
 * (CMake option FWMERGE_LIBTORCH; docs/install.md, "Which LibTorch"); compare this string with the
 * host's torch version before loading libfwmerge into such a process (the Python binding does). */
FW_API const char *fw_libtorch_version(void);

/* ---------------------------------------------------------------------------------------------- */
/* Tensors */
/* ---------------------------------------------------------------------------------------------- */

/* Element types. The solver and the merges work on the floating types F32, F16 and BF16; the
 * others (0.3.1) are storage types that fw_save_tensors writes and fw_load_tensors reads as they
 * are, e.g. the labels of a calibration file. */
typedef enum fw_dtype {
  FW_DTYPE_DEFAULT = -1, /* export: keep each tensor's base dtype */
  FW_DTYPE_F32 = 0,
  FW_DTYPE_F16 = 1,
  FW_DTYPE_BF16 = 2,
  FW_DTYPE_F64 = 3,
  FW_DTYPE_I64 = 4,
  FW_DTYPE_I32 = 5,
  FW_DTYPE_I16 = 6,
  FW_DTYPE_I8 = 7,
  FW_DTYPE_U8 = 8,
  FW_DTYPE_BOOL = 9, /* one byte per element, 0 or 1 */
  FW_DTYPE_U16 = 10,
  FW_DTYPE_U32 = 11,
  FW_DTYPE_U64 = 12
} fw_dtype;

/* Where a tensor's memory lives. */
typedef enum fw_device_type {
  FW_DEVICE_TYPE_CPU = 0, /* host memory */
  FW_DEVICE_TYPE_CUDA =
      1, /* the memory of CUDA device `device_index` (needs a LibTorch with CUDA) */
  /* The 0.3 names, deprecated (same values). */
  FW_DEVICE_CPU FW_DEPRECATED_ENUM("use FW_DEVICE_TYPE_CPU") = 0,
  FW_DEVICE_CUDA FW_DEPRECATED_ENUM("use FW_DEVICE_TYPE_CUDA") = 1
} fw_device_type;

/* A view of one tensor. Row-major, contiguous, little-endian. Views the library hands out
 * (objective callbacks, requests, fw_solver_current) carry the solver's working dtype
 * (fw_params.work_dtype) and the device of their memory (fw_params.device, or the CPU with
 * fw_params.host_views). A view a host passes in (fw_save_tensors) describes the host's memory the
 * same way: zero the struct first (memset, or = {0}) so device is FW_DEVICE_TYPE_CPU and reserved
 * is zero. The layout is fixed for 0.3: later versions give meanings to reserved words (zero =
 * today's behaviour) instead of changing it. */
typedef struct fw_tensor {
  const char *name; /* the checkpoint's tensor name, NUL-terminated */
  fw_dtype dtype;   /* solver views: F32, F16 or BF16; fw_save_tensors / fw_load_tensors: any */
  int32_t ndim;
  const int64_t *shape;  /* ndim entries */
  int64_t numel;         /* product of shape (1 for rank 0) */
  void *data;            /* numel elements; read-only for parameter views, writable for gradients */
  fw_device_type device; /* where data lives */
  int32_t device_index;  /* CUDA ordinal; 0 on the CPU */
  uint64_t reserved[4];  /* zero */
} fw_tensor;

/* ---------------------------------------------------------------------------------------------- */
/* Solver parameters */
/* ---------------------------------------------------------------------------------------------- */

typedef enum fw_lmo {
  FW_LMO_HARD = 0, /* argmin vertex (Algorithm 1) */
  FW_LMO_SOFT = 1  /* top-k vertices, simplex-optimized coefficients (Section 3.3, eq. 9) */
} fw_lmo;

typedef enum fw_granularity {
  FW_GRANULARITY_TASKWISE = 0,  /* one score per checkpoint over all tensors */
  FW_GRANULARITY_LAYERWISE = 1, /* one score per (checkpoint, block): block-coordinate FW */
  /* The 0.3 names, deprecated (same values). */
  FW_TASKWISE FW_DEPRECATED_ENUM("use FW_GRANULARITY_TASKWISE") = 0,
  FW_LAYERWISE FW_DEPRECATED_ENUM("use FW_GRANULARITY_LAYERWISE") = 1
} fw_granularity;

typedef enum fw_score {
  FW_SCORE_INNER = 0, /* <grad, theta_i> (paper, eq. 7) */
  FW_SCORE_COSINE = 1 /* per-tensor cosine(grad, theta_i), summed task-wise (authors' code) */
} fw_score;

typedef enum fw_step_rule {
  FW_STEP_RULE_LINE_SEARCH =
      0,                     /* gamma in [0,1] minimizing the loss, bounded loss-only evaluations */
  FW_STEP_RULE_SCHEDULE = 1, /* gamma = step_scale * 2 / (t + 2) */
  FW_STEP_RULE_CONSTANT = 2, /* gamma = step_scale */
  /* The 0.3 names, deprecated (same values). */
  FW_STEP_LINE_SEARCH FW_DEPRECATED_ENUM("use FW_STEP_RULE_LINE_SEARCH") = 0,
  FW_STEP_SCHEDULE FW_DEPRECATED_ENUM("use FW_STEP_RULE_SCHEDULE") = 1,
  FW_STEP_CONSTANT FW_DEPRECATED_ENUM("use FW_STEP_RULE_CONSTANT") = 2
} fw_step_rule;

/* The soft LMO's inner solver for the coefficients lambda of the top-k vertices. Whatever the
 * solver, a soft step never ends with a higher loss than theta_t had: when no inner iterate beats
 * l(theta_t), the step keeps theta_t (every lambda 0, fw_step_info.gamma 0).
 * BOX is the default: inside the hull the coefficients of the task vectors sum to at most 1, so n
 * tasks whose task vectors hardly interfere can each keep only about 1/n of its own; the box lets
 * each candidate's be taken whole, as task arithmetic's scaled sum does. The price: the merge may
 * leave the hull (fw_step_info.leaves_hull), and Frank-Wolfe's convergence theory, which needs the
 * hull, no longer applies; CAPPED is the variant inside the hull. The paper's SIMPLEX has
 * sum lambda = 1, so theta_t itself is not feasible and every step is a full step to the face
 * spanned by the k candidates, which can only raise the loss once theta_t is better than that
 * face. The capped simplex and the box contain lambda = 0 (theta_t) and the whole segment to each
 * candidate, like hard FW's gamma in [0, 1]. Measurements behind these choices: CHANGELOG.md
 * (0.3.3). */
typedef enum fw_soft_solver {
  FW_SOFT_SOLVER_SIMPLEX =
      0, /* projected gradient, lambda on the probability simplex (paper, Theorem 1) */
  FW_SOFT_SOLVER_CAPPED =
      1, /* projected gradient, lambda >= 0, sum <= 1 (theta_t feasible, in the hull) */
  FW_SOFT_SOLVER_ADAM = 2, /* unconstrained Adam on lambda (authors' code; may leave the hull) */
  FW_SOFT_SOLVER_BOX = 3,  /* the default: projected gradient, each lambda in [0, 1], the sum
                              unbounded: theta_{t+1} may leave the hull (flagged leaves_hull) */
  /* The 0.3 names, deprecated (same values). */
  FW_SOFT_SIMPLEX FW_DEPRECATED_ENUM("use FW_SOFT_SOLVER_SIMPLEX") = 0,
  FW_SOFT_CAPPED FW_DEPRECATED_ENUM("use FW_SOFT_SOLVER_CAPPED") = 1,
  FW_SOFT_ADAM FW_DEPRECATED_ENUM("use FW_SOFT_SOLVER_ADAM") = 2,
  FW_SOFT_BOX FW_DEPRECATED_ENUM("use FW_SOFT_SOLVER_BOX") = 3
} fw_soft_solver;

/* How the soft LMO picks its k vertices when the objective is a sum of terms (Section 3.3: "a more
 * subtle top-k operation can be performed in a task-wise fashion if the original objective
 * function involves multi-tasks"). Terms come from a TorchScript objective's terms,
 * fw_solver_set_objective_terms_callback or fw_solver_set_ask_tell_terms; with one term both rules
 * are the same. The coefficients lambda are optimized on the whole objective either way, and the
 * hard LMO and the FW gap always use the whole objective's gradient. */
typedef enum fw_topk_rule {
  FW_TOPK_RULE_SUMMED = 0,   /* the k best vertices for the whole objective's gradient */
  FW_TOPK_RULE_PER_TERM = 1, /* terms in turn, each term's own gradient picks its best vertex not
                                yet picked, until k = max(top_k, n_terms) vertices (the authors'
                                code: one relevant model per task). A step then takes n_terms
                                gradient evaluations at theta_t (one per term; the whole gradient is
                                their sum) instead of one, and holds n_terms + 1 gradients during
                                the LMO pass */
  /* The 0.3 names, deprecated (same values). */
  FW_TOPK_SUMMED FW_DEPRECATED_ENUM("use FW_TOPK_RULE_SUMMED") = 0,
  FW_TOPK_PER_TERM FW_DEPRECATED_ENUM("use FW_TOPK_RULE_PER_TERM") = 1
} fw_topk_rule;

/* An input struct (see Versioned structs above); start from fw_default_params(). */
typedef struct fw_params {
  uint32_t struct_size;       /* sizeof(fw_params), set by fw_default_params() */
  fw_lmo lmo;                 /* default FW_LMO_HARD */
  fw_granularity granularity; /* default FW_GRANULARITY_TASKWISE */
  int32_t block_depth;        /* layer-wise blocks: 0 = one block per tensor; d > 0 = tensors whose
                                 names share the first d dot-separated parts form a block. Default 0 */
  fw_score score;             /* default FW_SCORE_INNER */
  int32_t top_k;              /* soft LMO: vertices per block, >= 1. Default 2 */
  fw_step_rule step_rule;     /* hard LMO step. Default FW_STEP_RULE_LINE_SEARCH */
  double step_scale;          /* c of the schedule / the constant gamma. Default 1.0 */
  int32_t line_search_evals;  /* loss-only evaluations per line search, >= 1. Default 3 */
  fw_soft_solver soft_solver; /* default FW_SOFT_SOLVER_BOX (see fw_soft_solver) */
  int32_t soft_iters; /* inner iterations (each: one loss+gradient evaluation). Default 20 */
  double soft_lr;     /* inner step size; 0 = automatic (Barzilai-Borwein). Default 0 */
  uint64_t soft_memory_budget; /* bytes allowed to keep the k candidates resident; 0 = stream them
                                  from disk every inner iteration. Default 0 */
  int32_t max_iters;           /* fw_solver_run budget T. Default 10 */
  double epsilon;              /* stop when the FW gap <= epsilon. Default 1e-6 */
  int32_t threads;             /* intra-op threads: 0 = use LibTorch's current setting; n > 0 =
                                  at::set_num_threads(n) for each step, restored after it (a
                                  process-wide setting while the step runs). Default 0 */
  uint64_t seed;               /* seed of stochastic merge functions. Default 0 */
  /* v2 (0.3.0): where and in which precision the solver keeps its model-sized tensors (theta,
   * gradient, line-search trial point, soft-FW point and candidates). Checkpoints stream from disk
   * into these; inner products and merge arithmetic accumulate in fp32 whatever work_dtype is. */
  fw_device_type device; /* default FW_DEVICE_TYPE_CPU. FW_DEVICE_TYPE_CUDA with a LibTorch without
                            CUDA, or with no CUDA device visible, is FW_ERR_UNSUPPORTED */
  int32_t device_index;  /* CUDA ordinal, 0 <= device_index < device count (else
                            FW_ERR_INVALID_ARGUMENT); must be 0 on the CPU. Default 0 */
  fw_dtype work_dtype;   /* FW_DTYPE_F32 (default; FW_DTYPE_DEFAULT means F32), FW_DTYPE_BF16 or
                            FW_DTYPE_F16: 4 or 2 bytes per parameter per resident copy */
  int32_t host_views;    /* 0 (default): views (objective, ask/tell, fw_solver_current) point at the
                            solver's memory, on its device, no copies; 1: views are in host memory
                            (on CUDA the library copies the point to the host and the gradient
                            back), for hosts that compute on the CPU */
  /* v3 (0.3.1): which tensors are merged, by name: shell-style globs (fnmatch: `*` (crossing
   * dots), `?`, `[...]`). A tensor is merged when it matches an include pattern (or include is
   * empty) and no exclude pattern. The others are not part of the merge: pool members need not
   * have them, or may have them in another shape (e.g. per-task heads), the views, gradient, LMO
   * and history cover only the merged tensors, and fw_solver_export writes the others as the base
   * has them (any dtype; converted like the rest when they are floating). Copied at fw_solver_new /
   * fw_solver_set_params (which may change them only before fw_solver_set_base: FW_ERR_STATE). A
   * filter that selects no tensor of the base is FW_ERR_NAME_MISMATCH at fw_solver_set_base. NULL /
   * 0 (default): every tensor. */
  const char *const *include_tensors;
  size_t n_include_tensors;
  const char *const *exclude_tensors;
  size_t n_exclude_tensors;
  /* v4 (0.3.2): a budget of objective evaluations over the solver's life (every call of the
   * callback, the built-in objective or an ask/tell request counts), so that hosts can compare
   * methods at the same cost. 0 (default): none. A step is taken only when its evaluations fit:
   * the evaluation that would exceed the budget is not made, and the step ends as a failed step
   * does (the solver as before it), FW_ERR_STATE "[budget] ..." from fw_solver_step /
   * fw_solver_step_finish; fw_solver_run stops there and returns FW_OK with the last completed step
   * in *last (FW_ERR_STATE when no step fits at all). The evaluations of the steps in the history
   * count (they are restored with a saved state); those of a step cut by the budget do not, so the
   * host made at most max_evaluations calls. Hard steps take 1 + up to line_search_evals (line
   * search) or 1 (schedule, constant); soft steps 1 + soft_iters (n_terms + soft_iters with
   * FW_TOPK_RULE_PER_TERM). Must be >= 0. */
  int64_t max_evaluations;
  /* v5 (0.3.3): see fw_topk_rule. Default FW_TOPK_RULE_PER_TERM, so that irrelevant models in
   * the pool cannot crowd a relevant one out of a summed top-k (CHANGELOG.md, 0.3.3). */
  fw_topk_rule topk_rule;
  /* v6 (0.3.5): the files of a model or adapter folder (fw_solver_set_base, fw_solver_pool_add,
   * fw_solver_set_start_file, and the config and tokenizer files fw_solver_export copies into a
   * Hugging Face folder) are read only when they resolve inside the folder they were named through:
   * a file that is a symbolic link out of it is FW_ERR_INVALID_ARGUMENT naming the file and where
   * it points. A Hugging Face cache snapshot (`.../models--ORG--NAME/snapshots/REV`, each file a
   * link to `../../blobs/HASH`) may link anywhere inside its cached repository `models--ORG--NAME`.
   * Nonzero: links are followed wherever they lead (for hosts whose folders are their own).
   * Default 0. */
  int32_t reserved_v6; /* padding that keeps v5's size distinct; ignored */
  int32_t allow_outside_links;
  /* v7 (0.3.6): pool members (and start files) that lack some floating-point tensor of the base.
   * 0 (default): FW_ERR_NAME_MISMATCH from fw_solver_pool_add naming the member and the tensor
   * (mergekit, too, stops at a required tensor a model lacks). Nonzero: the member's missing
   * tensors are taken from the base, so its task vector is zero there (a fine-tune saved without a
   * frozen head, or with a tied lm_head written once, did not change it); the export's
   * "fwmerge.recipe" lists them per member under "filled_from_base", and so does an HF folder's
   * model card. The base's integer and bool tensors are always taken from the base (see
   * fw_solver_set_base). */
  int32_t reserved_v7; /* padding that keeps v6's size distinct; ignored */
  int32_t fill_missing_from_base;
} fw_params;

/* The defaults into *params (see "Versioned structs" above; 0.5.0). */
FW_API fw_status fw_params_init(fw_params *params, size_t struct_size);

#ifndef FWMERGE_FROZEN_DEFAULTS
static inline fw_params fw_default_params(void) {
  fw_params value;
  (void)fw_params_init(&value, sizeof value);
  return value;
}
#endif

/* ---------------------------------------------------------------------------------------------- */
/* Solver lifetime and pool */
/* ---------------------------------------------------------------------------------------------- */

typedef struct fw_solver fw_solver;

/* Creates a solver. params may be NULL (defaults). *out receives the handle; free with
 * fw_solver_free. */
FW_API fw_status fw_solver_new(const fw_params *params, fw_solver **out);
FW_API void fw_solver_free(fw_solver *solver);

/* Replaces the parameters (allowed between steps). */
FW_API fw_status fw_solver_set_params(fw_solver *solver, const fw_params *params);

/* The pre-trained model: a .safetensors file or a Hugging Face folder (single file or shards with
 * model.safetensors.index.json). It fixes the tensor names, shapes and dtypes every pool member
 * must match, and is the default start point. Must be called before fw_solver_pool_add; resets the
 * solver.
 */
FW_API fw_status fw_solver_set_base(fw_solver *solver, const char *path);

/* Adds a fine-tuned checkpoint (file, sharded folder, or PEFT LoRA adapter folder) to the pool.
 * Validates the header and names/shapes/dtypes against the base; reads no tensor data.
 * *index_out (may be NULL) receives its pool index. Not allowed once steps have been taken. */
FW_API fw_status fw_solver_pool_add(fw_solver *solver, const char *path, int32_t *index_out);

FW_API size_t fw_solver_pool_size(const fw_solver *solver);

/* Start point theta_0 (default: the base). A start point that is not a pool member becomes an extra
 * vertex of the hull (Algorithm 1, line 1); it is reported as vertex index -1 in fw_step_info.
 * Resets the iterate; allowed before the first step only. */
FW_API fw_status fw_solver_set_start_member(fw_solver *solver, int32_t pool_index);
FW_API fw_status fw_solver_set_start_file(fw_solver *solver, const char *path);

/* ---------------------------------------------------------------------------------------------- */
/* The objective */
/* ---------------------------------------------------------------------------------------------- */

/* Evaluates the objective at the current point.
 *  params: n read-only views of the point (one per base tensor, in base order), in the working
 *          dtype and on the device fw_params gives (fp32 in host memory by default).
 *  grads:  n writable views like params, zero-filled, for the gradient; NULL when only the loss is
 *          needed.
 *  loss:   receives the loss.
 * Views are valid during the call only; no copies are made. Return FW_OK, or any error status (call
 * fw_set_callback_error first to give the reason). A non-OK status or a NaN/Inf loss or gradient
 * aborts the step and leaves the solver exactly as it was before the step. */
typedef fw_status (*fw_objective_fn)(const fw_tensor *params, size_t n, fw_tensor *grads,
                                     double *loss, void *user_data);

FW_API fw_status fw_solver_set_objective_callback(fw_solver *solver, fw_objective_fn fn,
                                                  void *user_data);

/* A multi-task objective l = l_0 + ... + l_{n_terms-1} (e.g. one term per task: its loss on its
 * calibration samples, pre-weighted as the host wants them to add up), evaluated by one callback
 * told what to evaluate: term = FW_ALL_TERMS for the whole objective l, or 0 <= term < n_terms for
 * l_term alone (its loss, and its gradient when grads is not NULL). The terms must add up to l:
 * with FW_TOPK_RULE_PER_TERM the solver evaluates each term's gradient at theta_t and takes their
 * sums as l(theta_t) and its gradient; every other evaluation (line search, soft-FW inner
 * iterations) is of the whole objective. Otherwise as fw_objective_fn. */
#define FW_ALL_TERMS (-1)
typedef fw_status (*fw_objective_terms_fn)(int32_t term, const fw_tensor *params, size_t n,
                                           fw_tensor *grads, double *loss, void *user_data);

/* Sets a multi-term objective callback (replaces any objective set before; fn NULL removes it).
 * FW_ERR_INVALID_ARGUMENT when n_terms < 1, FW_ERR_STATE while an ask/tell step is pending. */
FW_API fw_status fw_solver_set_objective_terms_callback(fw_solver *solver, fw_objective_terms_fn fn,
                                                        int32_t n_terms, void *user_data);

/* ---------------------------------------------------------------------------------------------- */
/* Steps */
/* ---------------------------------------------------------------------------------------------- */

/* An output struct (see Versioned structs above). */
typedef struct fw_step_info {
  uint32_t struct_size;  /* caller sets sizeof(fw_step_info) */
  int32_t iteration;     /* t, 0-based */
  double loss;           /* l(theta_t) at the start of the step */
  double loss_after;     /* l(theta_{t+1}) when the step evaluated it, else NAN */
  double gap;            /* FW gap <-grad, s_t - theta_t> (soft: of the best vertex per block) */
  double gamma;          /* hard: step size; soft: mean over blocks of sum_j lambda_j */
  int32_t converged;     /* 1: gap <= epsilon, theta unchanged, nothing more to do */
  int32_t evaluations;   /* objective evaluations spent in this step */
  int32_t n_blocks;      /* 1 task-wise; number of blocks layer-wise */
  int32_t k;             /* vertices per block: 1 hard, top_k soft */
  const int32_t *chosen; /* n_blocks * k vertex indices (pool index, -1 = start vertex) */
  const double *lambdas; /* n_blocks * k coefficients (hard: gamma) */
  int32_t leaves_hull;   /* 1 when the merge function may leave the convex hull */
} fw_step_info;
/* chosen/lambdas are owned by the solver and valid until the next step, reset or free. */

/* One FW iteration with the objective callback. On error the solver is unchanged. */
FW_API fw_status fw_solver_step(fw_solver *solver, fw_step_info *info);

/* Steps until max_iters steps have been taken in total, the gap <= epsilon or the evaluation budget
 * (max_evaluations) is spent. *last (may be NULL)
 * receives the last step's info. */
FW_API fw_status fw_solver_run(fw_solver *solver, fw_step_info *last);

/* Number of completed steps, and the info of step i (0 <= i < count), with the same lifetime rules.
 */
FW_API int32_t fw_solver_history_size(const fw_solver *solver);
FW_API fw_status fw_solver_history_get(const fw_solver *solver, int32_t i, fw_step_info *info);

/* Name of block b (layer-wise: a tensor name or name prefix; task-wise: ""). Valid until reset. */
FW_API const char *fw_solver_block_name(const fw_solver *solver, int32_t block);

/* Ask/tell: the same step without callbacks, for hosts that evaluate elsewhere.
 *   fw_request req = {sizeof req};   (info.struct_size = sizeof info likewise)
 *   fw_solver_step_begin(s);
 *   while (fw_solver_step_ask(s, &req) == FW_OK && !req.done) {
 *     ... read req.params, write req.grads (if req.need_gradient) ...
 *     fw_solver_step_tell(s, FW_OK, loss);
 *   }
 *   status = fw_solver_step_finish(s, &info);
 * The step runs on a library thread between the calls; views in req are valid until
 * fw_solver_step_tell or fw_solver_step_cancel. fw_solver_step_tell with a non-OK status fails the
 * step like a failing callback; a host_status outside fw_status is FW_ERR_INVALID_ARGUMENT and the
 * evaluation stays pending. fw_request is an output struct (see Versioned structs above). */
typedef struct fw_request {
  uint32_t struct_size;  /* caller sets sizeof(fw_request) */
  int32_t done;          /* 1: the step has ended; call fw_solver_step_finish */
  int32_t need_gradient; /* 0: only the loss is wanted, grads is NULL */
  size_t n;              /* number of tensors */
  const fw_tensor *params;
  fw_tensor *grads;
  /* v2 (0.3.3): what to evaluate: FW_ALL_TERMS (the whole objective; always, unless the host
   * declared terms with fw_solver_set_ask_tell_terms) or one term (see fw_objective_terms_fn) */
  int32_t term;
} fw_request;

/* The number of terms of the objective the host evaluates over ask/tell (default 1; see
 * fw_objective_terms_fn and fw_topk_rule); kept across steps. FW_ERR_INVALID_ARGUMENT when
 * n_terms < 1, FW_ERR_STATE while a step is pending. */
FW_API fw_status fw_solver_set_ask_tell_terms(fw_solver *solver, int32_t n_terms);

FW_API fw_status fw_solver_step_begin(fw_solver *solver);
FW_API fw_status fw_solver_step_ask(fw_solver *solver, fw_request *request);
FW_API fw_status fw_solver_step_tell(fw_solver *solver, fw_status host_status, double loss);
/* Returns the step's status (FW_OK or the error that ended it) and its info, and ends the pending
 * step. A successful step is committed when it ends (at the fw_solver_step_tell that answers its
 * last request, req.done then reads 1); a rejected info struct leaves the step pending. */
FW_API fw_status fw_solver_step_finish(fw_solver *solver, fw_step_info *info);
/* Abandons a step in progress; the solver is as before fw_solver_step_begin. */
FW_API fw_status fw_solver_step_cancel(fw_solver *solver);

/* Read-only views of the current merged tensors theta_t (base order; working dtype and device as
 * for objective views). Valid until the next step, reset, parameter change or free. */
FW_API fw_status fw_solver_current(const fw_solver *solver, const fw_tensor **tensors, size_t *n);

/* ---------------------------------------------------------------------------------------------- */
/* Hooks */
/* ---------------------------------------------------------------------------------------------- */

typedef void (*fw_progress_fn)(const fw_step_info *info, void *user_data); /* after each step */
typedef enum fw_log_level {
  FW_LOG_LEVEL_DEBUG = 0,
  FW_LOG_LEVEL_INFO = 1,
  FW_LOG_LEVEL_WARN = 2,
  /* The 0.3 names, deprecated (same values). */
  FW_LOG_DEBUG FW_DEPRECATED_ENUM("use FW_LOG_LEVEL_DEBUG") = 0,
  FW_LOG_INFO FW_DEPRECATED_ENUM("use FW_LOG_LEVEL_INFO") = 1,
  FW_LOG_WARN FW_DEPRECATED_ENUM("use FW_LOG_LEVEL_WARN") = 2
} fw_log_level;
typedef void (*fw_log_fn)(fw_log_level level, const char *message, void *user_data);
/* Polled between tensors and evaluations; return nonzero to abort the step (FW_ERR_ABORTED). */
typedef int (*fw_abort_fn)(void *user_data);

FW_API fw_status fw_solver_set_progress_callback(fw_solver *solver, fw_progress_fn fn,
                                                 void *user_data);
FW_API fw_status fw_solver_set_log_callback(fw_solver *solver, fw_log_fn fn, void *user_data);
FW_API fw_status fw_solver_set_abort_callback(fw_solver *solver, fw_abort_fn fn, void *user_data);

/* Interrupts the solver's work from any thread (sqlite3_interrupt's model): the call in progress
 * on this solver (fw_solver_step, fw_solver_run, an ask/tell step, fw_solver_export,
 * fw_solver_set_start_merge, fw_solver_state_save), or the next such call if none is running, stops
 * within one chunk of work (one 256 KiB chunk of the LMO, one tensor of a line-search trial, a soft
 * iteration or an export) and returns FW_ERR_ABORTED with "interrupted" in fw_last_error(); the
 * solver is as before the step (fw_solver_run keeps the steps it completed) and nothing is left at
 * an export's path. The request is consumed by the call it stops. An ask/tell step waiting for the
 * host ends at its next fw_solver_step_ask or fw_solver_step_tell (the request reads done = 1,
 * fw_solver_step_finish returns FW_ERR_ABORTED). Async-signal-unsafe, but lock-free: one atomic
 * store. NULL is a no-op. The solver must not be freed while this runs. */
FW_API void fw_solver_interrupt(fw_solver *solver);

/* ---------------------------------------------------------------------------------------------- */
/* Resume */
/* ---------------------------------------------------------------------------------------------- */

/* Saves what a run has computed so far, so that a later process can continue it: the iterate
 * theta_t, the step history, the start vertex (pool index, file, or the in-memory tensors of
 * fw_solver_set_start_merge) and the identity of the base, the pool and a start file (per file: its
 * size, a hash of its header and a hash of 64 samples of 4 KiB spread over its data; for an
 * adapter, also the scales its config gives). One .safetensors file (fp32 tensors, JSON in
 * __metadata__ "fwmerge.state"), written atomically like fw_solver_export. Not allowed while an
 * ask/tell step is pending (FW_ERR_STATE). */
FW_API fw_status fw_solver_state_save(fw_solver *solver, const char *path);

/* Restores a saved state into a solver set up as the saving one was: the same base and pool in the
 * same order (paths may differ: files are matched by identity, so a state moves with copies of its
 * checkpoints; a file changed only outside the sampled bytes is not noticed), the same block
 * structure (params granularity, block_depth) and merge function. Params may otherwise differ (e.g.
 * a larger max_iters). A start file is reopened at its saved path. The objective and hooks are the
 * host's to set again. After loading, fw_solver_step / fw_solver_run continue exactly where the
 * saved run stopped: a run of T steps and a run saved after T/2 steps, loaded in a new process and
 * continued, export the same bytes (same thread count). Errors: FW_ERR_IO (unreadable),
 * FW_ERR_FORMAT (not a state file, "[state_...]"), FW_ERR_STATE (no base, an ask/tell step pending,
 * or a base / pool / block structure / merge function that differs from the saved one; the message
 * says which). On error the solver is unchanged. */
FW_API fw_status fw_solver_state_load(fw_solver *solver, const char *path);

/* ---------------------------------------------------------------------------------------------- */
/* Export */
/* ---------------------------------------------------------------------------------------------- */

/* An input struct (see Versioned structs above); start from fw_default_export_options(). */
typedef struct fw_export_options {
  uint32_t struct_size;     /* sizeof(fw_export_options), set by fw_default_export_options() */
  fw_dtype dtype;           /* FW_DTYPE_DEFAULT: each tensor in its base dtype */
  uint64_t max_shard_bytes; /* 0: path is one .safetensors file. > 0: path is a folder that gets
                               model-0000i-of-0000N.safetensors + model.safetensors.index.json */
  /* v2 (0.3.2): nonzero writes `path` as a Hugging Face model folder, as transformers'
   * save_pretrained lays it out, so from_pretrained loads it: model.safetensors when the model fits
   * one shard of max_shard_bytes (0: no limit), else the shards and model.safetensors.index.json;
   * every other file of the base folder, subfolders included (config, generation config,
   * tokenizer files, and since 0.3.5 the side files of libraries such as sentence-transformers'
   * modules.json and 1_Pooling/), copied when present (a base given as a file has none), except
   * weight files (*.safetensors, *.bin, *.pt, ...), their index, the base's README.md,
   * adapter_config.json, hidden files and the onnx/ and openvino/ folders; and a README.md model
   * card. Built in a sibling temp folder and renamed into place: `path` holds the whole result or
   * nothing. `path` must not exist or be an empty folder (else
   * FW_ERR_INVALID_ARGUMENT). Default 0. */
  int32_t hf_folder;
  /* v2 (0.3.2), with hf_folder: the README.md text (read during the call only). NULL (default): a
   * card the library writes: front matter (library_name, tags, base_model when the base is a
   * folder) and the recipe, as in "fwmerge.recipe". Since 0.3.6 either card gets a section
   * "Taken from the base" appended when the merge took tensors from the base (the base's integer
   * and bool buffers; members' tensors filled by fill_missing_from_base). */
  const char *model_card;
  /* v3 (0.3.4), experimental (see "tensor-sharded solving" at the end of this header): W >= 1
   * writes `path` as a folder of W shards, model-0000{r+1}-of-0000W.safetensors holding the
   * tensors rank r of a W-rank run holds (the shard plan; tensors outside the filter go to the
   * first shard), and model.safetensors.index.json: byte for byte what a W-rank sharded solver's
   * fw_solver_export writes for the same merge. Requires max_shard_bytes 0 and hf_folder 0
   * (FW_ERR_INVALID_ARGUMENT). On a sharded solver fw_solver_export always writes this layout (0
   * means W; another value is FW_ERR_INVALID_ARGUMENT); fw_merge refuses it. Default 0: the layouts
   * above. */
  int32_t rank_shards;
} fw_export_options;

/* The defaults into *opts (see "Versioned structs" above; 0.5.0). */
FW_API fw_status fw_export_options_init(fw_export_options *opts, size_t struct_size);

#ifndef FWMERGE_FROZEN_DEFAULTS
static inline fw_export_options fw_default_export_options(void) {
  fw_export_options value;
  (void)fw_export_options_init(&value, sizeof value);
  return value;
}
#endif

/* Writes theta_t. The recipe (params, pool) and per-step history go into __metadata__ (keys
 * "fwmerge.recipe", "fwmerge.history", JSON text) next to "format": "pt". Atomic: temp files,
 * fsync, rename; on failure nothing is left at path. opts may be NULL (defaults). */
FW_API fw_status fw_solver_export(fw_solver *solver, const char *path,
                                  const fw_export_options *opts);

/* Writes tensors (in host or CUDA memory, as fw_tensor describes) as one .safetensors file,
 * atomically. Floating tensors (F32, F16, BF16, F64) are converted to `dtype` when it is F32, F16
 * or BF16 (FW_DTYPE_DEFAULT = each tensor's own dtype); integer and BOOL tensors are written as
 * they are whatever `dtype` says. metadata_kv:
 * 2 * n_metadata strings (key, value, ...), may be NULL. Useful to hosts that build checkpoints
 * themselves (tests, examples, tools, calibration files with labels). */
FW_API fw_status fw_save_tensors(const char *path, const fw_tensor *tensors, size_t n,
                                 fw_dtype dtype, const char *const *metadata_kv, size_t n_metadata);

/* ---- Reading tensors back (0.3.1) ---- */

/* The tensors of a checkpoint read into host memory: the counterpart of fw_save_tensors, and what
 * `fwmerge inspect` lists. Opaque; free with fw_tensor_set_free. */
typedef struct fw_tensor_set fw_tensor_set;

/* Flags of fw_load_tensors, OR-ed into its uint32_t flags. A bit set has no enum type, so the
 * prefix names the argument instead: FW_LOAD_FLAG_. */
enum {
  FW_LOAD_FLAG_HEADER_ONLY = 1, /* names, dtypes, shapes, sizes and metadata only: no tensor data
                                   is read, data views are NULL, and every dtype is accepted (those
                                   outside fw_dtype report FW_DTYPE_DEFAULT in fw_tensor.dtype;
                                   fw_tensor_set_dtype_name names them). Memory: the headers,
                                   whatever the checkpoint's size */
  FW_LOAD_FLAG_ALLOW_OUTSIDE_LINKS = 2, /* follow a folder's files that are symbolic links out of
                                           it (as fw_params.allow_outside_links; without it they
                                           are FW_ERR_INVALID_ARGUMENT) */
  /* The 0.3 names, deprecated (same values). */
  FW_LOAD_HEADER_ONLY FW_DEPRECATED_ENUM("use FW_LOAD_FLAG_HEADER_ONLY") = 1,
  FW_LOAD_ALLOW_OUTSIDE_LINKS FW_DEPRECATED_ENUM("use FW_LOAD_FLAG_ALLOW_OUTSIDE_LINKS") = 2
};

/* Reads `path`: a .safetensors file, a Hugging Face folder (model.safetensors, or shards with
 * model.safetensors.index.json) or a PEFT adapter folder (its adapter_model.safetensors as stored:
 * lora_A / lora_B, not applied to a base). Validated exactly as fw_solver_set_base validates (a
 * malformed, truncated or changing file is FW_ERR_FORMAT / FW_ERR_IO with the defect named, never a
 * crash). Tensors come in checkpoint order (shards in index order, then file offset); metadata is
 * the
 * __metadata__ of the (first) file. Without FW_LOAD_FLAG_HEADER_ONLY every tensor's bytes are read
 * into host memory (64-byte aligned) and a dtype outside fw_dtype (F8, F6, F4, C64) is
 * FW_ERR_UNSUPPORTED naming the tensor. flags: 0, or FW_LOAD_FLAG_HEADER_ONLY and / or
 * FW_LOAD_FLAG_ALLOW_OUTSIDE_LINKS (others: FW_ERR_INVALID_ARGUMENT). On error *out is NULL. */
FW_API fw_status fw_load_tensors(const char *path, uint32_t flags, fw_tensor_set **out);
/* Number of tensors (0 for NULL). */
FW_API size_t fw_tensor_set_count(const fw_tensor_set *set);
/* A view of tensor i (host memory, FW_DEVICE_TYPE_CPU; data NULL with FW_LOAD_FLAG_HEADER_ONLY).
 * The view and everything it points to live until fw_tensor_set_free; data is writable (the host's
 * copy). FW_ERR_INVALID_ARGUMENT for NULL or i out of range. */
FW_API fw_status fw_tensor_set_get(const fw_tensor_set *set, size_t i, fw_tensor *out);
/* The safetensors dtype string of tensor i ("BF16", "F8_E4M3", ...) and its size in bytes in the
 * file; NULL / 0 for NULL or i out of range. */
FW_API const char *fw_tensor_set_dtype_name(const fw_tensor_set *set, size_t i);
FW_API uint64_t fw_tensor_set_nbytes(const fw_tensor_set *set, size_t i);
/* Metadata entries, sorted by key: count, and entry i's key and value (valid until free).
 * FW_ERR_INVALID_ARGUMENT for NULL arguments or i out of range. */
FW_API size_t fw_tensor_set_metadata_count(const fw_tensor_set *set);
FW_API fw_status fw_tensor_set_metadata(const fw_tensor_set *set, size_t i, const char **key,
                                        const char **value);
/* NULL is a no-op. */
FW_API void fw_tensor_set_free(fw_tensor_set *set);

/* ---- Data-free merging and FW merge functions ---- */

/* Data-free merge methods (mergekit names in brackets). tau_i = theta_i - theta_0 is member i's
 * task vector against the base theta_0; w_i its weight (1 when weights is NULL); W = sum_i w_i.
 * Every method runs tensor by tensor in fp32, streaming the members: memory O(n x largest tensor).
 *  - LINEAR [linear]: sum_i w_i theta_i, divided by W when normalize. scaling is not used.
 *  - TASK_ARITHMETIC [task_arithmetic]: theta_0 + scaling * sum_i w_i tau_i (/ W when normalize).
 *  - TIES [ties]: trim each tau_i to its k = max(1, floor(density * numel + 0.5)) largest-magnitude
 *    entries (equal magnitudes at the threshold: the lower flat index is kept first, so exactly k
 *    survive); elect a sign per entry, s = sign(sum_i w_i trimmed_i) (a zero sum elects no sign,
 * and the entry stays at the base; mergekit elects + there); merged = theta_0 + scaling * the
 * disjoint mean sum_{i agrees} w_i trimmed_i / sum_{i agrees} w_i (a disjoint sum when normalize is
 * 0). "Agrees": the weighted trimmed entry is nonzero and has the elected sign.
 *  - DARE_LINEAR [dare_linear]: drop each entry of tau_i with probability drop_rate, rescale the
 *    survivors by 1 / (1 - drop_rate), then TASK_ARITHMETIC. DARE_TIES [dare_ties]: the same drop,
 *    then TIES' sign election and disjoint merge without the trim. The draw for entry e of member i
 *    in tensor t (base order) is output e of SplitMix64 seeded with key(seed, t, i) (see
 *    lib/merge/counter_rng.h): the same seed gives the same bytes for any thread count.
 *  - BREADCRUMBS [breadcrumbs]: per tau_i, drop the top floor(beta * numel + 0.5) magnitudes and
 *    keep the next max(1, floor(density * numel + 0.5)) (fewer dropped at the top when both do not
 *    fit), then TASK_ARITHMETIC. BREADCRUMBS_TIES [breadcrumbs_ties]: the same masks, then TIES'
 *    election and disjoint merge.
 *  - MODEL_STOCK [model_stock] (Jang et al. 2024), per tensor, n >= 2: cos = mean over pairs i < j
 *    of cos(tau_i, tau_j), clamped to [0, 1]; t = n cos / (1 + (n - 1) cos);
 *    merged = t * mean_i theta_i + (1 - t) * theta_0. Takes no weights; scaling is not used.
 * The methods of 0.5.0 are mergekit 0.1.5's, with its parameters and defaults (the v8 fields of
 * fw_merge_params; docs/methods.md gives each formula and how it streams):
 *  - SLERP [slerp]: spherical interpolation from the base (t = 0) to the one pool member (t = 1),
 *    one angle per tensor. NEARSWAP [nearswap]: per entry, w = clamp(t / max(|m - b|, 1e-6), 0, 1)
 *    of the one member m over the base b. ARCEE_FUSION [arcee_fusion]: the one member's entries
 *    whose importance passes a dynamic threshold, over the base.
 *  - MULTISLERP [multislerp]: barycentric interpolation of the task vectors on the sphere
 *    (weights, normalize, eps). NUSLERP [nuslerp]: slerp of the two members' task vectors by
 *    their weights (nuslerp_flatten, nuslerp_row_wise). KARCHER [karcher]: the Karcher mean of
 *    the members on the sphere (max_iter, tol; no weights); the base is not an input.
 *  - PASSTHROUGH [passthrough]: the one member times scale (the base only lists the tensors).
 *  - DELLA / DELLA_LINEAR [della, della_linear]: DARE-like drops, keep probabilities from each
 *    entry's magnitude rank in its row (density +- epsilon), rescaled; then TIES' sign election
 *    and disjoint merge (DELLA) or a weighted sum (DELLA_LINEAR), times scaling (lambda).
 *  - SCE [sce]: the top select_topk of the entries by variance across members, weighted by each
 *    member's mean square, with TIES' sign election. RAM / RAMPLUS_TL [ram, ramplus_tl]: each
 *    entry's mean over the members that change it by more than epsilon (RAMPLUS_TL rescales by
 *    the shared/unique overlap: ram_r, ram_alpha).
 * The SVD methods (not in mergekit; the authors' code, docs/methods.md) act on each 2-D tensor's
 * task vectors as matrices (other tensors: theta_0 + scaling * mean_i tau_i); merged = theta_0 +
 * scaling * delta (scaling is the papers' alpha, default 1). They take no weights; n >= 1.
 *  - TSV_M [tsv_m] (Gargiulo et al., CVPR 2025): each tau_i's top k = floor(r / n) singular
 *    triplets (r = min(rows, cols)), concatenated; the stacked U and V each replaced by their
 *    nearest orthogonal matrix (P Q^T of its SVD P S Q^T); delta = U_orth diag(S) V_orth^T.
 *  - ISO_C [iso_c] (Marczak et al., ICML 2025): tau = sum_i tau_i = U S V^T; delta = mean(S) U V^T.
 *  - ISO_CTS [iso_cts] (same paper): the top k of sum_i tau_i's singular vectors (k from
 *    select_topk, the authors' common_space_fraction, default 0.8, in [0, 1]), and each tau_i
 *    projected off them contributes its top (r - k) / n; U and V orthogonalized as TSV_M's;
 *    delta = mean(S) U_orth V_orth^T.
 * Methods other than LINEAR and MODEL_STOCK may leave the convex hull of the pool. */
typedef enum fw_merge_method {
  FW_MERGE_METHOD_LINEAR = 0,
  FW_MERGE_METHOD_TASK_ARITHMETIC = 1,
  FW_MERGE_METHOD_TIES = 2,
  FW_MERGE_METHOD_DARE_LINEAR = 3,
  FW_MERGE_METHOD_DARE_TIES = 4,
  FW_MERGE_METHOD_BREADCRUMBS = 5,
  FW_MERGE_METHOD_MODEL_STOCK = 6,
  FW_MERGE_METHOD_BREADCRUMBS_TIES = 7,
  FW_MERGE_METHOD_SLERP = 8, /* 8-19: 0.5.0 */
  FW_MERGE_METHOD_NUSLERP = 9,
  FW_MERGE_METHOD_MULTISLERP = 10,
  FW_MERGE_METHOD_KARCHER = 11,
  FW_MERGE_METHOD_NEARSWAP = 12,
  FW_MERGE_METHOD_ARCEE_FUSION = 13,
  FW_MERGE_METHOD_PASSTHROUGH = 14,
  FW_MERGE_METHOD_DELLA = 15,
  FW_MERGE_METHOD_DELLA_LINEAR = 16,
  FW_MERGE_METHOD_SCE = 17,
  FW_MERGE_METHOD_RAM = 18,
  FW_MERGE_METHOD_RAMPLUS_TL = 19,
  FW_MERGE_METHOD_TSV_M = 20, /* 20-22: after 0.5.0, the SVD methods */
  FW_MERGE_METHOD_ISO_C = 21,
  FW_MERGE_METHOD_ISO_CTS = 22,
  /* The 0.3 names, deprecated (same values). */
  FW_MERGE_LINEAR FW_DEPRECATED_ENUM("use FW_MERGE_METHOD_LINEAR") = 0,
  FW_MERGE_TASK_ARITHMETIC FW_DEPRECATED_ENUM("use FW_MERGE_METHOD_TASK_ARITHMETIC") = 1,
  FW_MERGE_TIES FW_DEPRECATED_ENUM("use FW_MERGE_METHOD_TIES") = 2,
  FW_MERGE_DARE_LINEAR FW_DEPRECATED_ENUM("use FW_MERGE_METHOD_DARE_LINEAR") = 3,
  FW_MERGE_DARE_TIES FW_DEPRECATED_ENUM("use FW_MERGE_METHOD_DARE_TIES") = 4,
  FW_MERGE_BREADCRUMBS FW_DEPRECATED_ENUM("use FW_MERGE_METHOD_BREADCRUMBS") = 5,
  FW_MERGE_MODEL_STOCK FW_DEPRECATED_ENUM("use FW_MERGE_METHOD_MODEL_STOCK") = 6,
  FW_MERGE_BREADCRUMBS_TIES FW_DEPRECATED_ENUM("use FW_MERGE_METHOD_BREADCRUMBS_TIES") = 7
} fw_merge_method;

/* ---- Per-tensor merge parameters (0.3.2) ---- */

/* Which value an fw_merge_override sets. */
typedef enum fw_merge_field {
  FW_MERGE_FIELD_WEIGHT =
      0, /* member i's weight (fw_merge_params.weights[i], 1 when weights is NULL) */
  FW_MERGE_FIELD_DENSITY = 1, /* member i's density (densities[i], else density; DARE: keep
                           probability, so drop_rate_i = 1 - value), in (0, 1] */
  FW_MERGE_FIELD_BETA = 2,    /* member i's breadcrumbs beta (betas[i], else beta), in [0, 1) */
  FW_MERGE_FIELD_SCALING = 3, /* the method's scaling (lambda), finite; member must be -1 */
  FW_MERGE_FIELD_EPSILON = 4, /* 0.5.0: member i's epsilon (DELLA: epsilons[i], else epsilon) */
  FW_MERGE_FIELD_SCALE = 5,   /* 0.5.0: PASSTHROUGH's scale; member -1 or 0 */
  FW_MERGE_FIELD_T = 6,       /* 0.5.0: SLERP's / NEARSWAP's t; member -1 */
  /* The 0.3 names, deprecated (same values). */
  FW_FIELD_WEIGHT FW_DEPRECATED_ENUM("use FW_MERGE_FIELD_WEIGHT") = 0,
  FW_FIELD_DENSITY FW_DEPRECATED_ENUM("use FW_MERGE_FIELD_DENSITY") = 1,
  FW_FIELD_BETA FW_DEPRECATED_ENUM("use FW_MERGE_FIELD_BETA") = 2,
  FW_FIELD_SCALING FW_DEPRECATED_ENUM("use FW_MERGE_FIELD_SCALING") = 3
} fw_merge_field;

/* One per-tensor value: for the tensors whose names match `tensors` (an fnmatch(3) glob, as the
 * tensor filters; "*" or NULL: every tensor), `field` of `member` (a pool index, or -1: every
 * member) is `value` instead of what the fw_merge_params fields give. For a tensor, a member and a
 * field, the first matching override in array order wins (put specific ones first); none: the
 * struct's value. This is what mergekit's per-`filter` parameters and layer gradients become (the
 * `fwmerge merge` recipe reader expands them into one override per tensor). Array element: fixed
 * layout, no struct_size. */
typedef struct fw_merge_override {
  const char *tensors;
  int64_t member;
  fw_merge_field field;
  double value;
} fw_merge_override;

/* fw_merge_params.mergekit_compat: whether fw_merge reproduces mergekit 0.1.5's arithmetic
 * instead of fwmerge's (`fwmerge merge` turns it on for recipes). It applies to task_arithmetic,
 * ties, breadcrumbs, breadcrumbs_ties, dare_linear and dare_ties; linear needs no change (mergekit
 * computes it in fp32 too); model_stock has no mergekit mode (FW_ERR_INVALID_ARGUMENT). */
typedef enum fw_mergekit_compat {
  FW_MERGEKIT_COMPAT_OFF = 0, /* fwmerge's arithmetic (fp32, the trim and election above) */
  /* Every operation is computed and rounded in compute_dtype as mergekit does in its `dtype`
   * (tau_i = theta_i - theta_0, the weights, the weighted task vectors, the sums, the division,
   * lambda, the final add); the trim keeps max(1, floor(density * numel)) entries (TIES) or
   * floor(density * numel) after dropping floor(beta * numel) (breadcrumbs), and density 1 keeps
   * everything; a zero sign sum elects + (entries equal to zero never agree); DARE keeps each entry
   * with probability density (this library's draws, not torch's generator) and rescales the
   * survivors by the ratio of the task vector's L1 norm before and after the drop (mergekit's
   * rescale) instead of 1 / density. Equal magnitudes at the trim threshold are kept lower index
   * first, as fwmerge does. */
  FW_MERGEKIT_COMPAT_ARITHMETIC = 1,
  /* As ARITHMETIC, and equal magnitudes at the trim threshold are those mergekit keeps: the order
   * of torch's CPU argsort, which is libstdc++'s std::sort over (|tau|, index) pairs. fw_merge then
   * replays that sort on each member's task vector of a tensor whose threshold splits equal
   * magnitudes, only on the ranges that straddle the threshold (expected O(numel) time; 8 bytes
   * per element of that tensor for each member in flight, at most 512 MB unless one tensor needs
   * more). */
  FW_MERGEKIT_COMPAT_EXACT_TIES = 2
} fw_mergekit_compat;

/* An input struct (see Versioned structs above); start from fw_default_merge_params(). */
typedef struct fw_merge_params {
  uint32_t struct_size; /* sizeof(fw_merge_params), set by fw_default_merge_params() */
  fw_merge_method method;
  double scaling;        /* lambda applied to the combined task vector */
  double density;        /* TIES / breadcrumbs: fraction of entries kept, in (0, 1] */
  double drop_rate;      /* DARE: drop probability p, in [0, 1) */
  double beta;           /* breadcrumbs: fraction of largest magnitudes dropped, in [0, 1) */
  const double *weights; /* n finite weights (one per pool member, in pool order) or NULL (all 1).
                            Read during the call only. */
  int32_t normalize;     /* nonzero: divide by the (agreeing) weight sum, see each method */
  uint64_t seed;         /* DARE's draws */
  int32_t threads;       /* intra-op threads during the call; 0 = leave the current setting */
  /* v2 (0.2.1): polled before each tensor; nonzero stops the merge with FW_ERR_ABORTED, nothing
   * written (fw_merge has no solver to interrupt: the host's hook reads its own flag, which another
   * thread may set). NULL (default): never. */
  fw_abort_fn abort;
  void *abort_user_data;
  /* v3 (0.3.0): per-member values, n entries in pool order, or NULL (every member uses the scalar
   * field). Read during the call only; fw_merge only (FW merge functions and
   * fw_solver_set_start_merge take NULL). mergekit's per-model `density` and `gamma`. */
  const double *densities; /* TIES / breadcrumbs: density_i in (0, 1] replaces density. DARE: the
                              keep probability, drop_rate_i = 1 - density_i, density_i in (0, 1] */
  const double *betas;     /* breadcrumbs: beta_i in [0, 1) replaces beta */
  /* v4 (0.3.1): which tensors are merged, as fw_params.include_tensors / exclude_tensors: the
   * others are written as the base has them (fw_merge) or kept at theta (merge functions), and
   * pool members need not have them. Read during the call only. NULL / 0 (default): all. */
  const char *const *include_tensors;
  size_t n_include_tensors;
  const char *const *exclude_tensors;
  size_t n_exclude_tensors;
  /* v4 (0.3.1), fw_merge only: an fw_mergekit_compat (declared int32_t, the type it has had
   * since 0.3.1). FW_MERGEKIT_COMPAT_OFF (default): fwmerge's arithmetic. Otherwise see
   * fw_mergekit_compat; other nonzero values act as FW_MERGEKIT_COMPAT_ARITHMETIC. */
  int32_t mergekit_compat;
  fw_dtype compute_dtype; /* with mergekit_compat: F32, F16 or BF16; FW_DTYPE_DEFAULT (default):
                             each tensor's own dtype, mergekit's default */
  /* v5 (0.3.2), fw_merge and fw_solver_set_start_merge: per-tensor values (see fw_merge_override),
   * n entries read during the call only. Checked before anything is read: a field the method does
   * not use (density on linear, task_arithmetic, model_stock; beta outside breadcrumbs; weight on
   * model_stock), a member outside [-1, n), SCALING with a member, or a value outside the field's
   * range is FW_ERR_INVALID_ARGUMENT naming the entry. The export's "fwmerge.recipe" lists them.
   * NULL / 0 (default): none. */
  const fw_merge_override *overrides;
  size_t n_overrides;
  /* v6 (0.3.5), fw_merge: symbolic links out of the base's and the members' folders (and out of
   * the base folder's config and tokenizer files copied into a Hugging Face folder output), as
   * fw_params.allow_outside_links. Default 0: refused. */
  int32_t allow_outside_links;
  /* v7 (0.3.6), fw_merge: as fw_params.fill_missing_from_base, for the members of this merge
   * (fw_solver_set_start_merge and FW merge functions use the solver's pool, opened with the
   * solver's setting). Default 0: a member lacking a floating-point tensor of the base is
   * FW_ERR_NAME_MISMATCH. */
  int32_t reserved_v7; /* padding that keeps v6's size distinct; ignored */
  int32_t fill_missing_from_base;
  /* v8 (0.5.0): the parameters of the methods added in 0.5.0, mergekit's names and defaults
   * (fw_merge_params_init gives each method its own); other methods ignore them. Checked per
   * tensor, after overrides: a value out of range is FW_ERR_INVALID_ARGUMENT naming it. */
  double t;               /* SLERP: the point on the arc, base 0 to member 1, finite (default
                             0.5). NEARSWAP: the distance scale (default 1e-4). FW_MERGE_FIELD_T */
  double epsilon;         /* DELLA(_LINEAR): keep probabilities spread density +- epsilon over the
                             ranks (default 0.15, >= 0; density - epsilon > 0 and density + epsilon
                             < 1 when 0 < density < 1). RAM(PLUS_TL): the magnitude from which an
                             entry counts as changed (default 1e-5, >= 0; RAMPLUS_TL > 0) */
  const double *epsilons; /* DELLA(_LINEAR): n per-member epsilons or NULL (epsilon for all).
                             Read during the call only */
  double eps;             /* MULTISLERP: added to the norms it divides by (default 1e-8, > 0) */
  double tol;             /* KARCHER: convergence threshold (default 1e-5, >= 0) */
  double select_topk;     /* SCE: fraction of the varying entries kept, in [0, 1] (default 1).
                             ISO_CTS: the common subspace's fraction of the rank (the authors'
                             common_space_fraction), in [0, 1] (default 0.8) */
  double ram_r;           /* RAMPLUS_TL: r (default 0.1) */
  double ram_alpha;       /* RAMPLUS_TL: alpha, >= 0 (default 0.2) */
  double scale;     /* PASSTHROUGH: the member's multiplier (default 1). FW_MERGE_FIELD_SCALE */
  int32_t max_iter; /* KARCHER: iterations, >= 0 (default 10) */
  int32_t rescale;  /* DELLA(_LINEAR): nonzero (default): survivors / keep probability */
  int32_t nuslerp_flatten;  /* NUSLERP: nonzero (default): one angle per tensor */
  int32_t nuslerp_row_wise; /* NUSLERP, not flattened: nonzero: per column (dim 0); 0: per row */
} fw_merge_params;

/* Defaults per method (the unused fields are neutral: density 1, drop_rate 0, beta 0):
 *  LINEAR: normalize 1.               TASK_ARITHMETIC: scaling 0.3, normalize 0.
 *  TIES: density 0.2, scaling 1, normalize 1.
 *  DARE_LINEAR / DARE_TIES: drop_rate 0.9, scaling 1, normalize 0.
 *  BREADCRUMBS / BREADCRUMBS_TIES: density 0.9, beta 0.01, scaling 1, normalize 0.
 *  MODEL_STOCK: nothing to set.
 *  SLERP: t 0.5. NEARSWAP: t 1e-4. MULTISLERP: normalize 1, eps 1e-8. NUSLERP: nuslerp_flatten 1.
 *  KARCHER: max_iter 10, tol 1e-5. PASSTHROUGH: scale 1. DELLA: epsilon 0.15, rescale 1,
 *  normalize 1, scaling 1. DELLA_LINEAR: the same with normalize 0. SCE: select_topk 1.
 *  RAM / RAMPLUS_TL: epsilon 1e-5 (RAMPLUS_TL: ram_r 0.1, ram_alpha 0.2).
 *  TSV_M / ISO_C: scaling 1. ISO_CTS: scaling 1, select_topk 0.8.
 * An unknown method gives the LINEAR defaults with that method set (fw_merge then rejects it);
 * fw_merge_params_init then also returns FW_ERR_INVALID_ARGUMENT. */
/* The defaults for `method` (above) into *params (see "Versioned structs" above; 0.5.0). */
FW_API fw_status fw_merge_params_init(fw_merge_params *params, fw_merge_method method,
                                      size_t struct_size);

#ifndef FWMERGE_FROZEN_DEFAULTS
static inline fw_merge_params fw_default_merge_params(fw_merge_method method) {
  fw_merge_params value;
  (void)fw_merge_params_init(&value, method, sizeof value);
  return value;
}
#endif

/* Data-free merge of the n pool members (files, sharded folders or PEFT LoRA adapter folders of the
 * base) against the base, exported like fw_solver_export: opts->dtype (default: each tensor's base
 * dtype), one file or shards, atomically, "format": "pt" and "fwmerge.recipe" (JSON: method,
 * parameters, base, pool) in __metadata__. opts may be NULL. Errors: FW_ERR_INVALID_ARGUMENT for a
 * NULL path, n == 0, an unknown method, density outside (0, 1], drop_rate outside [0, 1), beta
 * outside [0, 1), non-finite scaling or weights, weights on MODEL_STOCK, n < 2 for MODEL_STOCK,
 * normalize with weights summing to 0, densities on a method without a density or outside (0, 1],
 * betas other than on breadcrumbs or outside [0, 1); the pool checks of fw_solver_pool_add
 * (FW_ERR_NAME/SHAPE/DTYPE_MISMATCH, FW_ERR_UNSUPPORTED, ...). Nothing is written on error. */
FW_API fw_status fw_merge(const fw_merge_params *params, const char *base_path,
                          const char *const *pool_paths, size_t n, const char *out_path,
                          const fw_export_options *opts);

/* The FW step's merge function (default: the convex combination theta + sum_j delta_j, where
 * delta_j = lambda_j (s_j - theta) are the step's scaled directions). params == NULL or
 * FW_MERGE_METHOD_LINEAR restores the default. Otherwise, per tensor:
 *  - TIES: theta + scaling * TIES(delta_1..delta_k) (trim to density, elect sign, disjoint mean, or
 *    sum when normalize is 0). With one direction (hard LMO) this is theta + scaling *
 *    trim(gamma (s - theta)): the authors' TIES of [merged, (selected - merged) x step].
 *  - DARE_LINEAR / DARE_TIES: the DARE drop on each delta_j (seeded by the solver's seed, the
 *    iteration and the tensor), then the scaled sum / TIES' election and merge.
 *  - BREADCRUMBS / BREADCRUMBS_TIES: the breadcrumbs masks, then the scaled sum / TIES.
 *  - TASK_ARITHMETIC: theta + scaling * sum_j delta_j.
 * MODEL_STOCK is not a step merge function (FW_ERR_UNSUPPORTED); weights must be NULL. These leave
 * the hull (fw_step_info.leaves_hull, and the export's recipe says so). Allowed before the first
 * step only (FW_ERR_STATE). */
FW_API fw_status fw_solver_set_merge_function(fw_solver *solver, const fw_merge_params *params);

/* Start point theta_0 = a data-free merge of the solver's pool against its base (e.g. task
 * arithmetic, as in the paper's language experiments). The merged tensors are kept in memory (one
 * model, fp32) and become an extra vertex (index -1). Same rules as fw_solver_set_start_file. */
FW_API fw_status fw_solver_set_start_merge(fw_solver *solver, const fw_merge_params *params);

/* ---- Built-in LibTorch objective ---- */

/* Instead of a host callback, the library can evaluate the objective itself: a TorchScript module
 * (torch.jit.script(...).save(path), or torch::jit::Module::save) run on calibration tensors from a
 * .safetensors file. At each evaluation the point's tensors are written into the module's
 * parameters (no copies), every term runs one of the module's methods on its inputs, and the loss
 * is sum_i weight_i * term_i / sum_i weight_i, with
 *   term_i = mean cross-entropy of the logits against the labels, when labels is set;
 *   term_i = mean prediction entropy -sum_c p_c log p_c (no labels: the AdaMerging setting).
 * Several terms give a multi-task objective (e.g. one method per task head). Gradients come from
 * LibTorch autograd; module parameters that are not mapped stay frozen. */
typedef struct fw_objective_term {
  const char
      *method; /* module method taking the inputs, returning logits [N, C]; NULL = "forward" */
  const char *inputs; /* calibration tensor name: inputs [N, ...], F32/F16/BF16 */
  const char *labels; /* calibration tensor name: labels [N], I64/I32/U8, values in [0, C); NULL:
                         prediction entropy */
  double weight;      /* finite, > 0 */
} fw_objective_term;

/* An input struct (see Versioned structs above); start from fw_default_torchscript_objective(). */
typedef struct fw_torchscript_objective {
  uint32_t struct_size;         /* sizeof(fw_torchscript_objective), set by the default function */
  const char *module_path;      /* TorchScript file */
  const char *calibration_path; /* .safetensors holding the terms' inputs and labels */
  const char *const *param_map; /* 2 * n_param_map strings: (module parameter name with dots,
                                   base tensor name), ...; NULL: every module parameter whose name
                                   is a base tensor name */
  size_t n_param_map;
  const fw_objective_term *terms; /* n_terms >= 1 */
  size_t n_terms;
} fw_torchscript_objective;

/* The defaults (all pointers NULL, counts 0) into *objective (see "Versioned structs" above;
 * 0.5.0). */
FW_API fw_status fw_torchscript_objective_init(fw_torchscript_objective *objective,
                                               size_t struct_size);

#ifndef FWMERGE_FROZEN_DEFAULTS
static inline fw_torchscript_objective fw_default_torchscript_objective(void) {
  fw_torchscript_objective value;
  (void)fw_torchscript_objective_init(&value, sizeof value);
  return value;
}
#endif

/* Loads the module and the calibration tensors and checks them against the base (call
 * fw_solver_set_base first): mapped names exist on both sides and shapes agree. Replaces any
 * objective set before (callback included); everything the struct points to is read during the call
 * only. Errors: FW_ERR_INVALID_ARGUMENT (NULL or unknown method/parameter/calibration tensor, no
 * terms, bad weight), FW_ERR_STATE (no base, or an ask/tell step pending), FW_ERR_IO (missing
 * file), FW_ERR_FORMAT (unreadable module "[torchscript]", malformed calibration file),
 * FW_ERR_NAME_MISMATCH (a mapped base name that does not exist, or no parameter matches by name),
 * FW_ERR_SHAPE_MISMATCH (parameter vs base tensor, labels vs inputs), FW_ERR_UNSUPPORTED (dtypes).
 * During steps, a method returning something other than [N, C] logits fails the step with
 * FW_ERR_SHAPE_MISMATCH. Like callbacks, evaluations run on the thread calling fw_solver_step /
 * fw_solver_run; the ask/tell functions do not use it. */
FW_API fw_status fw_solver_set_objective_torchscript(fw_solver *solver,
                                                     const fw_torchscript_objective *objective);

/* ---------------------------------------------------------------------------------------------- */
/* Process-wide settings */
/* ---------------------------------------------------------------------------------------------- */
/* These change state shared by everything in the process, the host's own LibTorch or malloc use
 * included; the library never calls them by itself. Call them once, early, from one thread. */

/* LibTorch's intra-op thread count (at::set_num_threads), n >= 1. It sets LibTorch's pool for the
 * process and, in OpenMP builds (Debian's libtorch), the calling thread's OpenMP team size. */
FW_API fw_status fw_set_torch_threads(int32_t n);

/* glibc's M_MMAP_THRESHOLD (mallopt): allocations of at least `bytes` get their own mapping and go
 * back to the OS when freed. Without it glibc raises the threshold as large blocks are freed, and
 * tensor-sized buffers then come from the heap, whose high-water mark depends on allocation order
 * and grows with the pool size; with 1 MiB (1048576, recommended for large merges) peak RSS is
 * flat in the pool size (figures: CHANGELOG.md, 0.2.1). bytes must be at most
 * 32 MiB (glibc's cap on 64-bit). FW_ERR_UNSUPPORTED where the C library is not glibc or another
 * allocator (a sanitizer's, jemalloc) has replaced malloc. */
FW_API fw_status fw_set_malloc_mmap_threshold(uint64_t bytes);

#if defined(FWMERGE_EXPERIMENTAL)

/* ---------------------------------------------------------------------------------------------- */
/* Experimental: tensor-sharded solving across ranks (0.3.4) */
/* ---------------------------------------------------------------------------------------------- */
/* Compiled only with FWMERGE_EXPERIMENTAL defined (see the conventions at the top): not under the
 * stability promise, names and layout may change in any minor release. The bindings do not wrap
 * it yet. fw_export_options.rank_shards belongs to it too, but stays in that struct whatever the
 * macro says, since a struct's layout cannot depend on it.
 *
 * W processes (ranks) run the same merge, each on its own fw_solver with the same params, base,
 * pool, start point, merge function and number of objective terms; each holds only its shard of
 * the merged tensors. The shard rule is deterministic and depends only on the filtered base's
 * tensor list (names, shapes, dtypes) and W: the tensors in order of decreasing bytes (ties by
 * position in the base) go one by one to the rank holding the fewest bytes so far (ties to the
 * lower rank). A rank streams only its tensors of every pool member, keeps only their theta, and
 * its objective views, fw_solver_current and step views cover only them (their names tell the host
 * which tensors it holds).
 *
 * Each step exchanges a few doubles per tensor and vertex over LibTorch's c10d (Gloo, CPU): every
 * rank's per-tensor LMO inner products, soft FW's per-tensor lambda gradients, each rank's loss
 * and its status. Every value is computed by one rank only and the sums are then formed in tensor
 * order on every rank, so all ranks take the same decisions bit for bit, equal to one process
 * running the same merge (with FW_DIST_LOSS_SUM, a single-process objective that adds the ranks'
 * parts in rank order sees the same losses: the tests check the iterates byte for byte).
 *
 * A rank whose step fails (callback error, non-finite value, interrupt) fails it on every rank:
 * the others report the same status with "[dist] rank R failed ...". A rank that dies or stops
 * answering makes the others fail with FW_ERR_IO "[dist] ..." within timeout_ms. The step is
 * transactional on every rank. fw_solver_export, called by every rank, writes a folder of one shard
 * per rank (model-0000{r+1}-of-0000W.safetensors, by rank r) and the index (by rank 0, once every
 * shard is in place; a rank that fails leaves no index and no shard anywhere): byte for byte the
 * single-process export with fw_export_options.rank_shards = W. FW_ERR_UNSUPPORTED on a sharded
 * solver in this version: fw_solver_state_save / fw_solver_state_load, the built-in TorchScript
 * objective (it needs the whole model) and a DARE start merge (its masks are keyed by position in
 * the shard). */

typedef enum fw_dist_loss {
  FW_DIST_LOSS_SHARED = 0, /* every rank's objective returns the whole model's loss (a host whose
                              framework already reduced it); all ranks use rank 0's value */
  FW_DIST_LOSS_SUM = 1     /* each rank returns its shard's part of the loss (a separable
                              objective); the parts are added in rank order */
} fw_dist_loss;

/* An input struct (see Versioned structs above); start from fw_default_dist_params(). */
typedef struct fw_dist_params {
  uint32_t struct_size;   /* sizeof(fw_dist_params), set by fw_default_dist_params() */
  int32_t rank;           /* 0 <= rank < world_size. Default 0 */
  int32_t world_size;     /* >= 1, at most the number of merged tensors. Default 1 */
  const char *rendezvous; /* "tcp://HOST:PORT": rank 0 listens there, on HOST's address only
                             (fwmerge's own store, not c10d's TCPStore), the others connect;
                             "file://PATH": a c10d FileStore on a path every rank can reach (a new
                             file for every run). Copied during the call. Required */
  int64_t timeout_ms;     /* rendezvous and every collective, > 0. Default 60000 */
  fw_dist_loss loss;      /* default FW_DIST_LOSS_SHARED */
  /* v2 (0.3.6) */
  const char *secret; /* The job's shared secret for a tcp:// rendezvous (docs/distributed.md):
                         each rank proves it to rank 0's store, and the store to each rank, by an
                         HMAC-SHA256 challenge-response; it never crosses the network. Copied
                         during the call. NULL (the default): the environment variable
                         FWMERGE_DIST_SECRET. "" (or NULL and the variable unset or empty): no
                         secret; the store, still bound to HOST alone, then admits any client
                         that speaks its protocol, so the network must be trusted. A rank whose
                         secret is not the job's fails with FW_ERR_IO "... refused
                         authentication" and never counts as a member. Gloo's own connections
                         between the ranks are not authenticated or encrypted either way: run on
                         a private network. Not used by file:// */
} fw_dist_params;

/* The defaults into *params (see "Versioned structs" above; 0.5.0). */
FW_API fw_status fw_dist_params_init(fw_dist_params *params, size_t struct_size);

#ifndef FWMERGE_FROZEN_DEFAULTS
static inline fw_dist_params fw_default_dist_params(void) {
  fw_dist_params value;
  (void)fw_dist_params_init(&value, sizeof value);
  return value;
}
#endif

/* Joins the group: blocks until all world_size ranks have joined (or timeout_ms has passed). Call
 * it before fw_solver_set_base, once per solver. world_size 1 is a plain solver. Errors:
 * FW_ERR_INVALID_ARGUMENT (rank, world_size, timeout or rendezvous malformed), FW_ERR_STATE (base
 * already set, or already joined), FW_ERR_IO (the rendezvous failed or timed out, or refused this
 * rank's secret: the message names the address), FW_ERR_UNSUPPORTED (a LibTorch without Gloo).
 * fw_solver_set_base then fails with FW_ERR_INVALID_ARGUMENT when there are fewer merged tensors
 * than ranks. */
FW_API fw_status fw_solver_set_distributed(fw_solver *solver, const fw_dist_params *dist);

#endif /* FWMERGE_EXPERIMENTAL */

/* ---------------------------------------------------------------------------------------------- */
/* Deprecated names */
/* ---------------------------------------------------------------------------------------------- */
/* The 0.3 names of the functions on a solver, before they took the fw_solver_ prefix: the same
 * functions (exported thin wrappers, so that binaries built against 0.3 keep loading), warning at
 * compile time unless FW_DISABLE_DEPRECATE_WARNINGS is defined. Hidden from SWIG: the bindings
 * wrap the current names only. */
#if !defined(SWIG)
FW_DEPRECATED("use fw_solver_set_base")
FW_API fw_status fw_set_base(fw_solver *solver, const char *path);
FW_DEPRECATED("use fw_solver_pool_add")
FW_API fw_status fw_pool_add(fw_solver *solver, const char *path, int32_t *index_out);
FW_DEPRECATED("use fw_solver_pool_size") FW_API size_t fw_pool_size(const fw_solver *solver);
FW_DEPRECATED("use fw_solver_set_start_member")
FW_API fw_status fw_set_start_member(fw_solver *solver, int32_t pool_index);
FW_DEPRECATED("use fw_solver_set_start_file")
FW_API fw_status fw_set_start_file(fw_solver *solver, const char *path);
FW_DEPRECATED("use fw_solver_set_objective_callback")
FW_API fw_status fw_set_objective_callback(fw_solver *solver, fw_objective_fn fn, void *user_data);
FW_DEPRECATED("use fw_solver_set_objective_terms_callback")
FW_API fw_status fw_set_objective_terms_callback(fw_solver *solver, fw_objective_terms_fn fn,
                                                 int32_t n_terms, void *user_data);
FW_DEPRECATED("use fw_solver_step") FW_API fw_status fw_step(fw_solver *solver, fw_step_info *info);
FW_DEPRECATED("use fw_solver_run") FW_API fw_status fw_run(fw_solver *solver, fw_step_info *last);
FW_DEPRECATED("use fw_solver_history_size") FW_API int32_t fw_history_size(const fw_solver *solver);
FW_DEPRECATED("use fw_solver_history_get")
FW_API fw_status fw_history_get(const fw_solver *solver, int32_t i, fw_step_info *info);
FW_DEPRECATED("use fw_solver_block_name")
FW_API const char *fw_block_name(const fw_solver *solver, int32_t block);
FW_DEPRECATED("use fw_solver_set_ask_tell_terms")
FW_API fw_status fw_set_ask_tell_terms(fw_solver *solver, int32_t n_terms);
FW_DEPRECATED("use fw_solver_step_begin") FW_API fw_status fw_step_begin(fw_solver *solver);
FW_DEPRECATED("use fw_solver_step_ask")
FW_API fw_status fw_step_ask(fw_solver *solver, fw_request *request);
FW_DEPRECATED("use fw_solver_step_tell")
FW_API fw_status fw_step_tell(fw_solver *solver, fw_status host_status, double loss);
FW_DEPRECATED("use fw_solver_step_finish")
FW_API fw_status fw_step_finish(fw_solver *solver, fw_step_info *info);
FW_DEPRECATED("use fw_solver_step_cancel") FW_API fw_status fw_step_cancel(fw_solver *solver);
FW_DEPRECATED("use fw_solver_current")
FW_API fw_status fw_current(const fw_solver *solver, const fw_tensor **tensors, size_t *n);
FW_DEPRECATED("use fw_solver_set_progress_callback")
FW_API fw_status fw_set_progress_callback(fw_solver *solver, fw_progress_fn fn, void *user_data);
FW_DEPRECATED("use fw_solver_set_log_callback")
FW_API fw_status fw_set_log_callback(fw_solver *solver, fw_log_fn fn, void *user_data);
FW_DEPRECATED("use fw_solver_set_abort_callback")
FW_API fw_status fw_set_abort_callback(fw_solver *solver, fw_abort_fn fn, void *user_data);
FW_DEPRECATED("use fw_solver_state_save")
FW_API fw_status fw_state_save(fw_solver *solver, const char *path);
FW_DEPRECATED("use fw_solver_state_load")
FW_API fw_status fw_state_load(fw_solver *solver, const char *path);
FW_DEPRECATED("use fw_solver_export")
FW_API fw_status fw_export(fw_solver *solver, const char *path, const fw_export_options *opts);
FW_DEPRECATED("use fw_solver_set_merge_function")
FW_API fw_status fw_set_merge_function(fw_solver *solver, const fw_merge_params *params);
FW_DEPRECATED("use fw_solver_set_start_merge")
FW_API fw_status fw_set_start_merge(fw_solver *solver, const fw_merge_params *params);
FW_DEPRECATED("use fw_solver_set_objective_torchscript")
FW_API fw_status fw_set_objective_torchscript(fw_solver *solver,
                                              const fw_torchscript_objective *objective);
#endif /* !SWIG */

#ifdef __cplusplus
}
#endif

#endif /* FWMERGE_H */
