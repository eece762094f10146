#!/usr/bin/env python3
"""Import circles between the top-level modules of each crate.

Usage: scripts/import_cycles.py [REPO_ROOT]
       scripts/import_cycles.py --self-test

For every crate source tree (crates/*/src and src/) the module graph is built
from the paths the code names: `use crate::...` (with `{...}` groups
expanded), `crate::x::` anywhere in code, `super::` (resolved against the file
and any inline `mod name { ... }` it sits in) and, in the crate root, plain
`use x::...` of a child module. A node is a top-level module of the crate (a
file or directory directly under src/); a submodule counts as its top-level
module, because a circle inside one directory (`gate/render.rs` naming
`super::Check`) is one module talking to itself.

The crate root (lib.rs, main.rs) is not a node: it declares every module and
re-exports their items, so counting it would make every module that names
`crate::Error` a circle. A path through a root re-export (`crate::Backend`
from `pub use backend::Backend`) counts as naming the module it re-exports.

Prints every elementary cycle (each once, starting at its smallest module)
and exits 1 if there is any; the cycles are why a module cannot be read or
tested without the other, which is what this check is for.
"""

import re
import sys
from pathlib import Path

MAX_CYCLES_PER_COMPONENT = 200

USE_RE = re.compile(r"\b(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.S)
CRATE_PATH_RE = re.compile(r"\bcrate((?:::\w+)+)")
SUPER_PATH_RE = re.compile(r"(?<![\w:])((?:super::)+)(\w+)")
INLINE_MOD_RE = re.compile(r"\bmod\s+(\w+)\s*\{")
PATH_ATTR_RE = re.compile(r'#\[path\s*=\s*"([^"]+)"\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;')
ROOTS = ("lib.rs", "main.rs")


def strip_comments_and_strings(text):
    """Blanks comments, string and char literals, keeping offsets and lines."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            j = n if end < 0 else end + 1 + len(hashes)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(re.sub(r"[^\n]", " ", text[i:j + 1]))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4]) or text.startswith("'\\", i):
            m = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\x[0-9a-fA-F]{2}|\\.|[^\\'])'", text[i:])
            j = i + (m.end() if m else 1)
            out.append(" " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def expand_use_tree(tree):
    """`a::{b, c::{d, e}}` -> [['a','b'], ['a','c','d'], ['a','c','e']]."""
    # `x as y` renames the last segment only: drop the alias first.
    tree = re.sub(r"\s+as\s+\w+", "", tree)
    tree = re.sub(r"\s+", "", tree)

    def parse(s, pos):
        """Parses one tree at pos; returns (list of paths, new pos)."""
        prefix = []
        seg = ""
        while pos < len(s):
            ch = s[pos]
            if s.startswith("::", pos):
                prefix.append(seg)
                seg = ""
                pos += 2
            elif ch == "{":
                paths, pos = [], pos + 1
                while pos < len(s) and s[pos] != "}":
                    sub, pos = parse(s, pos)
                    paths.extend(sub)
                    if pos < len(s) and s[pos] == ",":
                        pos += 1
                return [prefix + p for p in paths] or [prefix], pos + 1
            elif ch in ",}":
                break
            else:
                seg += ch
                pos += 1
        return [prefix + ([seg] if seg else [])], pos

    paths, _ = parse(tree, 0)
    return [[seg for seg in path if seg] for path in paths]


def module_of(src, path):
    """Module path of a file: src/a/b.rs -> ['a','b'], src/a/mod.rs -> ['a']."""
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "mod" or (len(parts) == 1 and parts[0] + ".rs" in ROOTS):
        parts = parts[:-1]
    return parts


def file_modules(src):
    """Every .rs file under src with its module path, following #[path]."""
    files = {p: module_of(src, p) for p in src.rglob("*.rs") if "bin" not in p.relative_to(src).parts[:1]}
    # `#[path = "x_tests.rs"] mod tests;` makes x_tests.rs the module x::tests.
    for p, mod in list(files.items()):
        for target, name in PATH_ATTR_RE.findall(p.read_text(errors="replace")):
            # Relative to the declaring file's directory (a non-mod.rs file's
            # #[path] on a non-inline mod resolves beside it, as rustc does).
            tp = (p.parent / target).resolve()
            for q in files:
                if q.resolve() == tp:
                    files[q] = mod + [name]
    return files


def inline_mods_at(code):
    """For each line offset, the stack of inline `mod x {` names around it."""
    stack, depth, result = [], 0, []
    opens = {m.end() - 1: m.group(1) for m in INLINE_MOD_RE.finditer(code)}
    for i, ch in enumerate(code):
        if ch == "{":
            depth += 1
            if i in opens:
                stack.append((opens[i], depth))
        elif ch == "}":
            if stack and stack[-1][1] == depth:
                stack.pop()
            depth -= 1
        result.append(tuple(name for name, _ in stack))
    return result


def references(code, here, top_modules, root_exports):
    """Top-level modules named from code whose module path is `here`."""
    inline = inline_mods_at(code)
    found = set()

    def resolve(path):
        """An absolute module path (list of segments) -> its top-level module."""
        if not path:
            return None
        if path[0] in top_modules:
            return path[0]
        return root_exports.get(path[0])

    for m in USE_RE.finditer(code):
        mod_path = here + list(inline[m.start()])
        for path in expand_use_tree(m.group(1)):
            if not path:
                continue
            if path[0] == "crate":
                found.add(resolve(path[1:]))
            elif path[0] == "self":
                found.add(resolve(mod_path + path[1:]))
            elif path[0] == "super":
                k = 0
                while k < len(path) and path[k] == "super":
                    k += 1
                found.add(resolve(mod_path[: max(len(mod_path) - k, 0)] + path[k:]))
            elif not mod_path and path[0] in top_modules:
                found.add(path[0])  # the crate root's relative `use child::x`
    for m in CRATE_PATH_RE.finditer(code):
        found.add(resolve(m.group(1).split("::")[1:]))
    for m in SUPER_PATH_RE.finditer(code):
        mod_path = here + list(inline[m.start()])
        k = m.group(1).count("super::")
        found.add(resolve(mod_path[: max(len(mod_path) - k, 0)] + [m.group(2)]))
    found.discard(None)
    if here:
        found.discard(here[0])
    return found


def root_reexports(root_code, top_modules):
    """Names the crate root re-exports -> the module they come from."""
    exports = {}
    for m in USE_RE.finditer(root_code):
        for path in expand_use_tree(m.group(1)):
            if len(path) >= 2 and path[0] in top_modules:
                exports[path[-1]] = path[0]
            elif len(path) >= 3 and path[0] == "crate" and path[1] in top_modules:
                exports[path[-1]] = path[1]
    return exports


def crate_graph(src):
    files = file_modules(src)
    top_modules = {mod[0] for mod in files.values() if mod}
    roots = [src / r for r in ROOTS if (src / r).is_file()]
    root_code = "".join(strip_comments_and_strings(r.read_text()) for r in roots)
    exports = root_reexports(root_code, top_modules)
    graph = {m: set() for m in top_modules}
    for path, mod in files.items():
        if not mod:
            continue
        code = strip_comments_and_strings(path.read_text(errors="replace"))
        graph[mod[0]] |= references(code, mod, top_modules, exports)
    return graph


def strongly_connected(graph):
    """Tarjan's components, each a sorted list."""
    index, low, on_stack, stack, comps = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return comps


def cycles_in(graph, comp):
    """Elementary cycles within one component, each from its smallest node."""
    members, cycles = set(comp), []
    for start in comp:
        path = [start]

        def walk(v):
            for w in sorted(graph[v] & members):
                if len(cycles) >= MAX_CYCLES_PER_COMPONENT:
                    return
                if w == start:
                    cycles.append(path + [start])
                elif w > start and w not in path:
                    path.append(w)
                    walk(w)
                    path.pop()

        walk(start)
    return cycles


def self_test():
    """Checks the parser on a made-up crate whose cycles are known."""
    import tempfile

    files = {
        "lib.rs": "pub mod a; pub mod b; pub mod c; pub mod d;\npub use d::Thing;\n",
        # a -> b through a grouped use; the string and comment name c: ignored.
        "a.rs": 'use crate::{x::y, b::{self, B}};\n// crate::c::C\nconst S: &str = "crate::c::C";\n',
        # b -> a through super:: from a submodule's inline test module.
        "b/mod.rs": "mod inner;\n",
        "b/inner.rs": "#[cfg(test)]\nmod tests {\n    use super::super::super::a::A;\n}\n",
        # c -> d through a root re-export; d names nothing: no cycle there.
        "c.rs": "fn f() -> crate::Thing { todo!() }\n",
        "d.rs": "pub struct Thing;\n",
    }
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        for name, text in files.items():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_text(text)
        graph = crate_graph(src)
    expected = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": set()}
    assert graph == expected, graph
    comps = [c for c in strongly_connected(graph) if len(c) > 1]
    assert [cycles_in(graph, c) for c in comps] == [[["a", "b", "a"]]], comps
    print("self-test passed")
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    repo = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    srcs = sorted(p for p in (repo / "crates").glob("*/src") if p.is_dir())
    if (repo / "src").is_dir():
        srcs.append(repo / "src")
    total = 0
    for src in srcs:
        graph = crate_graph(src)
        name = src.parent.relative_to(repo).as_posix() or "."
        found = []
        for comp in strongly_connected(graph):
            if len(comp) > 1:
                found.extend(cycles_in(graph, comp))
        total += len(found)
        status = f"{len(found)} cycle(s)" if found else "no cycles"
        print(f"{name}: {len(graph)} modules, {status}")
        for cycle in found:
            print("  " + " -> ".join(cycle))
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
