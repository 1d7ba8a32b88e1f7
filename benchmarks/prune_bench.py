"""Time and peak memory of each pruning method at 50 % on the default model, with 32 calibration sequences.

Run (heavy: take the shared lock):  flock /tmp/heavy.lock python benchmarks/prune_bench.py
Peak memory is measured above the level at the start of `prune` (the model is already loaded), as `cap_nb.prune.peak_memory`
does: CUDA allocator peak, or the Linux process high-water mark reset through /proc/self/clear_refs. torch uses 2 threads.
CAP's cost does not depend on the score values: random head scores are used here.
Every freshly loaded model has its weights read once before measuring: `from_pretrained` memory-maps safetensors, and
pages of weights first touched during pruning would otherwise count as pruning memory.
"""
import argparse, gc, os, time
from types import SimpleNamespace
import pandas as pd
import torch
from cap_nb.models import load_model, DEFAULT_MODEL
from cap_nb.hooks import attention_layout
from cap_nb.tasks import load_task, gold_pair
from cap_nb.prune import prune, peak_memory, calib_batches

def calibration(n=32, seed=0):
    "n GSM8K train problems with their worked solutions: (context, target) pairs"
    return [gold_pair(it, gsm8k_target="solution") for it in load_task("gsm8k", "train", n=n, seed=seed)]

def load(name):
    "The model and tokenizer, with every weight paged in"
    model, tok = load_model(name)
    with torch.no_grad(): sum(float(p.abs().sum()) for p in model.parameters())
    return model, tok

def forward_cost(model, batches):
    "(seconds, peak bytes above start) of one forward pass over the calibration batches"
    with peak_memory(model.device) as mem, torch.inference_mode():
        for ids, am in batches: model(input_ids=ids, attention_mask=am, use_cache=False)
    return mem["time_s"], mem["peak_bytes"]

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=DEFAULT_MODEL); p.add_argument("--n", type=int, default=32)
    p.add_argument("--sparsity", type=float, default=0.5); p.add_argument("--threads", type=int, default=2)
    p.add_argument("--methods", default="magnitude,wanda,sparsegpt,cap_budget,cap_scaled")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    model, tok = load(a.model)
    calib = calibration(a.n)
    batches = calib_batches(calib, tok, batch_size=8, max_len=256, device=model.device)
    n_tok = sum(int(am.sum()) for _, am in batches)
    size = sum(p.numel() * p.element_size() for p in model.parameters())
    fwd_s, fwd_mem = forward_cost(model, batches)
    print(f"{a.model} ({model.dtype}, {model.device}, {torch.get_num_threads()} threads, load {os.getloadavg()[0]:.1f}): "
          f"model {size / 2**20:.0f} MiB; calibration {a.n} sequences, {n_tok} tokens; "
          f"one forward pass over it {fwd_s:.2f} s, peak +{fwd_mem / 2**20:.0f} MiB")
    rows = []
    for meth in a.methods.split(","):
        del model; gc.collect()
        model, tok = load(a.model)
        lay = attention_layout(model)
        scores = SimpleNamespace(scores=torch.randn(len(lay), lay[0].n_heads, generator=torch.Generator().manual_seed(0)))
        r = prune(model, meth, a.sparsity, calib=calib, tok=tok, scores=scores if meth.startswith("cap") else None, progress=False)
        rows.append(dict(method=meth, time_s=round(r.time_s, 2), x_forward=round(r.time_s / fwd_s, 1),
                         peak_MiB=round(r.peak_bytes / 2**20), peak_x_model=round((size + r.peak_bytes) / size, 2),
                         sparsity=round(float(r.overall), 6)))
        print(rows[-1], flush=True)
        del r
    print(pd.DataFrame(rows).to_string(index=False))

if __name__ == "__main__": main()
