"""Pilot that sized the paper-protocol plan (nbs/07a_paper.ipynb): dense chain-of-thought answers of a model on 16 ARC-Challenge test items.

Prints generated tokens and time, each answer's length in tokens, what `cot_extract` reads from each answer (None =
unparseable), the number correct, and the first answer's text. Run as it was run (2 threads, bf16, batch 16):

    python benchmarks/cot_pilot.py smollm2-135m 256     # output: benchmarks/cot_pilot.txt
"""
import time, torch, sys
torch.set_num_threads(2)
from cap_nb.models import load_model
from cap_nb.tasks import load_task
from cap_nb.eval import generate
from cap_nb.cot import cot_prompt, cot_extract
m, tok = load_model(sys.argv[1], dtype="bf16")
items = load_task("arc_challenge", "test", 16, 0)
ps = [cot_prompt(tok, it) for it in items]
t0 = time.perf_counter(); out = generate(m, tok, ps, int(sys.argv[2]), (), 16); dt = time.perf_counter() - t0
n = sum(len(tok(t, add_special_tokens=False).input_ids) for t in out)
print(f"{sys.argv[1]}: {n} tokens in {dt:.1f}s = {n/dt:.1f} tok/s; slots {16*int(sys.argv[2])/dt:.1f}/s; load {open('/proc/loadavg').read()[:15]}")
print([len(tok(t).input_ids) for t in out]); print([cot_extract(it, t) for it, t in zip(items, out)]); print(sum(cot_extract(it,t)[0]==it['labels'][it['gold']] for it,t in zip(items,out)))
print(out[0][:600])
