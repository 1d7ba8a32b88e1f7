"List, per notebook, the exported names (`__all__` of its module) that no non-export code cell of that notebook mentions."
import ast, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPORT = re.compile(r"^\s*#\|\s*(export|exporti|exports)\b", re.M)

def defined(tree):
    "Names a module's top level defines itself (functions, classes, assignments), not those it imports"
    out = set()
    for n in tree.body:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): out.add(n.name)
        elif isinstance(n, (ast.Assign, ast.AnnAssign)):
            for t in (n.targets if isinstance(n, ast.Assign) else [n.target]):
                out |= {x.id for x in ast.walk(t) if isinstance(x, ast.Name)}   # `a, b = ...` defines both
    return out

def exported(py):
    "The notebook `py` is generated from, and the names of its `__all__` that it defines (re-exports left out)"
    src = py.read_text(); tree = ast.parse(src)
    nb = re.search(r"File to edit: \.\./nbs/(\S+\.ipynb)", src)
    names = next((ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                  and any(getattr(t, "id", None) == "__all__" for t in n.targets)), [])
    return (nb.group(1) if nb else None), [n for n in names if n in defined(tree)]

def test_source(nb):
    "Joined source of the code cells of notebook `nb` that are not exported"
    cells = json.loads(nb.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code" and not EXPORT.search("".join(c["source"])))

def untested():
    "{notebook: [exported names no test cell mentions]}"
    out = {}
    for py in sorted((ROOT / "cap_nb").glob("*.py")):
        nb, names = exported(py)
        if not nb or not names: continue
        src = test_source(ROOT / "nbs" / nb)
        out[nb] = [n for n in names if not re.search(rf"\b{re.escape(n)}\b", src)]
    return out

if __name__ == "__main__":
    res, total = untested(), 0
    for nb, names in res.items():
        total += len(names)
        print(f"{nb}: {len(names)}" + (f"  {', '.join(names)}" if names else ""))
    print(f"total: {total}")
    if "--check" in sys.argv and total: sys.exit(1)
