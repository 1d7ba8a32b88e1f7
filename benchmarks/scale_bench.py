"""Time and peak memory of head scoring at the paper's scale: random Llama-3-8B and Mistral-7B, on 1 and 2 processes.

The models are built from the real configurations (benchmarks/score_bench.py: hidden 4096, 32 query / 8 KV heads, MLP 14336)
with random weights in bf16, at reduced depth so that they fit this machine; the input and output embeddings share one
matrix to save memory (the computation is the same as with two), and Mistral's vocabulary grows from 32768 to the
49152 ids of the tokenizer at hand (SmolLM2's; the weights are random, so which tokens they are does not matter).
Measured per depth D and process count P:
  first_order  one forward + backward per calibration batch, every head at once
  fast         fast exact scoring of the first K heads of every layer (mlp=False)
  fixed        `fast` with no head selected on one process: encoding, fingerprint and the dense pass
Extrapolation to the full depth L (printed with its numbers):
  first_order(L) = a + b*L, a line through the one-process times at depths 1 and 2
  fast(L)        = fixed(L) + c * H * L*(L+1)/2, fixed(L) a line like first_order's, and
                   c = (fast(2) - fixed(2)) / (K * 3) the time per masked head and layer replayed (a head of layer l
                   replays layers l..L-1: K heads in each of 2 layers replay 2 + 1 layers each)
Two processes split `fast` by layers and `first_order` by calibration batches (cap_nb.distributed); their times are
the slowest process's, peak memory the largest process's. Each process runs one thread.
  python benchmarks/scale_bench.py --save benchmarks/scale_bench.txt
"""
import argparse, json, os, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from score_bench import CONFIGS


def worker(a):
    "One process of a measurement (plain, or one of torchrun's): build the model, score, print RESULT lines on rank 0"
    import torch
    torch.set_num_threads(1)
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from cap_nb.models import checkpoint_for
    from cap_nb.causal_scores import calibration_set
    from cap_nb.prune import peak_memory
    from cap_nb.distributed import distributed_head_scores, init_distributed, gathered
    rank, n = init_distributed()
    tok = AutoTokenizer.from_pretrained(checkpoint_for("smollm2-135m"))  # the tokenizer at hand (49152 ids)
    kw = {**CONFIGS[a.config], "num_hidden_layers": a.depth, "tie_word_embeddings": True}
    kw["vocab_size"] = max(kw["vocab_size"], len(tok))   # Mistral's 32768 grows to 49152 so that every id is valid
    cfg = AutoConfig.for_model(kw.pop("model_type"), **kw)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16).eval()
    calib = calibration_set(("arc_challenge", "gsm8k"), n=a.n // 2)
    heads = {l: list(range(a.k)) for l in range(a.depth)}
    for m in a.methods:
        sel = dict(method="fast", heads=torch.zeros(a.depth, cfg.num_attention_heads, dtype=torch.bool)) if m == "fixed" else \
              dict(method="fast", heads=heads) if m == "fast" else dict(method="first_order")
        with peak_memory() as mem:
            distributed_head_scores(model, tok, calib, mlp=False, neurons=False, checkpoint=False, progress=False,
                                    batch_size=a.batch_size, **sel)
        r = gathered(dict(time_s=mem["time_s"], peak_gib=(mem["peak_bytes"] or 0) / 2**30))
        if rank == 0:
            print("RESULT " + json.dumps(dict(config=a.config, depth=a.depth, procs=n, method=m, items=len(calib),
                                              time_s=max(x["time_s"] for x in r), peak_gib=max(x["peak_gib"] for x in r))), flush=True)


def run(a, depth, procs, methods):
    "Results of one measurement: `methods` on a `depth`-layer model, in `procs` processes (torchrun when more than one)"
    args = ["--one", "--config", a.config, "--depth", str(depth), "--k", str(a.k), "--n-items", str(a.n),
            "--batch-size", str(a.batch_size), "--methods", *methods]
    launch = [sys.executable] + (["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={procs}"] if procs > 1 else [])
    r = subprocess.run(launch + [os.path.abspath(__file__)] + args, capture_output=True, text=True,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    if r.returncode: sys.exit(f"failed: {' '.join(args)}\n{r.stderr[-3000:]}")
    out = [json.loads(l[7:]) for l in r.stdout.splitlines() if l.startswith("RESULT ")]
    print(json.dumps(out), flush=True)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", nargs="+", default=list(CONFIGS))
    p.add_argument("--k", type=int, default=4, help="fast: heads scored in every layer")
    p.add_argument("--n-items", dest="n", type=int, default=4, help="calibration problems (half ARC-Challenge, half GSM8K)")
    p.add_argument("--batch-size", type=int, default=2)
    p.add_argument("--save", default=None)
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--config", default=None, help=argparse.SUPPRESS)
    p.add_argument("--depth", type=int, default=2, help=argparse.SUPPRESS)
    p.add_argument("--methods", nargs="+", default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one: return worker(a)
    import torch, transformers, cap_nb
    lines = [f"`python benchmarks/scale_bench.py {' '.join(sys.argv[1:])}`",
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; torch {torch.__version__}, transformers {transformers.__version__}, "
             f"cap_nb {cap_nb.__version__}; {os.cpu_count()} CPUs, 1 thread per process; bf16; {a.n} calibration problems, "
             f"batch size {a.batch_size}; load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", ""]
    rows = []
    for c in a.configs:
        a.config = c
        rows += run(a, 1, 1, ["fixed", "first_order"]) + run(a, 2, 1, ["fixed", "fast", "first_order"]) + run(a, 2, 2, ["fast", "first_order"])
    lines += ["| config | depth | processes | method | seconds | peak GiB over the model |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['config']} | {r['depth']} | {r['procs']} | {r['method']}{' (' + str(a.k) + ' heads/layer)' if r['method'] == 'fast' else ''} "
              f"| {r['time_s']:.1f} | {r['peak_gib']:.2f} |" for r in rows]
    lines += ["", "Full depth, one process (formulas in the script's docstring):"]
    for c in a.configs:
        t = {(r["depth"], r["procs"], r["method"]): r["time_s"] for r in rows if r["config"] == c}
        L, H = CONFIGS[c]["num_hidden_layers"], CONFIGS[c]["num_attention_heads"]
        line = lambda m: (t[(1, 1, m)] - (t[(2, 1, m)] - t[(1, 1, m)]), t[(2, 1, m)] - t[(1, 1, m)])  # (a, b) of a + b*D
        (a0, b0), (af, bf) = line("first_order"), line("fixed")
        cst = (t[(2, 1, "fast")] - t[(2, 1, "fixed")]) / (a.k * 3)
        fast_L = af + bf * L + cst * H * L * (L + 1) / 2
        lines += [f"- {c}: first_order({L}) = {a0:.1f} + {b0:.1f}*{L} = {a0 + b0 * L:.0f} s; "
                  f"fast({L}) = {af:.1f} + {bf:.1f}*{L} + {cst:.2f}*{H}*{L}*{L + 1}/2 = {fast_L:.0f} s "
                  f"({fast_L / 3600:.1f} h; {L * H} heads); two processes at depth 2: fast {t[(2, 1, 'fast')] / t[(2, 2, 'fast')]:.2f}x, "
                  f"first_order {t[(2, 1, 'first_order')] / t[(2, 2, 'first_order')]:.2f}x the one-process speed"]
    lines += ["", f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}"]
    print("\n".join(lines))
    if a.save: open(a.save, "w").write("\n".join(lines) + "\n")


if __name__ == "__main__": main()
