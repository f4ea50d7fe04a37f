#!/usr/bin/env python3
"""Checks the links of every Markdown file of the repository (CTest `link_check`).

A clone has only the repository, so every relative link must resolve to a file or folder inside
it: `[text](path)`, `![alt](path)` and `[ref]: path`, with or without `#anchor`. An anchor into a
Markdown file (or `#anchor` alone, into the same file) must name one of its headings, spelled as
GitHub spells them. A link that leaves the repository (`../shared/...`, an absolute path) fails.
Web links (`https://...`) are not fetched: CI has no network, and they should be rare.
Code (fenced blocks, `inline code`) is not read.

    link_check.py [REPO_ROOT]   # default: the parent of this script's folder
"""
import os
import re
import subprocess
import sys

ROOT = os.path.realpath(sys.argv[1] if len(sys.argv) > 1
                        else os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFDEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ID = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.I)


def markdown_files():
    """The tracked and the new (not ignored) *.md files: what a clone or the next commit has."""
    try:
        out = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard", "--", "*.md"],
                             check=True, capture_output=True).stdout.decode()
        files = [f for f in out.split("\0") if f]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: a source tarball
        files = []
        for d, dirs, names in os.walk(ROOT):
            dirs[:] = [x for x in dirs if not x.startswith((".", "build"))]
            files += [os.path.relpath(os.path.join(d, n), ROOT) for n in names if n.endswith(".md")]
    return sorted(f for f in files if os.path.isfile(os.path.join(ROOT, f)))


def prose_lines(text):
    """(line number, line, line with inline code blanked out) outside fenced code."""
    fence = None
    for no, line in enumerate(text.split("\n"), 1):
        m = FENCE.match(line)
        if m:
            mark = m.group(1)
            if fence is None:
                fence = mark[0] * len(mark)
            elif mark.startswith(fence):
                fence = None
            continue
        if fence is None:
            yield no, line, re.sub(r"(`+)(?:(?!\1).)+?\1", lambda c: " " * len(c.group(0)), line)


def slug(heading):
    """GitHub's anchor for a heading: its text, lower case, without punctuation, spaces -> '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return "".join(c for c in text if c.isalnum() or c in "-_ ").replace(" ", "-")


_anchors = {}


def anchors(path):
    if path not in _anchors:
        found, seen = set(), {}
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for _, line, _ in prose_lines(text):
            m = HEADING.match(line)
            if m:
                base = slug(m.group(2))
                n = seen.get(base, 0)
                seen[base] = n + 1
                found.add(base if n == 0 else f"{base}-{n}")
            found.update(HTML_ID.findall(line))
        _anchors[path] = found
    return _anchors[path]


def check(md):
    errors = []
    path = os.path.join(ROOT, md)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for no, _, line in prose_lines(text):
        targets = INLINE.findall(line)
        m = REFDEF.match(line)
        if m:
            targets.append(m.group(1))
        for target in targets:
            if SCHEME.match(target):
                continue  # a web link or mailto:, not checked
            where = f"{md}:{no}: {target}"
            file_part, _, anchor = target.partition("#")
            if file_part.startswith("/"):
                errors.append(f"{where}: an absolute path (use a path relative to {md})")
                continue
            dest = os.path.realpath(os.path.join(os.path.dirname(path), file_part)) if file_part \
                else path
            if os.path.commonpath([ROOT, dest]) != ROOT:
                errors.append(f"{where}: leaves the repository (a clone does not have it)")
            elif not os.path.exists(dest):
                errors.append(f"{where}: no such file in the repository")
            elif anchor and dest.endswith(".md") and anchor not in anchors(dest):
                errors.append(f"{where}: no heading '#{anchor}' in {os.path.relpath(dest, ROOT)}")
    return errors


def main():
    files = markdown_files()
    errors = [e for md in files for e in check(md)]
    for e in errors:
        print(e)
    print(f"link_check: {len(files)} Markdown files, {len(errors)} broken link(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
