"""Time and peak memory of each pruning method at 50 % on the default model, with 32 calibration sequences.

    python benchmarks/prune_bench.py --malloc default   # times
    python benchmarks/prune_bench.py --malloc release   # peak memory

Each method runs in a fresh process that loads the model, reads every weight once (`from_pretrained` memory-maps
safetensors: pages first touched during pruning would count as pruning memory), times one plain forward pass over the
calibration set, then prunes. Peak memory is measured above the level at the start of `prune`, as
`cap_nb.prune.peak_memory` does (on CPU: the process high-water mark, reset through /proc/self/clear_refs).
With glibc's default allocator, memory freed earlier (by loading, by the forward pass) is reused without raising the
resident size, so the peak reads low or even zero. `--malloc release` runs the processes with
MALLOC_MMAP_THRESHOLD_=65536, so that every freed tensor goes back to the system and the high-water mark is the true
peak; but every allocation then costs page faults (the forward pass of the default model took 3x longer), so read
times from a `--malloc default` run and peak memory from a `--malloc release` run.
CAP's cost does not depend on the score values: random head scores are used. torch uses --threads threads.
"""
import argparse, json, os, subprocess, sys, time


def calibration(n=32, seed=0):
    "n GSM8K train problems with their worked solutions: (context, target) pairs"
    from cap_nb.tasks import load_task, gold_pair
    return [gold_pair(it, gsm8k_target="solution") for it in load_task("gsm8k", "train", n=n, seed=seed)]


def one(a):
    "Measure one method in this process; print a RESULT line"
    import torch
    from types import SimpleNamespace
    from cap_nb.models import load_model
    from cap_nb.hooks import attention_layout
    from cap_nb.prune import prune, peak_memory, calib_batches
    torch.set_num_threads(a.threads)
    model, tok = load_model(a.model)
    with torch.no_grad(): sum(float(p.abs().sum()) for p in model.parameters())
    calib = calibration(a.n)
    batches = calib_batches(calib, tok, batch_size=8, max_len=256, device=model.device)
    with peak_memory(model.device) as fwd, torch.inference_mode():
        for ids, am in batches: model(input_ids=ids, attention_mask=am, use_cache=False)
    lay = attention_layout(model)
    scores = SimpleNamespace(scores=torch.randn(len(lay), lay[0].n_heads, generator=torch.Generator().manual_seed(0)))
    r = prune(model, a.one, a.sparsity, calib=calib, tok=tok, scores=scores if a.one.startswith("cap") else None, progress=False)
    size = sum(p.numel() * p.element_size() for p in model.parameters())
    print("RESULT " + json.dumps(dict(method=a.one, time_s=r.time_s, fwd_s=fwd["time_s"], peak=r.peak_bytes, fwd_peak=fwd["peak_bytes"],
                                      size=size, sparsity=float(r.overall), tokens=sum(int(am.sum()) for _, am in batches),
                                      dtype=str(model.dtype))), flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="smollm2-135m"); p.add_argument("--n", type=int, default=32)
    p.add_argument("--sparsity", type=float, default=0.5); p.add_argument("--threads", type=int, default=2)
    p.add_argument("--methods", default="magnitude,wanda,sparsegpt,cap_budget,cap_scaled")
    p.add_argument("--malloc", choices=["default", "release"], default="default",
                   help="release: glibc returns freed memory (true peak memory, slow); default: normal speed (times)")
    p.add_argument("--one", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.one: return one(a)
    import pandas as pd
    env = {**os.environ, **({"MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "0"} if a.malloc == "release" else {})}
    print(f"$ python benchmarks/prune_bench.py {' '.join(sys.argv[1:])}   ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"{a.threads} threads, {os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.1f})", flush=True)
    rows = []
    for m in a.methods.split(","):
        cmd = [sys.executable, __file__, "--one", m, "--model", a.model, "--n", str(a.n), "--sparsity", str(a.sparsity), "--threads", str(a.threads)]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        line = [l for l in r.stdout.splitlines() if l.startswith("RESULT ")]
        if r.returncode or not line: sys.exit(f"{m} failed:\n{r.stderr[-3000:]}")
        d = json.loads(line[0][7:]); mib = 2**20
        rows.append(dict(method=m, time_s=round(d["time_s"], 2), x_forward=round(d["time_s"] / d["fwd_s"], 1),
                         forward_s=round(d["fwd_s"], 2), peak_MiB=round(d["peak"] / mib), forward_peak_MiB=round(d["fwd_peak"] / mib),
                         model_MiB=round(d["size"] / mib), peak_x_model=round((d["size"] + d["peak"]) / d["size"], 2),
                         sparsity=round(d["sparsity"], 6)))
        print(rows[-1], flush=True)
    print(f"{a.model}, {d['dtype']}, calibration {a.n} sequences = {d['tokens']} tokens, sparsity {a.sparsity}; "
          f"load average at end {os.getloadavg()[0]:.1f}")
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__": main()
