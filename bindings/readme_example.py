#!/usr/bin/env python3
"""Runs the example of a binding's README as a user would: outside the repository, against an
installed prefix, with the README's own text, so that README and test cannot drift apart.

The README marks what to take with HTML comments (invisible once rendered) in front of a fenced
block:

    <!-- readme-test: file src/main.rs -->     the next block is written to WORK/src/main.rs
    <!-- readme-test: run -->                  the next block is run by bash (-euo pipefail) in WORK
    <!-- readme-test: expect REGEX -->         the run's output must match REGEX (re.search)

One README can hold several ways to build the same example (the C quick start: pkg-config and
CMake): a mark tagged `readme-test[NAME]:` belongs to variant NAME only, and --variant NAME takes
the untagged marks and NAME's (without --variant, only the untagged ones).

The run blocks see PREFIX (the install prefix) and none of the variables that would let a build or
run succeed without following the README (LD_LIBRARY_PATH, PKG_CONFIG_PATH, FWMERGE_LIB_DIR,
GOFLAGS, CGO_*). Versions: every x.y.z of the project's major.minor in a marked block, and every
fwmerge-x.y.z.jar anywhere in the README, must be the project's version (a stale README fails).

    readme_example.py --readme README.md --work DIR --prefix PREFIX --version 0.3.5
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

MARK = re.compile(r"^<!--\s*readme-test(?:\[([\w-]+)\])?:\s*(file|run|expect)\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)(```+|~~~+)")
# Variables that would hide a README that forgot a step.
SCRUBBED = ("LD_LIBRARY_PATH", "PKG_CONFIG_PATH", "FWMERGE_LIB_DIR", "GOFLAGS", "CGO_LDFLAGS",
            "CGO_CFLAGS", "CGO_CPPFLAGS", "CGO_CXXFLAGS", "CLASSPATH", "RUSTFLAGS")


def parse(text, variant=None):
    """(files {path: text}, run scripts [text], expects [regex], variants named in text); marks
    of another variant are skipped with their blocks."""
    files, runs, expects, variants = {}, [], [], set()
    lines = text.splitlines(keepends=True)
    pending = None
    i = 0
    while i < len(lines):
        m = MARK.match(lines[i])
        if m:
            tag, kind, arg = m.groups()
            if tag:
                variants.add(tag)
            mine = tag is None or tag == variant
            if kind == "expect":
                if mine:
                    expects.append(arg)
            else:
                pending = (kind, arg, mine)
            i += 1
            continue
        f = FENCE.match(lines[i])
        if f:
            indent, fence = f.groups()
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                # A block indented under a list item: drop that indentation.
                body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
                i += 1
            i += 1
            if pending and not pending[2]:
                pending = None
            elif pending:
                kind, arg, _ = pending
                if kind == "file":
                    if not arg or arg in files or os.path.isabs(arg) or ".." in arg.split("/"):
                        sys.exit(f"readme_example: bad or repeated file name {arg!r}")
                    files[arg] = "".join(body)
                else:
                    runs.append("".join(body))
                pending = None
            continue
        if pending and lines[i].strip():
            sys.exit(f"readme_example: a readme-test {pending[0]} mark is not followed by a "
                     f"fenced block (line {i + 1})")
        i += 1
    return files, runs, expects, variants


def check_versions(text, files, runs, version):
    major_minor = ".".join(version.split(".")[:2])
    bad = []
    for block in list(files.values()) + runs:
        for v in re.findall(r"(?<![\w.])(\d+\.\d+\.\d+)(?![\w.])", block):
            if v.startswith(major_minor + ".") and v != version:
                bad.append(v)
    bad += [v for v in re.findall(r"fwmerge-(\d+\.\d+\.\d+)\.jar", text) if v != version]
    if bad:
        sys.exit(f"readme_example: the README names version(s) {sorted(set(bad))}, the project "
                 f"is {version}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--readme", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--variant", help="also take the marks tagged readme-test[VARIANT]")
    # A scrubbed variable the harness still needs (e.g. CGO_CPPFLAGS carrying the hash that keys
    # go's build cache on the SWIG interface, which it does not hash itself).
    ap.add_argument("--pass", dest="passed", action="append", default=[])
    args = ap.parse_args()

    with open(args.readme, encoding="utf-8") as f:
        text = f.read()
    files, runs, expects, variants = parse(text, args.variant)
    if args.variant and args.variant not in variants:
        sys.exit(f"readme_example: {args.readme} tags no mark readme-test[{args.variant}] "
                 f"(tags: {sorted(variants)})")
    if not files or not runs or not expects:
        sys.exit(f"readme_example: {args.readme} marks no file, run or expect "
                 f"({len(files)}, {len(runs)}, {len(expects)})")
    check_versions(text, files, runs, args.version)

    # A fresh folder outside the source tree; caches the environment names (CARGO_TARGET_DIR,
    # GOCACHE, the Maven repository) survive, so a warm run rebuilds little.
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    for path, body in files.items():
        full = os.path.join(args.work, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as f:
            f.write(body)

    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED or k in args.passed}
    env["PREFIX"] = os.path.abspath(args.prefix)
    script = "\n".join(runs)
    print(f"--- in {args.work}, PREFIX={env['PREFIX']}:\n{script}---", flush=True)
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=args.work, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(proc.stdout, flush=True)
    if proc.returncode != 0:
        sys.exit(f"readme_example: the README's commands failed ({proc.returncode})")
    for regex in expects:
        if not re.search(regex, proc.stdout):
            sys.exit(f"readme_example: the output does not match {regex!r}")
    print(f"readme_example: {args.readme}: ok ({len(files)} files, {len(expects)} checks)")


if __name__ == "__main__":
    main()
