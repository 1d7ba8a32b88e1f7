"""Print how much the repository weighs: the checkout (files tracked at HEAD, per top-level folder), the files whose
bytes repeat another tracked file (git stores such content once), and the packed history reachable from HEAD.

Run from the repository root: `python tools/repo_weight.py`.
"""
import subprocess
from collections import defaultdict

def git(*args, inp=None): return subprocess.run(["git", *args], input=inp, capture_output=True, text=True, check=True).stdout

rows = [l.split(None, 4) for l in git("ls-tree", "-r", "-l", "HEAD").splitlines()]  # mode type sha size path
files = [(sha, int(size), path) for _, typ, sha, size, path in rows if typ == "blob"]
MiB = 2 ** 20
def folder(path, depth):
    parts = path.split("/")
    return "/".join(parts[:depth]) if len(parts) > depth else parts[0] if len(parts) > 1 else "(root files)"
print(f"checkout: {len(files)} tracked files, {sum(s for _, s, _ in files) / MiB:.1f} MiB")
for depth, only in ((1, ""), (2, "runs/"), (2, "cap_nb/")):
    by_dir = defaultdict(int)
    for _, size, path in files:
        if path.startswith(only): by_dir[folder(path, depth)] += size
    for d, s in sorted(by_dir.items(), key=lambda x: -x[1]):
        if s >= 0.05 * MiB: print(f"  {d:32} {s / MiB:6.2f} MiB")
seen, repeats = {}, []
for sha, size, path in sorted(files, key=lambda f: f[2]):
    if sha in seen: repeats.append((path, seen[sha], size))
    else: seen[sha] = path
print(f"repeated content: {len(repeats)} files, {sum(r[2] for r in repeats) / MiB:.2f} MiB of the checkout, 0 bytes of history")
for path, first, size in repeats: print(f"  {path} = {first} ({size / MiB:.2f} MiB)")
ids = "\n".join(l.split()[0] for l in git("rev-list", "--objects", "HEAD").splitlines()) + "\n"
disk = sum(int(x) for x in git("cat-file", "--batch-check=%(objectsize:disk)", inp=ids).split())
print(f"history reachable from HEAD: {len(ids.split())} objects, {disk / MiB:.1f} MiB packed "
      f"({int(git('rev-list', '--count', 'HEAD'))} commits)")
