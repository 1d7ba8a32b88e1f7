"""Wall time and peak memory of cap_nb's head scorers (exact / fast / first_order / hybrid).

Each (model, dtype, n, method) runs in its own subprocess, so peak memory is that method's alone.
Examples:
  python benchmarks/score_bench.py                                   # default model, n=16,32, fp32+bf16, all methods
  python benchmarks/score_bench.py --layer-stride 3 --heads-per-layer 1   # time exact/fast on a head subset, extrapolate
  python benchmarks/score_bench.py --config llama3-8b --dtype bf16 --methods fast first_order   # random 8B (GPU)
`fast` batches a layer's masked copies into shared forwards, so time it on whole layers (--fast-heads-per-layer 9):
one head per layer would show only the prefix reuse, not the batching. Ratios are taken within one dtype and one n. exact and fast costs are linear in the number of heads scored, so with a
head subset their full-model times are extrapolated and marked with '~': fixed cost (a run with no head) + per-head
cost x all heads. Spearman and top-10% overlap are over the heads exact scored.
"""
import argparse, json, os, resource, subprocess, sys, tempfile, time

CONFIGS = {  # real architectures, randomly initialised (no weights needed)
    "llama3-8b": dict(model_type="llama", vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                      num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=8192, rope_theta=500000.0,
                      rms_norm_eps=1e-5, tie_word_embeddings=False),
    "mistral-7b": dict(model_type="mistral", vocab_size=32768, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                       num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=32768, rope_theta=1e6,
                       tie_word_embeddings=False),
}


def rss_mib():
    "Current resident memory of this process (MiB)"
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"): return int(line.split()[1]) / 1024
    return float("nan")


def build(args):
    import torch
    from cap_nb.models import load_model
    dev = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if args.config:
        from transformers import AutoConfig, AutoModelForCausalLM
        kw = dict(CONFIGS[args.config]) if args.config in CONFIGS else json.load(open(args.config))
        kw.update(json.loads(args.config_overrides))
        cfg = AutoConfig.for_model(kw.pop("model_type"), **kw)
        torch.manual_seed(0)
        with torch.device(dev): model = AutoModelForCausalLM.from_config(cfg, dtype=args.dtype_t).eval()
        from transformers import AutoTokenizer
        from cap_nb.models import checkpoint_for
        tok = AutoTokenizer.from_pretrained(checkpoint_for("smollm2-135m"))  # any tokenizer whose ids fit the vocab
        if tok.pad_token is None: tok.pad_token = tok.eos_token
    else: model, tok = load_model(args.model, dtype=args.dtype_t, device=dev)
    return model, tok, dev


