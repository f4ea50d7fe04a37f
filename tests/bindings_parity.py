#!/usr/bin/env python3
"""Binding parity (issue 12): every FW_API function of include/fwmerge.h must be wrapped by every
binding (Go, Java, Rust, Python), and every field of every public struct must reach each binding's
API. Fails (exit 1) naming what is missing; prints two Markdown tables (C function x binding, each
cell the binding's name for the wrapper; struct field x binding, each cell the binding's name for
the field); --write also stores them in bindings/PARITY.md.

    python3 tests/bindings_parity.py            # check and print (CTest: bindings_parity)
    python3 tests/bindings_parity.py --write    # ... and regenerate bindings/PARITY.md

What counts as a wrapper (a reliable marker that the binding calls the C function by name):
 - Rust: `sys::fw_x(` in the safe crate's sources (bindings/rust/fwmerge/src/*.rs).
 - Go: `swigfw.Fw_x(` in the hand-written package sources (bindings/go/*.go, tests excluded).
 - Java: `FwNative.fw_x(` in the hand-written sources (bindings/java/src/main/java/**.java).
 - Python: `_fwmerge.fw_x` in the pure-Python layer (bindings/python/src/fwmerge/*.py).
 A call of a SWIG helper (bindings/swig/fw_*.h for Go and Java: swigfw.Solver_new,
 FwNative.merge, ...; bindings/python/ext/fwpy_support.h for Python: _fwmerge.fwpy_merge, ...)
 counts for every C function the helper's body calls, directly or through other helpers of the
 same headers. Names in comments and tests do not count.

What counts as a struct field's wrapper: every `typedef struct fw_x {...}` of the header (fields
except struct_size and reserved; a count `n_y` is folded into its array `y`, a callback's
`y_user_data` into `y`, since the bindings take lists and closures) must be named in the same
sources, in a context that names the struct (its C or SWIG type `fw_merge_params` /
`Fw_merge_params`, its default function `fw_default_merge_params` or `fw_merge_params_init`, or the binding's type
`MergeParams`): a function that names it, a type definition (struct, class, impl block, receiver)
whose header names it, or the top level of a file that names it, so that a same-named member of
another API in that file (`Solver::set_abort` next to `set_merge_function(&MergeParams)`) does not
count (see field_wrappers). Names are compared without case and
underscores, and without a leading get/set (SWIG's accessors), so `max_shard_bytes` is found as
`MaxShardBytes` (Go), `maxShardBytes` (Java), `max_shard_bytes` (Rust, Python) or
`GetMax_shard_bytes()`. This proves the name is there, not that the value is passed on: each
binding's tests check that (e.g. a filter that changes a merge's output).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = ROOT / "include" / "fwmerge.h"
OUT = ROOT / "bindings" / "PARITY.md"

# (binding, C function) -> why the binding deliberately does not wrap it. Keep this short: prefer
# wrapping.
_EXPERIMENTAL = "experimental (header's tensor-sharded section, 0.3.4): C/C++ hosts first"
EXEMPT: dict[tuple[str, str], str] = {
    (b, f): _EXPERIMENTAL
    for b in ("Go", "Java", "Rust", "Python")
    for f in ("fw_dist_params_init", "fw_solver_set_distributed")
}

# (binding, "fw_struct.field") -> why the binding does not have that field (yet). Same rule.
FIELD_EXEMPT: dict[tuple[str, str], str] = {
    ("Python", "fw_tensor.ndim"): "views are NumPy arrays: ndarray.ndim",
    ("Python", "fw_tensor.numel"): "views are NumPy arrays: ndarray.size",
    ("Python", "fw_request.n"): "the length of the params / grads dicts",
    **{(b, f): _EXPERIMENTAL
       for b in ("Go", "Java", "Rust", "Python")
       for f in ("fw_export_options.rank_shards", "fw_dist_params.rank", "fw_dist_params.world_size",
                 "fw_dist_params.rendezvous", "fw_dist_params.timeout_ms", "fw_dist_params.loss",
                 "fw_dist_params.secret")},
}

# Binding types named otherwise than the C struct: the files that name them count as naming it.
STRUCT_ALIASES = {"fw_tensor": {"views", "tensorview"}}  # Python's Views, Rust's TensorView

BINDINGS = ["Go", "Java", "Rust", "Python"]

CONTROL = {"if", "for", "while", "switch", "catch", "return", "sizeof", "defined", "static_cast"}
JAVA_STATEMENTS = CONTROL | {"new", "throw", "try", "else", "do", "synchronized", "assert"}


def strip_comments(text: str, lang: str) -> str:
    """Blanks out comments (keeping line numbers) so that names in prose do not count."""
    if lang == "python":
        return re.sub(r"#[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def c_functions() -> list[str]:
    text = strip_comments(HEADER.read_text(), "c")
    # The deprecated 0.3 aliases (FW_DEPRECATED) are the same functions under their old names: the
    # bindings wrap the current names only.
    text = re.sub(r"\bFW_DEPRECATED\(\"[^\"]*\"\)\s*FW_API[^;]*;", "", text)
    names = re.findall(r"\bFW_API\s+[^;{}()]*?\b(fw_\w+)\s*\(", text)
    seen: list[str] = []
    for n in names:
        if n not in seen:
            seen.append(n)
    return seen


def c_structs() -> dict[str, list[str]]:
    """fw_struct -> its field names in order (struct_size and reserved left out; a count n_y
    folded into its array y, a callback's y_user_data into y)."""
    text = strip_comments(HEADER.read_text(), "c")
    out: dict[str, list[str]] = {}
    for m in re.finditer(r"typedef\s+struct\s+(fw_\w+)\s*\{(.*?)\}\s*\1\s*;", text, re.S):
        names = [re.search(r"(\w+)\s*(?:\[[^\]]*\])?\s*$", stmt.strip()).group(1)
                 for stmt in m.group(2).split(";") if stmt.strip()]
        fields = []
        for n in names:
            if n == "struct_size" or n.startswith("reserved"):
                continue
            if n.startswith("n_") and n[2:] in names:
                continue
            if n.endswith("_user_data") and n[: -len("_user_data")] in names:
                continue
            fields.append(n)
        out[m.group(1)] = fields
    return out


def normalized(identifier: str) -> str:
    return identifier.replace("_", "").lower()


def helper_map(paths: list[Path]) -> dict[str, set[str]]:
    """helper function name -> the C functions its body calls (transitively, through helpers)."""
    bodies: dict[str, str] = {}
    for path in paths:
        text = strip_comments(path.read_text(), "c")
        for m in re.finditer(r"\b(\w+)\s*\([^;{}]*\)\s*(?:const\s*)?(?:noexcept\s*)?\{", text):
            name = m.group(1)
            if name in CONTROL:
                continue
            depth, i = 0, m.end() - 1
            while i < len(text):
                if text[i] == "{":
                    depth += 1
                elif text[i] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            bodies[name] = bodies.get(name, "") + text[m.end() : i]
    direct = {n: set(re.findall(r"\b(fw_\w+)\s*\(", b)) for n, b in bodies.items()}
    calls = {n: set(re.findall(r"\b(\w+)\s*\(", b)) & set(bodies) for n, b in bodies.items()}
    resolved: dict[str, set[str]] = {}
    for name in bodies:
        todo, seen, out = [name], set(), set()
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            out |= direct[n]
            todo.extend(calls[n])
        resolved[name] = out
    return resolved


class Binding:
    """One binding: its sources, how a call into the C API looks there, and how to name the
    function (or method) that makes the call."""

    def __init__(self, name, files, lang, pattern, to_c, helpers):
        self.name, self.files, self.lang = name, files, lang
        self.pattern, self.to_c, self.helpers = re.compile(pattern), to_c, helpers

    def wrappers(self, functions: list[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {f: [] for f in functions}
        for path in self.files:
            lines = strip_comments(path.read_text(), self.lang).split("\n")
            for lineno, line in enumerate(lines):
                for m in self.pattern.finditer(line):
                    called = self.to_c(m.group(1))
                    targets = {called} if called.startswith("fw_") else set()
                    targets |= self.helpers.get(called, set())
                    for c in targets:
                        if c in found:
                            where = self.enclosing(path, lines, lineno)
                            if where not in found[c]:
                                found[c].append(where)
        return found

    def enclosing(self, path: Path, lines: list[str], lineno: int) -> str:
        if self.lang == "go":
            for line in reversed(lines[: lineno + 1]):
                m = re.match(r"func\s+(?:\(\w+\s+\*?(\w+)\)\s+)?(\w+)", line)
                if m:
                    return f"{m.group(1)}.{m.group(2)}" if m.group(1) else m.group(2)
        elif self.lang == "java":
            cls = path.stem
            for line in reversed(lines[: lineno + 1]):
                m = re.match(r"\s+(?:public|protected|private)?\s*([A-Z]\w*)\s*\([^;]*\)\s*\{", line)
                if m and m.group(1) == cls:
                    return f"new {cls}"
                m = re.match(
                    r"\s+(?:(?:public|protected|private|static|final|synchronized)\s+)*"
                    r"(?:<[^>]+>\s+)?([A-Za-z_][\w.<>\[\],?]*(?:\s*\[\])*)\s+(\w+)\s*\(", line)
                if m and m.group(1) not in JAVA_STATEMENTS and m.group(2) not in JAVA_STATEMENTS \
                        and "=" not in line.split("(")[0]:
                    return f"{cls}.{m.group(2)}"
            return cls
        elif self.lang == "rust":
            fn = None
            for line in reversed(lines[: lineno + 1]):
                if fn is None:
                    m = re.match(r"\s*(?:pub(?:\([^)]*\))?\s+)?(?:unsafe\s+)?(?:extern\s+\"C\"\s+)?fn\s+(\w+)", line)
                    if m:
                        fn = m.group(1)
                        if not line.startswith((" ", "\t")):
                            return fn
                        continue
                else:
                    m = re.match(r"impl(?:<[^>]*>)?\s+(?:[\w:]+\s+for\s+)?(\w+)", line)
                    if m:
                        return f"{m.group(1)}::{fn}"
            return fn or path.stem
        elif self.lang == "python":
            fn, indent = None, None
            for line in reversed(lines[: lineno + 1]):
                m = re.match(r"(\s*)def\s+(\w+)", line)
                if m and fn is None:
                    fn, indent = m.group(2), len(m.group(1))
                    if indent == 0:
                        return fn
                    continue
                m = re.match(r"(\s*)class\s+(\w+)", line)
                if m and fn is not None and len(m.group(1)) < indent:
                    return f"{m.group(2)}.{fn}"
            return fn or path.stem
        return path.stem


FN_HEADER = {
    "rust": re.compile(r"\bfn\s+\w+"),
    "go": re.compile(r"\bfunc\b"),
    "java": re.compile(r"\b\w+\s*\([^()]*\)\s*(?:throws\s+[\w.,\s]+)?$"),
}
TYPE_HEADER = re.compile(r"\b(?:struct|enum|impl|class|interface|record|trait|type)\b")


def units(text: str, lang: str) -> list[tuple[int, int, str, bool]]:
    """The functions and type definitions of a (comment-stripped) source: (start, end, header,
    is_function), start/end the span of the whole unit, header its text up to the body."""
    out = []
    if lang == "python":
        lines = text.split("\n")
        offsets = [0]
        for line in lines:
            offsets.append(offsets[-1] + len(line) + 1)
        for i, line in enumerate(lines):
            m = re.match(r"(\s*)(def|class)\s+\w+", line)
            if not m:
                continue
            indent, j = len(m.group(1)), i + 1
            while j < len(lines) and (not lines[j].strip() or
                                      len(lines[j]) - len(lines[j].lstrip()) > indent):
                j += 1
            header_end = i
            while header_end < j and not lines[header_end].rstrip().endswith(":"):
                header_end += 1
            out.append((offsets[i], offsets[j], "\n".join(lines[i:header_end + 1]),
                        m.group(2) == "def"))
        return out
    for m in re.finditer(r"\{", text):
        start = max(text.rfind(c, 0, m.start()) for c in ";{}") + 1
        header = text[start:m.start()].strip()
        is_fn = bool(FN_HEADER[lang].search(header)) and "->" not in header.split("(")[0] \
            and not re.match(r"(?:if|for|while|switch|catch|synchronized|try|match|else)\b", header)
        if not is_fn and not TYPE_HEADER.search(header):
            continue
        depth, i = 0, m.start()
        while i < len(text):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        out.append((start, i + 1, header, is_fn))
    return out


def field_wrappers(binding: "Binding", structs: dict[str, list[str]]) -> dict[tuple[str, str], str]:
    """(struct, field) -> the binding's spelling of the field (one name), for the fields found.

    A mention counts for a struct in context only: inside a function that names the struct
    (anywhere in its header or body: the function that builds it, or one that takes it and passes
    the field on, as merge(params, ..., abort) does), or inside a type definition whose header names
    it (the binding's struct or class, its impl block or methods), or at a file's top level when
    the file names it. So `Solver::set_abort` does not count as fw_merge_params.abort because
    solver.rs also takes a MergeParams elsewhere. Blind spot left: a field name used for something
    else inside a unit that also names the struct."""
    ident = re.compile(r"\b[A-Za-z_]\w*\b")
    found: dict[tuple[str, str], str] = {}
    for path in binding.files:
        text = strip_comments(path.read_text(), binding.lang)
        file_units = units(text, binding.lang)
        idents = [(m.start(), m.group(0)) for m in ident.finditer(text)]
        for struct, fields in structs.items():
            stem = normalized(struct[len("fw_"):])
            # The C type (fw_params, SWIG's Fw_params), its default function, or the binding's
            # type (Params: capitalized, so that a variable `params` does not count).
            names_struct = {"fw" + stem, "fwdefault" + stem}
            types = {stem} | STRUCT_ALIASES.get(struct, set())

            def names(chunk: str) -> bool:
                return any(normalized(i) in names_struct or (i[0].isupper() and normalized(i) in types)
                           for i in ident.findall(chunk))

            if not names(text):
                continue
            naming = [names(text[a:b]) for a, b, _, _ in file_units]
            header_naming = [names(h) for _, _, h, _ in file_units]

            def in_context(pos: int) -> bool:
                around = [k for k, (a, b, _, _) in enumerate(file_units) if a <= pos < b]
                if not around:
                    return True  # top level of a file that names the struct
                if any(header_naming[k] for k in around):
                    return True
                fns = [k for k in around if file_units[k][3]]
                if fns:
                    inner = max(fns, key=lambda k: file_units[k][0])
                    return naming[inner]
                return False

            for f in fields:
                if (struct, f) in found:
                    continue
                want = normalized(f)
                exact = [i for p, i in idents if normalized(i) == want and in_context(p)]
                accessor = [i for p, i in idents
                            if re.sub(r"^(get|set)", "", normalized(i)) == want and in_context(p)]
                if exact or accessor:
                    found[(struct, f)] = (exact or accessor)[0]
    return found


def public_first(names: list[str]) -> list[str]:
    def private(n: str) -> bool:
        last = re.split(r"[.:]+", n)[-1]
        return last.startswith("_") or (last[:1].islower() and "." in n and n[0].isupper() and False)

    return sorted(names, key=lambda n: (private(n), names.index(n)))


def bindings() -> list[Binding]:
    # The header's own inlines (fw_default_X over fw_X_init, 0.5.0): a binding that calls one calls
    # the function it wraps. The Rust -sys crate defines the same functions (fwmerge-sys/src/lib.rs).
    inlines = helper_map([HEADER])
    def with_inlines(helpers: dict[str, set[str]]) -> dict[str, set[str]]:
        out = {n: calls | set().union(*(inlines.get(c, set()) for c in calls))
               for n, calls in helpers.items()}
        return {**inlines, **out}

    swig_helpers = with_inlines(helper_map(sorted((ROOT / "bindings" / "swig").glob("fw_*.h"))))
    py_helpers = with_inlines(helper_map([ROOT / "bindings" / "python" / "ext" / "fwpy_support.h"]))
    go_files = sorted(p for p in (ROOT / "bindings" / "go").glob("*.go") if not p.name.endswith("_test.go"))
    java_files = sorted((ROOT / "bindings" / "java" / "src" / "main" / "java").rglob("*.java"))
    return [
        # References, not only calls: Go and Java also pass C functions as values
        # (stepWith(swigfw.Fw_solver_step), FwNative::fw_solver_run).
        Binding("Go", go_files, "go", r"\bswigfw\.(\w+)\b",
                lambda n: n[:1].lower() + n[1:], swig_helpers),
        Binding("Java", java_files, "java", r"\bFwNative(?:\.|::)(\w+)\b", lambda n: n, swig_helpers),
        Binding("Rust", sorted((ROOT / "bindings" / "rust" / "fwmerge" / "src").glob("*.rs")), "rust",
                r"\bsys::(fw_\w+)\s*\(", lambda n: n, inlines),
        Binding("Python", sorted((ROOT / "bindings" / "python" / "src" / "fwmerge").glob("*.py")),
                "python", r"\b_fwmerge\.(\w+)\b", lambda n: n, py_helpers),
    ]



def table_rows(keys, cells, names, what="C function"):
    """A Markdown table: one row per key, the binding's name for it in each column."""
    rows = ["| " + what + " | " + " | ".join(names) + " |",
            "| --- | " + " | ".join("---" for _ in names) + " |"]
    for k in keys:
        rows.append(f"| `{k}` | " + " | ".join(cells.get((n, k), "") for n in names) + " |")
    return rows

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write the table to {OUT.relative_to(ROOT)}")
    args = parser.parse_args()

    functions = c_functions()
    if not functions:
        print(f"no FW_API functions found in {HEADER}", file=sys.stderr)
        return 1
    table = {}
    missing = []
    for b in bindings():
        if not b.files:
            missing.append(f"{b.name}: no sources found")
            continue
        found = b.wrappers(functions)
        for f in functions:
            names = public_first(found[f])
            if names:
                table[(b.name, f)] = ", ".join(f"`{n}`" for n in names[:3])
            elif (b.name, f) in EXEMPT:
                table[(b.name, f)] = f"exempt: {EXEMPT[(b.name, f)]}"
            else:
                table[(b.name, f)] = "**MISSING**"
                missing.append(f"{b.name}: {f}")
    stale = [k for k in EXEMPT if k[1] not in functions or not table.get(k, "").startswith("exempt")]
    for k in stale:
        missing.append(f"{k[0]}: {k[1]} is exempt but wrapped (or gone): remove it from EXEMPT")

    structs = c_structs()
    field_table = {}
    for b in bindings():
        if not b.files:
            continue
        spelled = field_wrappers(b, structs)
        for struct, fields in structs.items():
            for f in fields:
                key = (b.name, f"{struct}.{f}")
                if (struct, f) in spelled:
                    field_table[key] = f"`{spelled[(struct, f)]}`"
                elif key in FIELD_EXEMPT:
                    field_table[key] = f"exempt: {FIELD_EXEMPT[key]}"
                else:
                    field_table[key] = "**MISSING**"
                    missing.append(f"{b.name}: field {struct}.{f}")
    all_fields = [f"{s_}.{f}" for s_, fs in structs.items() for f in fs]
    for k in FIELD_EXEMPT:
        if k[1] not in all_fields or not field_table.get(k, "").startswith("exempt"):
            missing.append(f"{k[0]}: field {k[1]} is exempt but wrapped (or gone): remove it from "
                           "FIELD_EXEMPT")

    names = BINDINGS
    out = [
        "# Binding parity",
        "",
        "Every `FW_API` function of `include/fwmerge.h` and the binding function or method that",
        "calls it (through SWIG for Go, Java and Python). Generated by",
        "`python3 tests/bindings_parity.py --write`; CTest's `bindings_parity` fails when a binding",
        "lacks one (deliberate exemptions are listed in the script, with their reason). The",
        "deprecated 0.3 names (`FW_DEPRECATED`: `fw_step` for `fw_solver_step`, ...) are aliases",
        "of these functions and are not wrapped.",
        "",
    ]
    out += table_rows(functions, table, names)
    out += [
        "",
        "## Struct fields",
        "",
        "Every field of every public struct of `include/fwmerge.h` (`struct_size` and `reserved`",
        "left out; a count `n_x` goes with its array `x`, a callback's `x_user_data` with `x`) and",
        "the binding's name for it (a field, setter or accessor in the wrapper sources).",
        "",
    ]
    out += table_rows(all_fields, field_table, names, "C field")
    text = "\n".join(out) + "\n"
    print(text)
    if args.write:
        OUT.write_text(text)
        print(f"wrote {OUT}")
    elif OUT.exists() and OUT.read_text() != text:
        print(f"note: {OUT.relative_to(ROOT)} is out of date: run {Path(__file__).name} --write")
    if missing:
        print(f"{len(missing)} function(s) or field(s) not wrapped:", file=sys.stderr)
        for m in missing:
            print(f"  {m}", file=sys.stderr)
        return 1
    print(f"all {len(functions)} functions and {len(all_fields)} struct fields are wrapped by "
          f"{', '.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
