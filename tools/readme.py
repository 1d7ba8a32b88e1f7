"""Write README.md from nbs/index.ipynb (nbdev_readme needs Quarto, which these machines lack).

Markdown cells are copied, code cells become ```python blocks followed by their saved text output; cells with an
nbdev `#| hide` directive are left out, those with `#| echo: false` show their output alone; links written relative to nbs/ are rewritten relative to the root (`../runs/x` ->
`runs/x`, `03_prune.ipynb` -> `nbs/03_prune.ipynb`), so they work on GitHub; Quarto turns the notebooks' `.ipynb` links
into the pages' `.html` ones itself.
"""
import json, re
from pathlib import Path

nb = json.loads(Path("nbs/index.ipynb").read_text())
parts = []
for c in nb["cells"]:
    src = "".join(c["source"])
    if c["cell_type"] == "markdown":  # links relative to nbs/ -> to the root: ../x -> x, a notebook -> nbs/it
        parts.append(re.sub(r"\]\((?!\.\./|[a-z]+:|/|#)([^)]+\.ipynb)", r"](nbs/\1", src).replace("](../", "](")); continue
    if re.search(r"^#\|\s*hide", src, re.M): continue
    if not re.search(r"^#\|\s*echo:\s*false", src, re.M):  # `#| echo: false`: the output alone, as in the docs
        parts.append("```python\n" + "\n".join(l for l in src.splitlines() if not l.startswith("#|")) + "\n```")
    text = "".join("".join(o.get("text", "")) or "".join(o.get("data", {}).get("text/plain", "")) for o in c.get("outputs", [])
                   if o.get("output_type") in ("stream", "execute_result") and o.get("name") != "stderr")
    if text.strip(): parts.append("```\n" + text.rstrip() + "\n```")
Path("README.md").write_text("\n\n".join(parts).strip() + "\n")
print("README.md written from nbs/index.ipynb")
