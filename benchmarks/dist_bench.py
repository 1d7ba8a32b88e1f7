"""One process against two (torchrun, gloo) on the default model: head scoring and pruning's calibration statistics.

Each process runs one thread, so two processes use both cores of a 2-core machine where one uses one: the ratio is
the speed-up the split gives when the cores are free (read it with the load average printed alongside). Measured in
one run: `fast` exact scoring of the first K heads of every layer (split by layers), first-order scoring (split by
calibration batches), and Wanda and SparseGPT pruning at 50 % (calibration batches split, statistics all-reduced).
Times are the slowest process's; the two-process results are checked against the one-process ones.
  python benchmarks/dist_bench.py --save benchmarks/dist_bench.txt
"""
import argparse, json, os, subprocess, sys, tempfile, time


def worker(a):
    "One process: load the model, run every measurement, print RESULT lines (rank 0) and save the results"
    import torch
    torch.set_num_threads(1)
    from cap_nb.models import load_model
    from cap_nb.causal_scores import calibration_set
    from cap_nb.experiment import generic_calibration, DenseRestorer
    from cap_nb.prune import prune
    from cap_nb.distributed import distributed_head_scores, init_distributed, gathered
    rank, n = init_distributed()
    model, tok = load_model(dtype=a.dtype, device="cpu")
    calib, text, restore, out = calibration_set(n=a.n), generic_calibration(a.windows), DenseRestorer(model), {}
    H = model.config.num_attention_heads
    heads = {l: list(range(a.k)) for l in range(model.config.num_hidden_layers)}
    jobs = dict(fast=lambda: distributed_head_scores(model, tok, calib, method="fast", heads=heads, mlp=False, neurons=False,
                                                     checkpoint=False, progress=False).scores,
                first_order=lambda: distributed_head_scores(model, tok, calib, method="first_order", neurons=False,
                                                            checkpoint=False, progress=False).scores,
                wanda=lambda: prune(restore(), "wanda", 0.5, calib=text, tok=tok, batch_size=4, progress=False).masks,
                sparsegpt=lambda: prune(restore(), "sparsegpt", 0.5, calib=text, tok=tok, batch_size=4, progress=False).masks)
    for m, job in jobs.items():
        t0 = time.perf_counter(); out[m] = job(); t = max(gathered(time.perf_counter() - t0))
        if rank == 0: print("RESULT " + json.dumps(dict(method=m, procs=n, time_s=t)), flush=True)
    if rank == 0: torch.save(out, a.out)


def run(a, procs, out):
    launch = [sys.executable] + (["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={procs}"] if procs > 1 else [])
    args = ["--one", "--out", out, "--k", str(a.k), "--per-task", str(a.n), "--windows", str(a.windows), "--dtype", a.dtype]
    r = subprocess.run(launch + [os.path.abspath(__file__)] + args, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if r.returncode: sys.exit(f"{procs} processes failed:\n{r.stderr[-3000:]}")
    return {d["method"]: d["time_s"] for d in (json.loads(l[7:]) for l in r.stdout.splitlines() if l.startswith("RESULT "))}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--k", type=int, default=3, help="fast: heads scored in every layer")
    p.add_argument("--per-task", dest="n", type=int, default=4, help="calibration problems per task (GSM8K, StrategyQA, ARC-Challenge)")
    p.add_argument("--windows", type=int, default=8, help="generic text windows for Wanda and SparseGPT (batches of 4)")
    p.add_argument("--dtype", default="bf16")
    p.add_argument("--save", default=None)
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--out", default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one: return worker(a)
    import torch, transformers, cap_nb
    head = [f"`python benchmarks/dist_bench.py {' '.join(sys.argv[1:])}`",
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; torch {torch.__version__}, transformers {transformers.__version__}, "
            f"cap_nb {cap_nb.__version__}; {os.cpu_count()} CPUs, 1 thread per process; smollm2-135m {a.dtype}; "
            f"{3 * a.n} calibration problems (batches of 8), {a.windows} text windows; load average before: "
            f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}", ""]
    tmp = tempfile.mkdtemp()
    t1, t2 = run(a, 1, f"{tmp}/one.pt"), run(a, 2, f"{tmp}/two.pt")
    one, two = torch.load(f"{tmp}/one.pt"), torch.load(f"{tmp}/two.pt")
    def agree(m):
        if m in ("wanda", "sparsegpt"): return "masks identical" if all(torch.equal(one[m][k], two[m][k]) for k in one[m]) else "MASKS DIFFER"
        return f"largest score difference {(one[m] - two[m]).nan_to_num().abs().max():.1e}"
    what = dict(fast=f"fast exact, {a.k} heads x 30 layers", first_order="first order, all heads",
                wanda="Wanda 50 % (statistics)", sparsegpt="SparseGPT 50 % (statistics + solve)")
    lines = head + ["| work | 1 process s | 2 processes s | speed-up | two vs one |", "|---|---|---|---|---|"]
    lines += [f"| {what[m]} | {t1[m]:.1f} | {t2[m]:.1f} | {t1[m] / t2[m]:.2f}x | {agree(m)} |" for m in t1]
    lines += ["", f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}"]
    print("\n".join(lines))
    if a.save: open(a.save, "w").write("\n".join(lines) + "\n")


if __name__ == "__main__": main()
