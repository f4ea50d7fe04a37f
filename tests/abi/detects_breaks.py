#!/usr/bin/env python3
"""Proves that the ABI check can fail (CTest abi_check_detects_breaks).

Each case edits a copy of the baseline release's header (tests/abi/fwmerge-X.Y.Z.h, committed
beside its fwmerge-X.Y.Z.abi, so that the cases do not follow every edit of include/fwmerge.h) in
one way, builds a stand-in library from it
(stub_library.sh: every declared function as a stub, compiled like lib/capi) and runs check.py
against the committed baseline. The changes docs/abi.md forbids must be reported as breaks, the
ones it allows must pass, and so must the unedited header (else the stand-in itself would differ).
The baseline is the same file abi_check uses, so this also tests policy.abignore as committed.

    detects_breaks.py [-k NAME]    exit 0 when every case ends as expected; 77 without abidw
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
# The header of the release the baseline was written from (the newest fwmerge-X.Y.Z.abi): the cases
# below are anchored in its text, and its unedited stand-in must match that baseline. A new
# baseline at a release brings its header, and these anchors move to it.
BASELINE = sorted(glob.glob(os.path.join(HERE, "fwmerge-*.abi")),
                  key=lambda p: [int(x) for x in os.path.basename(p)[8:-4].split(".")])[-1]
HEADER = BASELINE[:-len(".abi")] + ".h"

# The fw_params fields around its v7 padding, and fw_tensor's end: anchors the edits below rely on.
V7_TAIL = ("  int32_t reserved_v7; /* padding that keeps v6's size distinct; ignored */\n"
           "  int32_t fill_missing_from_base;\n} fw_params;")
TENSOR_END = "  uint64_t reserved[4];  /* zero */\n} fw_tensor;"
STEP_INFO_END = ("  int32_t leaves_hull;   /* 1 when the merge function may leave the convex hull */\n"
                 "} fw_step_info;")

# (name, is a break, [(text, replacement), ...]): each text must occur exactly once.
CASES = [
    ("unchanged", False, []),
    # ---- forbidden ----
    ("versioned struct: field inserted in the middle", True,
     [("  fw_lmo lmo;                 /* default FW_LMO_HARD */",
       "  int32_t inserted;\n  fw_lmo lmo;")]),
    ("versioned struct: fields swapped (offsets moved)", True,
     [("  int32_t top_k;              /* soft LMO: vertices per block, >= 1. Default 2 */\n"
       "  fw_step_rule step_rule;     /* hard LMO step. Default FW_STEP_LINE_SEARCH */",
       "  fw_step_rule step_rule;\n  int32_t top_k;")]),
    ("versioned struct: field moved to the end", True,
     [("  int32_t block_depth;        /* layer-wise blocks:", "  /*"),
      (V7_TAIL, V7_TAIL.replace("} fw_params;", "  int32_t block_depth;\n} fw_params;"))]),
    ("versioned struct: field type changed (int32 -> int64)", True,
     [("  int32_t max_iters;           /* fw_run budget T. Default 10 */",
       "  int64_t max_iters;")]),
    ("versioned struct: field removed", True,
     [("  int64_t max_evaluations;\n", "")]),
    ("versioned struct returned by value (fw_default_params) grown at the end", True,
     [(V7_TAIL, V7_TAIL.replace(
         "} fw_params;", "  int32_t reserved_v8;\n  int32_t new_option;\n} fw_params;"))]),
    ("versioned struct grown at the end while a callback type takes it by value", True,
     [(STEP_INFO_END, STEP_INFO_END.replace(
         "} fw_step_info;", "  int32_t reserved_v2;\n  double new_value;\n} fw_step_info;\n"
         "typedef void (*fw_new_fn)(fw_step_info info);\nFW_API void fw_solver_set_new(fw_new_fn f);"))]),
    ("versioned struct grown at the end, and a field of it moved", True,
     [(STEP_INFO_END, STEP_INFO_END.replace("} fw_step_info;", "  int32_t new_count;\n} fw_step_info;")),
      ("  int32_t converged;     /* 1: gap <= epsilon, theta unchanged, nothing more to do */\n"
       "  int32_t evaluations;   /* objective evaluations spent in this step */",
       "  int32_t evaluations;\n  int32_t converged;")]),
    ("versioned struct: field appended into the old tail padding (no reserved word)", True,
     [(STEP_INFO_END, STEP_INFO_END.replace(
         "} fw_step_info;", "  int32_t new_count;\n  double new_value;\n} fw_step_info;"))]),
    ("fixed-layout struct (fw_tensor, array element) grown at the end", True,
     [(TENSOR_END, "  uint64_t reserved[4];\n  uint64_t extra;\n} fw_tensor;")]),
    ("function removed", True,
     [("FW_API int32_t fw_history_size(const fw_solver *solver);\n", "")]),
    ("function parameter type changed", True,
     [("FW_API fw_status fw_set_torch_threads(int32_t n);",
       "FW_API fw_status fw_set_torch_threads(int64_t n);")]),
    ("function parameter added", True,
     [("FW_API fw_status fw_step_cancel(fw_solver *solver);",
       "FW_API fw_status fw_step_cancel(fw_solver *solver, int32_t how);")]),
    ("function return type changed", True,
     [("FW_API size_t fw_pool_size(const fw_solver *solver);",
       "FW_API int32_t fw_pool_size(const fw_solver *solver);")]),
    ("enumerator value changed", True,
     [("  FW_ERR_IO = -2, ", "  FW_ERR_IO = -20, ")]),
    ("enumerators renumbered", True,
     [("  FW_LMO_HARD = 0, ", "  FW_LMO_HARD = 1, "), ("  FW_LMO_SOFT = 1 ", "  FW_LMO_SOFT = 0 ")]),
    # Same values, so harmless to a compiled client; but libabigail sees two enumerators deleted,
    # and the policy keeps old names as enumerators (the next case).
    ("enumerators renamed, the old names kept only as #defines", True,
     [("  FW_TASKWISE = 0, /* one score per checkpoint over all tensors */\n  FW_LAYERWISE = 1 ",
       "  FW_GRANULARITY_TASKWISE = 0,\n  FW_GRANULARITY_LAYERWISE = 1 "),
      ("} fw_granularity;", "} fw_granularity;\n#define FW_TASKWISE FW_GRANULARITY_TASKWISE\n"
                            "#define FW_LAYERWISE FW_GRANULARITY_LAYERWISE")]),
    ("enumerator removed", True,
     [("  FW_MERGE_BREADCRUMBS_TIES = 7", "  FW_MERGE_UNUSED_ = 6")]),
    # ---- allowed ----
    ("versioned struct passed by pointer (fw_step_info): fields appended", False,
     [(STEP_INFO_END, STEP_INFO_END.replace(
         "} fw_step_info;", "  int32_t reserved_v2;\n  double new_value;\n} fw_step_info;"))]),
    ("versioned struct: a reserved word takes a meaning (same type)", False,
     [(V7_TAIL, V7_TAIL.replace("int32_t reserved_v7;", "int32_t new_flag;   "))]),
    ("function added (fw_solver_* beside the old name)", False,
     [("FW_API void fw_solver_free(fw_solver *solver);",
       "FW_API void fw_solver_free(fw_solver *solver);\n"
       "FW_API fw_status fw_solver_add_member(fw_solver *solver, const char *path, int32_t *i);")]),
    ("enumerator added", False,
     [("  FW_MERGE_BREADCRUMBS_TIES = 7", "  FW_MERGE_BREADCRUMBS_TIES = 7,\n  FW_MERGE_NEW = 8")]),
    ("enumerator alias of an existing value", False,
     [("  FW_LAYERWISE = 1 ", "  FW_LAYERWISE = 1,\n  FW_GRANULARITY_TASKWISE = 0, "
                           "FW_GRANULARITY_LAYERWISE = 1 ")]),
    ("enumerators renamed, the old names kept as deprecated enumerators", False,
     [("  FW_TASKWISE = 0, /* one score per checkpoint over all tensors */\n  FW_LAYERWISE = 1 ",
       "  FW_GRANULARITY_TASKWISE = 0,\n  FW_GRANULARITY_LAYERWISE = 1,\n"
       "  FW_TASKWISE __attribute__((deprecated)) = 0,\n"
       "  FW_LAYERWISE __attribute__((deprecated)) = 1 ")]),
    ("new enum, new struct and a function taking them", False,
     [("FW_API void fw_solver_free(fw_solver *solver);",
       "FW_API void fw_solver_free(fw_solver *solver);\n"
       "typedef enum fw_new_kind { FW_NEW_A = 0, FW_NEW_B = 1 } fw_new_kind;\n"
       "typedef struct fw_new_options { uint32_t struct_size; fw_new_kind kind; } fw_new_options;\n"
       "FW_API fw_status fw_solver_new_ex(const fw_new_options *o, fw_solver **out);")]),
    ("version constants changed (0.4.0)", False,
     [("#define FW_VERSION_MINOR 3", "#define FW_VERSION_MINOR 4"),
      ("#define FW_VERSION_PATCH 6", "#define FW_VERSION_PATCH 0"),
      ('#define FW_VERSION_STRING "0.3.6"', '#define FW_VERSION_STRING "0.4.0"')]),
    ("an old function marked deprecated", False,
     [("FW_API fw_status fw_pool_add(",
       "__attribute__((deprecated(\"use fw_solver_add_member\"))) FW_API fw_status fw_pool_add(")]),
]


def edited_header(text, edits, name):
    for old, new in edits:
        count = text.count(old)
        if count != 1:
            sys.exit(f"detects_breaks: case '{name}': its edit matches {count} times in "
                     f"{os.path.basename(HEADER)} (a new baseline header: move the case's anchors)\n{old}")
        text = text.replace(old, new)
    return text


def main():
    only = sys.argv[sys.argv.index("-k") + 1] if "-k" in sys.argv else None
    for tool in ("abidw", "abidiff"):
        if shutil.which(tool) is None:
            print(f"detects_breaks: {tool} not found (abigail-tools): skipped")
            return 77
    with open(HEADER) as f:
        original = f.read()
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, is_break, edits) in enumerate(CASES):
            if only and only not in name:
                continue
            case_dir = os.path.join(tmp, str(i))
            os.makedirs(case_dir)
            header = os.path.join(case_dir, "fwmerge.h")
            with open(header, "w") as f:
                f.write(edited_header(original, edits, name))
            lib = os.path.join(case_dir, "libfwmerge.so")
            subprocess.run(["bash", os.path.join(HERE, "stub_library.sh"), header, lib], check=True)
            run = subprocess.run([sys.executable, os.path.join(HERE, "check.py"), lib],
                                 env=dict(os.environ, FW_ABI_HEADERS=case_dir),
                                 capture_output=True, text=True)
            if run.returncode not in (0, 1):
                failures.append(name)
                print(f"ERROR  {name}: check.py exited {run.returncode}\n{run.stdout}{run.stderr}")
                continue
            reported = run.returncode == 1
            ok = reported == is_break
            verdict = "break" if reported else "passes"
            print(f"{'ok    ' if ok else 'WRONG '} {verdict:6}  {name}")
            if not ok or os.environ.get("VERBOSE"):
                print("       " + (run.stdout + run.stderr).replace("\n", "\n       "))
            if not ok:
                failures.append(name)
    if failures:
        print(f"detects_breaks: {len(failures)} case(s) not judged as docs/abi.md says: "
              + "; ".join(failures))
        return 1
    print("detects_breaks: every forbidden change was reported, every allowed one passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
