#!/usr/bin/env python3
"""Checks the relative links of README.md and docs/**/*.md: every target exists,
and every #anchor names a heading of the target file (GitHub's rule: lowercase,
punctuation removed, spaces to '-', repeats suffixed -1, -2, ...).

    usage: python3 scripts/check_doc_links.py    (from the repository root; exit 1 on a bad link)
"""
import glob
import os
import re
import sys


def anchors(path):
    out, seen, in_code = set(), {}, False
    for line in open(path, encoding="utf-8"):
        if line.startswith("```"):
            in_code = not in_code
            continue
        m = None if in_code else re.match(r"^(#+) (.*)", line)
        if m:
            a = re.sub(r"[^\w\- ]", "", m.group(2).strip().lower()).replace(" ", "-")
            n = seen.get(a, 0)
            seen[a] = n + 1
            out.add(a if n == 0 else f"{a}-{n}")
    return out


def main():
    files = ["README.md"] + sorted(glob.glob("docs/**/*.md", recursive=True))
    bad = 0
    for f in files:
        text = open(f, encoding="utf-8").read()
        text = re.sub(r"```.*?```", "", text, flags=re.S)
        text = re.sub(r"`[^`\n]*`", "", text)
        for m in re.finditer(r"\]\(([^)\s]+)\)", text):
            link = m.group(1)
            if re.match(r"[a-z]+:", link):
                continue  # http:, https:, mailto:
            path, _, anchor = link.partition("#")
            target = os.path.normpath(os.path.join(os.path.dirname(f), path)) if path else f
            if not os.path.exists(target):
                print(f"{f}: {link}: no such file")
                bad += 1
            elif anchor and (not target.endswith(".md") or anchor not in anchors(target)):
                print(f"{f}: {link}: no heading with that anchor")
                bad += 1
    print(f"{len(files)} files, {bad} bad links")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
