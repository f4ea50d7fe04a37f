#!/usr/bin/env python3
"""The ABI check (CTest abi_check; the policy it enforces: docs/abi.md).

Compares the public ABI of a built libfwmerge with the committed baseline of the previous release,
so that a change which would break a client of libfwmerge.so.0 fails the build, not a user's
program.

    check.py LIBRARY [BASELINE]     compare (BASELINE: the newest tests/abi/fwmerge-*.abi)
    check.py --write LIBRARY OUT    write LIBRARY's ABI to OUT (the new baseline, at a release)

Exit status: 0 compatible, 1 a break (or a library without the DWARF the check reads), 2 misuse
or a tool failure, 77 abidw/abidiff missing (CTest SKIP_RETURN_CODE; scripts/install-deps.sh
installs abigail-tools). FW_ABI_HEADERS names the header folder (default: include/).

Three parts: every fw_* symbol of the baseline is still exported; the SONAME is libfwmerge.so.N
for the baseline's major N; abidiff (libabigail) finds no change in the exported functions or the
types they reach, once the growth the policy allows is taken out. That growth is applied here,
not as a libabigail suppression: libabigail 2.2's `has_data_member_inserted_at = end` also hides
every same-size change of the struct it names (moved fields, a changed field type, renumbered
enumerators of a field's enum), as policy.abignore explains.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
HEADERS = os.environ.get("FW_ABI_HEADERS", os.path.join(HERE, "..", "..", "include"))
SUPPRESSIONS = os.path.join(HERE, "policy.abignore")

FOOTER = """
{lib}
breaks the ABI promise of libfwmerge.so.{major} against {base} (docs/abi.md): within a major
version, fields are only appended to the versioned structs (those that start with struct_size; or
a reserved word of the same size takes a meaning), functions and enumerators are only added, and
nothing exported is removed or changes its signature, a field's offset, size or type, or an
enumerator's value. Keep the old name, layout or value and add the new one beside it; a real
break needs a new major version and SONAME (docs/abi.md, "Breaking the ABI")."""


def abi_of(lib, out):
    """The ABI as the check compares it: only what the header makes public (exported functions and
    the types they reach that include/ defines, the handles' private definitions dropped), without
    source locations, build paths or DT_NEEDED (another LibTorch build is not another ABI), type
    ids hashed from the types: the file changes only with the ABI."""
    text = subprocess.run(
        ["abidw", "--headers-dir", HEADERS, "--drop-private-types", "--exported-interfaces-only",
         "--no-corpus-path", "--no-comp-dir-path", "--no-show-locs", "--no-elf-needed",
         "--type-id-style", "hash", lib], check=True, capture_output=True, text=True).stdout
    # abidw keeps each translation unit's absolute path; its file name is enough.
    text = re.sub(r"(<abi-instr [^>]*path=')[^']*/", r"\1", text)
    # Without DWARF (lib/capi not compiled with -g, or its .debug file gone) abidw still lists the
    # symbols, and no type change could be seen: refuse rather than pass.
    if "<function-decl name='fw_" not in text:
        sys.exit(f"abi check: {lib} has no debug info for its fw_* functions: lib/capi must be "
                 "compiled with -g (lib/CMakeLists.txt), and the library's .debug file must be "
                 "beside it")
    with open(out, "w") as f:
        f.write(text)


def versioned_structs(root):
    """name -> [class-decl elements] of the structs whose first field is struct_size."""
    found = {}
    for decl in root.iter("class-decl"):
        members = decl.findall("data-member")
        if members and members[0].find("var-decl").get("name") == "struct_size":
            found.setdefault(decl.get("name"), []).append(decl)
    return found


def by_value_uses(root, names):
    """(struct name, where) for each place a struct of `names` is used by value: a function's
    return or parameter, a field of another struct, an array element. Those spots have the size of
    the header a client was built with, so a versioned struct used there cannot grow."""
    by_id = {e.get("id"): e for e in root.iter() if e.get("id")}

    def struct_name(type_id):
        for _ in range(32):  # typedefs and qualifiers, not pointers
            e = by_id.get(type_id)
            if e is None:
                return None
            if e.tag == "class-decl":
                return e.get("name") if e.get("name") in names else None
            if e.tag not in ("typedef-decl", "qualified-type-def"):
                return None
            type_id = e.get("type-id")
        return None

    uses = []
    # Exported functions, and the callback types the host implements.
    for fn in list(root.iter("function-decl")) + list(root.iter("function-type")):
        for i, part in enumerate(fn.findall("parameter") + fn.findall("return")):
            name = struct_name(part.get("type-id"))
            if name:
                what = "returns" if part.tag == "return" else f"takes (parameter {i + 1})"
                who = f"{fn.get('name')}()" if fn.tag == "function-decl" else "a callback type"
                uses.append((name, f"{who} {what} {name} by value"))
    for decl in root.iter("class-decl"):
        for member in decl.findall("data-member"):
            var = member.find("var-decl")
            name = struct_name(var.get("type-id"))
            if name:
                uses.append((name, f"{decl.get('name')}.{var.get('name')} is a {name}"))
    for array in root.iter("array-type-def"):
        name = struct_name(array.get("element-type-id"))
        if name:
            uses.append((name, f"an array of {name}"))
    return uses


def take_out_growth(baseline, new, out, report, notes):
    """Writes `new` with the fields appended to the versioned structs since `baseline` removed (and
    their sizes set back), so that abidiff sees every other change of them. Appended: after the old
    version's last field. One that starts inside the old size (its tail padding) must be a
    reserved_* word: an older caller's bytes there are padding, and the library reads them."""
    old = {}  # name -> (size in bits, offset of the last field)
    for name, decls in versioned_structs(ET.parse(baseline).getroot()).items():
        offsets = [int(m.get("layout-offset-in-bits")) for m in decls[0].findall("data-member")]
        old[name] = (int(decls[0].get("size-in-bits")), max(offsets))
    tree = ET.parse(new)
    grown = {}
    for name, decls in versioned_structs(tree.getroot()).items():
        if name not in old:
            continue  # a new struct
        old_size, old_last = old[name]
        for decl in decls:
            if int(decl.get("size-in-bits", "0")) <= old_size:
                continue  # no growth (a shrink is abidiff's to report)
            for member in decl.findall("data-member"):
                offset = int(member.get("layout-offset-in-bits"))
                field = member.find("var-decl").get("name")
                if offset <= old_last:
                    continue
                decl.remove(member)
                if field not in grown.setdefault(name, []):
                    grown[name].append(field)
                    if offset < old_size and not field.startswith("reserved"):
                        report(f"{name}.{field} starts inside the size of {name} in the baseline "
                               f"({old_size // 8} bytes): a caller of that version has padding "
                               f"there; put a reserved_* word first (lib/capi/versioned.h)")
            decl.set("size-in-bits", str(old_size))
    for name, fields in grown.items():
        notes.append(f"{name}: fields appended: {', '.join(fields)}")
    for name, where in dict.fromkeys(by_value_uses(tree.getroot(), set(grown))):
        report(f"{name} grew, but {where}: a client built with the older header has only the "
               f"old size there (docs/abi.md, \"Versioned structs\")")
    tree.write(out)


def frozen_returns(baseline, new, report, notes):
    """The by-value fw_default_X() of 0.4 and before (lib/capi/frozen_defaults.cpp): each must
    still return the struct it returned in the baseline, or, once that struct grew, the frozen copy
    of its old layout named `<struct>_vN`, whose layout frozen_defaults.cpp static_asserts.
    libabigail sees that copy only as a declaration (it is not in the public header) and calls the
    change compatible, so this check holds the name."""
    def returns(path):
        root = ET.parse(path).getroot()
        by_id = {e.get("id"): e for e in root.iter() if e.get("id")}
        out = {}
        for fn in root.iter("function-decl"):
            name, ret = fn.get("name"), fn.find("return")
            if not (name or "").startswith("fw_default_") or ret is None:
                continue
            e = by_id.get(ret.get("type-id"))
            while e is not None and e.tag in ("typedef-decl", "qualified-type-def") \
                    and e.get("name") in (None, ""):
                e = by_id.get(e.get("type-id"))
            out[name] = e.get("name") if e is not None else None
        return out
    old, now = returns(baseline), returns(new)
    for fn, struct in sorted(old.items()):
        got = now.get(fn)
        if got == struct:
            continue
        if got and re.fullmatch(re.escape(struct) + r"_v\d+", got):
            notes.append(f"{fn}() returns {got}, {struct}'s frozen layout (frozen_defaults.cpp)")
            continue
        report(f"{fn}() returned {struct} by value in the baseline and now returns {got}: a "
               f"program built then has {struct}'s old size there (lib/capi/frozen_defaults.cpp)")


def symbols(abi_file):
    with open(abi_file) as f:
        return set(re.findall(r"<elf-symbol name='(fw_\w+)'", f.read()))


def main(argv):
    for tool in ("abidw", "abidiff"):
        if shutil.which(tool) is None:
            print(f"abi check: {tool} not found (Debian: abigail-tools; scripts/install-deps.sh): "
                  "skipped")
            return 77
    if argv[:1] == ["--write"] and len(argv) == 3:
        abi_of(argv[1], argv[2])
        print(f"abi check: wrote {argv[2]}")
        return 0
    if not 1 <= len(argv) <= 2 or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    lib = argv[0]
    baselines = sorted(glob.glob(os.path.join(HERE, "fwmerge-*.abi")),
                       key=lambda p: [int(x) for x in re.findall(r"\d+", os.path.basename(p))])
    if len(argv) < 2 and not baselines:
        print(f"abi check: no baseline {HERE}/fwmerge-X.Y.Z.abi (docs/abi.md, \"At a release\")")
        return 2
    baseline = argv[1] if len(argv) > 1 else baselines[-1]
    base_name = os.path.basename(baseline)
    # The baseline's file name carries its release, whose major names the SONAME.
    named = re.match(r"fwmerge-(\d+)\.\d+\.\d+\.abi$", base_name)
    if not named:
        print(f"abi check: a baseline is named fwmerge-X.Y.Z.abi, not {base_name}")
        return 2
    major = named.group(1)
    broken, notes = [], []

    def report(what):
        broken.append(what)
        print(f"ABI BREAK: {what}")

    with tempfile.TemporaryDirectory() as tmp:
        new = os.path.join(tmp, "new.abi")
        abi_of(lib, new)
        # 1. Every exported function of the baseline (abidiff says so too for those it has DWARF
        # for; this also covers one whose DWARF went missing).
        old_syms, new_syms = symbols(baseline), symbols(new)
        for sym in sorted(old_syms - new_syms):
            report(f"the exported function {sym} of {base_name} is gone")
        if new_syms - old_syms:
            notes.append("functions added: " + ", ".join(sorted(new_syms - old_syms)))
        # 2. One SONAME per major version (the 0.3.6 baseline still has 0.3's libfwmerge.so.0.3,
        # hence abidiff's --ignore-soname below).
        with open(new) as f:
            soname = (re.search(r"<abi-corpus [^>]*soname='([^']*)'", f.read()) or [None, ""])[1]
        if soname != f"libfwmerge.so.{major}":
            report(f"the SONAME is '{soname}', not libfwmerge.so.{major} (one SONAME per major)")
        # 3. Functions and the types they reach. abidiff's status is 0 only when nothing is left:
        # every change bit (4: a change, 8: one it calls incompatible) is a break here.
        compared = os.path.join(tmp, "compared.abi")
        take_out_growth(baseline, new, compared, report, notes)
        frozen_returns(baseline, new, report, notes)
        run = subprocess.run(["abidiff", "--ignore-soname", "--no-added-syms", "--suppressions",
                              SUPPRESSIONS, baseline, compared], capture_output=True, text=True)
        if run.returncode & 3:
            print(run.stdout + run.stderr)
            print(f"abi check: abidiff failed (status {run.returncode})")
            return 2
        if run.returncode:
            print(run.stdout + run.stderr)
            report(f"abidiff reports the changes above (status {run.returncode})")
    if broken:
        print(FOOTER.format(lib=lib, major=major, base=base_name))
        return 1
    print(f"abi check: {lib} is compatible with {base_name} (SONAME {soname})")
    for note in notes:
        print(f"abi check: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
