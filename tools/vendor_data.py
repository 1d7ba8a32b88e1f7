"""Vendor the benchmark data that cap_nb needs offline into cap_nb/data (gzip-compressed, original record layouts).

Run from the repo root with the shared data folder beside it: `python tools/vendor_data.py ../shared/data`.
ARC and GSM8K files are copied byte for byte (then gzipped); StrategyQA keeps each record's qid, term, description,
question, answer and facts (the evidence paragraphs are dropped: they are 90 % of the file and cap_nb does not use them).
WikiText-2 (raw test split, for perplexity) is already gzipped upstream (gzip -9 -n, reproducible) and is copied as is.
"""
import gzip, json, shutil, sys
from pathlib import Path

src, dst = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"), Path("cap_nb/data")

def gz(data: bytes, out: Path):
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(out, "wb", mtime=0) as f: f.write(data)  # mtime=0: reproducible bytes

for f in sorted((src / "arc").glob("*.jsonl")): gz(f.read_bytes(), dst / "arc" / (f.name + ".gz"))
for f in ["train.jsonl", "test.jsonl"]: gz((src / "gsm8k" / f).read_bytes(), dst / "gsm8k" / (f + ".gz"))
keep = ["qid", "term", "description", "question", "answer", "facts"]
for split, f in [("train", "train.json"), ("dev", "dev.json")]:
    recs = json.loads((src / "strategyqa" / "eladsegal" / f).read_text())
    lines = "".join(json.dumps({k: r[k] for k in keep}, ensure_ascii=False) + "\n" for r in recs)
    gz(lines.encode(), dst / "strategyqa" / f"{split}.jsonl.gz")
for task, files in {"arc": ["SOURCE.md"], "gsm8k": ["SOURCE.md", "LICENSE"], "strategyqa": ["SOURCE.md"]}.items():
    for f in files: shutil.copy(src / task / f, dst / task / f)
shutil.copy(src / "strategyqa" / "eladsegal" / "LICENSE", dst / "strategyqa" / "LICENSE")
(dst / "arc" / "LICENSE").write_text("ARC (AI2 Reasoning Challenge), Clark et al. 2018, arXiv:1803.05457.\n"
    "Distributed by the Allen Institute for AI under the Creative Commons Attribution-ShareAlike 4.0 International\n"
    "license (CC BY-SA 4.0): https://creativecommons.org/licenses/by-sa/4.0/\n")
(dst / "wikitext2").mkdir(parents=True, exist_ok=True)
for f in ["wiki.test.raw.gz", "SOURCE.md"]: shutil.copy(src / "wikitext2" / f, dst / "wikitext2" / f)
(dst / "wikitext2" / "LICENSE").write_text("WikiText-2 (Merity, Xiong, Bradbury and Socher 2016, arXiv:1609.07843) consists of text\n"
    "from Wikipedia articles. It is distributed under the Creative Commons Attribution-ShareAlike 3.0 Unported license\n"
    "(CC BY-SA 3.0): https://creativecommons.org/licenses/by-sa/3.0/ and the GNU Free Documentation License (GFDL):\n"
    "https://www.gnu.org/licenses/fdl-1.3.html. Redistribution must keep this attribution and license.\n")
print("\n".join(f"{p} {p.stat().st_size}" for p in sorted(dst.rglob("*")) if p.is_file()))
