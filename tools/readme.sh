#!/usr/bin/env bash
# README.md is nbs/index.ipynb rendered to Markdown (nbdev_readme needs Quarto, which these machines lack).
set -euo pipefail
cd "$(dirname "$0")/.."
jupyter nbconvert --to markdown --stdout nbs/index.ipynb 2>/dev/null \
  | python -c "import sys,re; t=sys.stdin.read(); t=re.sub(r'\n{3,}', '\n\n', t); sys.stdout.write(t)" > README.md
echo "README.md written from nbs/index.ipynb"
