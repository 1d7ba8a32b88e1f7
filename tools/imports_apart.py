"""Move top-level `import`/`from ... import` lines out of non-exported notebook cells into the notebook's hidden import cell.

The docs build (nbdev_proc_nbs, nbdev_docs) executes every cell that contains an import, whatever its flags, and
nothing else: a test cell that also imports runs there without the cells above it and fails. Run from the repository
root: `python tools/imports_apart.py [nbs/x.ipynb ...]` (default: every notebook); it prints what it moved and exits 1
with `--check` when something would move (a check for CI).
"""
import ast, json, re, sys
from pathlib import Path

IMPORT = re.compile(r"^(import \S|from \S+ import )")

def imports_cell(cells):
    "Index of the notebook's hidden test-import cell (`#| hide` with only imports), or None"
    for i, c in enumerate(cells):
        src = "".join(c["source"]).splitlines()
        if c["cell_type"] == "code" and src and src[0].startswith("#| hide") and len(src) > 1 and "nbdev_export" not in "".join(src) \
           and all(IMPORT.match(l) for l in src[1:] if l.strip()):
            return i

def movable(c):
    "Line numbers of the top-level import statements (one line each) of a code cell that also does something else; exported cells keep theirs"
    if c["cell_type"] != "code": return []
    src = "".join(c["source"]); lines = src.splitlines()
    if any(l.startswith("#| export") or l.startswith("#|export") for l in lines): return []
    code = "\n".join("" if l.lstrip().startswith(("%", "!")) else l for l in lines)   # IPython magics are not Python
    try: tree = ast.parse(code)
    except SyntaxError: return []
    at = [n.lineno - 1 for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))
          and n.lineno == n.end_lineno and ";" not in lines[n.lineno - 1]]
    rest = [n for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom))]
    return at if at and rest else []

def fix(path, check=False):
    nb = json.loads(Path(path).read_text()); cells = nb["cells"]; moved = []
    for c in cells:
        if at := movable(c):
            lines = "".join(c["source"]).splitlines(); moved += [lines[i] for i in at]
            if not check: c["source"] = "\n".join(l for i, l in enumerate(lines) if i not in set(at)).splitlines(keepends=True)
    if moved and not check:
        i = imports_cell(cells)
        if i is None:
            first = next(k for k, c in enumerate(cells) if c["cell_type"] == "code" and "default_exp" not in "".join(c["source"]))
            cells.insert(first, dict(cell_type="code", execution_count=None, id=f"imp{abs(hash(str(path))) % 10**5:05d}", metadata={}, outputs=[],
                                     source=["#| hide\n"])); i = first
        have = "".join(cells[i]["source"]).splitlines()
        new = have + [l for l in dict.fromkeys(moved) if l not in have]
        cells[i]["source"] = "\n".join(new).splitlines(keepends=True)
        Path(path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return moved

if __name__ == "__main__":
    check = "--check" in sys.argv
    paths = [a for a in sys.argv[1:] if a != "--check"] or sorted(str(p) for p in Path("nbs").glob("**/*.ipynb") if ".ipynb_checkpoints" not in str(p))
    bad = 0
    for p in paths:
        if m := fix(p, check): bad += 1; print(f"{p}: {'would move' if check else 'moved'} {len(m)} import line(s): {sorted(set(m))}")
    sys.exit(1 if check and bad else 0)