def one(args):
    "Run one method in this process; print a JSON line with time and memory"
    import torch
    torch.set_num_threads(args.threads)
    args.dtype_t = {"fp32": torch.float32, "bf16": torch.bfloat16}[args.dtype]
    from cap_nb.causal_scores import calibration_set, head_scores
    from cap_nb.hooks import attention_layout
    model, tok, dev = build(args)
    L, H = len(attention_layout(model)), attention_layout(model)[0].n_heads
    tasks = tuple(args.tasks.split(","))
    calib = calibration_set(tasks, n=args.n // len(tasks), gsm8k_target=args.gsm8k_target)
    sel = torch.zeros(L, H, dtype=torch.bool)
    per_layer = args.fast_heads_per_layer if args.method == "fast" and args.fast_heads_per_layer else args.heads_per_layer
    for l in range(args.layer_stride // 2, L, args.layer_stride): sel[l, :per_layer] = True
    if args.fixed: sel[:] = False  # no head: the method's fixed cost alone (encoding, fingerprint, dense passes)
    subset = args.method in ("exact", "fast") and not sel.all()
    kw = dict(method=args.method, mlp=False, neurons=False, checkpoint=False, progress=False, batch_size=args.batch_size,
              max_rows=args.max_rows, heads=sel if subset else None)
    if args.method == "hybrid": kw["hybrid_k"] = args.hybrid_k
    base = rss_mib()
    if dev.startswith("cuda"): torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    hs = head_scores(model, tok, calib, **kw)
    if dev.startswith("cuda"): torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gpu = torch.cuda.max_memory_allocated() / 2**20 if dev.startswith("cuda") else None
    hs.save(args.out)
    print("RESULT " + json.dumps(dict(method=args.method, n=len(calib), dtype=args.dtype, wall=wall, frac=sel.float().mean().item() if subset else 1.0,
                                      units=int(sel.sum()) if subset else L * H, total_heads=L * H, rss_base=base, rss_peak=peak, gpu_peak=gpu,
                                      device=dev, L=L, H=H)), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--config", default=None, help=f"random init from a config: {list(CONFIGS)} or a JSON file")
    p.add_argument("--config-overrides", default="{}", help="JSON dict merged into --config (e.g. fewer layers for a smoke test)")
    p.add_argument("--n", type=int, nargs="+", default=[16, 32], help="calibration sizes (split equally over --tasks)")
    p.add_argument("--dtype", nargs="+", default=["fp32", "bf16"])
    p.add_argument("--methods", nargs="+", default=["exact", "fast", "first_order", "hybrid"])
    p.add_argument("--tasks", default="arc_challenge,gsm8k")
    p.add_argument("--gsm8k-target", default="answer")
    p.add_argument("--layer-stride", type=int, default=1, help="exact/fast: score heads in every k-th layer only")
    p.add_argument("--heads-per-layer", type=int, default=10**6, help="exact/fast: score only the first m heads of those layers")
    p.add_argument("--fast-heads-per-layer", type=int, default=None,
                   help="fast: heads per timed layer (default --heads-per-layer); all of a layer's heads share batched forwards")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-rows", type=int, default=64)
    p.add_argument("--hybrid-k", type=float, default=0.05)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (CPU)")
    p.add_argument("--device", default=None)
    p.add_argument("--save", default=None, help="also write the command, machine load and table to this Markdown file")
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)
    p.add_argument("--fixed", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--out", default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one:
        a.method, (a.n, a.dtype) = a.one, (a.n[0], a.dtype[0])
        return one(a)
    import torch
    from scipy.stats import spearmanr
    from cap_nb.causal_scores import HeadScores
    head = (f"`python benchmarks/{os.path.basename(__file__)} {' '.join(sys.argv[1:])}`  \n"
            f"model {a.config or a.model} {a.config_overrides if a.config else ''}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
            f"torch {torch.__version__}, {a.threads} threads, {os.cpu_count()} CPUs, "
            f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(head, flush=True)
    tmp, rows = tempfile.mkdtemp(), []
    def write(rows, final):
        "Print the table (at the end) and save it after every configuration, so an interrupted run keeps what it measured"
        cols = list(dict.fromkeys(k for r in rows for k in r if k != "gpu_peak_mib" or r[k] is not None))
        table = "\n".join(["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)] +
                          ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows])
        text = f"{head}, {'after' if final else 'so far'}: {' '.join(f'{x:.1f}' for x in os.getloadavg())}\n\n{table}\n"
        if final: print(text)
        if a.save: open(a.save, "w").write(text)
    def run(m, n, dtype, fixed=False):
        out = os.path.join(tmp, f"{m}-{dtype}-{n}{'-fixed' if fixed else ''}.safetensors")
        cmd = [sys.executable, __file__, "--one", m, "--n", str(n), "--dtype", dtype, "--out", out] + (["--fixed"] if fixed else []) + \
              [x for k, v in vars(a).items() if k not in ("one", "out", "n", "dtype", "methods", "fixed") and v is not None
               for x in (f"--{k.replace('_', '-')}", str(v))]
        r = subprocess.run(cmd, capture_output=True, text=True)
        line = [l for l in r.stdout.splitlines() if l.startswith("RESULT ")]
        if r.returncode or not line: print(r.stdout[-2000:], r.stderr[-4000:], file=sys.stderr); sys.exit(f"{m} failed")
        res = json.loads(line[0][7:]); res["scores"] = HeadScores.load(out).scores
        return res
    for n in a.n:
        for dtype in a.dtype:
            res = {}
            for m in a.methods:
                res[m] = r = run(m, n, dtype)
                # a head subset: full time = fixed cost + per-head cost x all heads (measured with no head at all)
                r["full"] = r["wall"] if r["frac"] == 1 else (lambda f: f + (r["wall"] - f) / r["frac"])(run(m, n, dtype, True)["wall"])
            ex = res.get("exact")
            for m, r in res.items():
                row = dict(dtype=dtype, n=r["n"], method=m, heads_timed=f"{r['units']}/{r['total_heads']}", wall_s=round(r["wall"], 1),
                           full_s=("~" if r["frac"] < 1 else "") + f"{r['full']:.1f}", rss_peak_mib=round(r["rss_peak"]),
                           rss_over_model_mib=round(r["rss_peak"] - r["rss_base"]),
                           gpu_peak_mib=None if r["gpu_peak"] is None else round(r["gpu_peak"]))
                if ex:
                    row["speedup_vs_exact"] = round(ex["full"] / r["full"], 2)
                    both = ~(ex["scores"].isnan() | r["scores"].isnan())
                    e, s = ex["scores"][both], r["scores"][both]
                    if m != "exact" and both.sum() > 2:
                        row["spearman_vs_exact"] = f"{float(spearmanr(e, s).statistic):.3f} ({int(both.sum())} heads)"
                        k = max(1, round(0.1 * len(e)))
                        row["top10%_overlap"] = f"{len(set(e.argsort()[-k:].tolist()) & set(s.argsort()[-k:].tolist()))}/{k}"
                        row["max_abs_diff"] = f"{(e - s).abs().max():.1e}"
                rows.append(row); print(json.dumps(row), flush=True)
            write(rows, final=False)
    write(rows, final=True)


if __name__ == "__main__": main()
