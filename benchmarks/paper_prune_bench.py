"""Time and peak memory of `prune(model, "cap_paper", 0.5, scores=...)` — the paper's S = |W|·I with one exact global
threshold — against per-matrix `magnitude` (and the global/layerwise siblings) on the same model.

Models: the default model (SmolLM2-135M-Instruct, fp32, as `load_model()` gives it) and a randomly initialised
Llama-3-8B-shaped model (hidden 4096, 32 heads, 8 KV heads, head_dim 128, intermediate 14336) with only `--layers`
decoder layers (default 2), bf16, and a 32000-token vocabulary instead of 128256 (embeddings and lm_head are not pruned;
the smaller vocabulary keeps them from dominating the model's size). Head scores are random (seeded): time and
memory do not depend on their values. Time is wall clock and process CPU time (on a loaded machine the CPU time is
the steadier number). Each (model, method) runs in its own process with MALLOC_MMAP_THRESHOLD_=65536,
so freed buffers return to the system and the high-water mark is the true peak; peak = `PruneReport.peak_bytes`, the
process high-water mark during `prune` above the resident set at its start (model loaded), and is given relative to
the model's size (all parameters) and to the bytes of the pruned linears.

    nice -n 15 python benchmarks/paper_prune_bench.py --out benchmarks/paper_prune_bench.txt
"""
import argparse, gc, json, os, platform, subprocess, sys, time

TIMED_METHODS = ("magnitude", "cap_paper", "magnitude_global", "cap_paper_layerwise")


def build(name, layers):
    "(model, description) for `name`"
    import torch
    if name == "smollm2-135m":
        from cap_nb.models import load_model
        return load_model()[0], "SmolLM2-135M-Instruct, fp32"
    from transformers import AutoModelForCausalLM, LlamaConfig
    cfg = LlamaConfig(vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=layers,
                      num_attention_heads=32, num_key_value_heads=8, head_dim=128, tie_word_embeddings=False)
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16).eval(), f"Llama-3-8B-shaped, {layers} layers, vocab 32000, bf16, random init"


def one(a):
    "Measure one (model, method) in this process; print a RESULT line"
    import torch
    from cap_nb.hooks import attention_layout
    from cap_nb.prune import prune
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter(); model, desc = build(a.model, a.layers); t_build = time.perf_counter() - t0
    lay = attention_layout(model)
    scores = torch.randn(len(lay), lay[0].n_heads, generator=torch.Generator().manual_seed(0))
    lin_bytes = sum(l.weight.numel() * l.weight.element_size() for lo in lay for l in lo.linears.values())
    gc.collect(); c0 = time.process_time()
    r = prune(model, a.method, a.sparsity, scores=scores, progress=False)
    cpu = time.process_time() - c0
    exact = int(r.table.zeros.sum()) == round(a.sparsity * int(r.table.numel.sum()))
    print("RESULT " + json.dumps(dict(model=a.model, desc=desc, method=a.method, time_s=round(r.time_s, 2), cpu_s=round(cpu, 2),
        peak_extra_mb=round(r.peak_bytes / 2**20, 1), model_mb=round(r.model_bytes / 2**20, 1), linears_mb=round(lin_bytes / 2**20, 1),
        peak_over_model=round(r.peak_bytes / r.model_bytes, 3), peak_over_linears=round(r.peak_bytes / lin_bytes, 3),
        overall=round(float(r.overall), 6), exact_k=exact, layer_sparsity_range=[round(float(x), 3) for x in
        (lambda t: ((t.zeros / t.numel).min(), (t.zeros / t.numel).max()))(r.table.groupby("layer")[["zeros", "numel"]].sum())],
        build_s=round(t_build, 1))), flush=True)


def versions():
    import torch, transformers, numpy
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    return f"python {platform.python_version()}  torch {torch.__version__}  transformers {transformers.__version__}  numpy {numpy.__version__}  cap_nb commit {commit}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="smollm2-135m,llama3-8b-shaped")
    p.add_argument("--methods", default=",".join(TIMED_METHODS))
    p.add_argument("--layers", type=int, default=2, help="decoder layers of the Llama-3-8B-shaped model")
    p.add_argument("--sparsity", type=float, default=0.5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=None)
    p.add_argument("--one", nargs=2, metavar=("MODEL", "METHOD"), help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.one: a.model, a.method = a.one; return one(a)
    lines = [f"# {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}  {versions()}",
             f"# threads {a.threads}  CPU {platform.processor() or platform.machine()} ({os.cpu_count()} cores)  "
             f"loadavg at start {open('/proc/loadavg').read().split()[:3]}  (run under nice -n 15 beside other jobs)",
             f"# sparsity {a.sparsity}; random head scores; peak = process high-water mark during prune above the loaded model"]
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "OMP_NUM_THREADS": str(a.threads)}
    res = []
    for model in a.models.split(","):
        for method in a.methods.split(","):
            out = subprocess.run([sys.executable, __file__, "--one", model, method, "--threads", str(a.threads),
                                  "--layers", str(a.layers), "--sparsity", str(a.sparsity)], env=env, capture_output=True, text=True)
            r = [json.loads(l[7:]) for l in out.stdout.splitlines() if l.startswith("RESULT ")]
            if not r: lines.append(f"# {model} {method} failed: {out.stderr[-800:]}"); print(lines[-1]); continue
            res.append(r[0]); lines.append(json.dumps(r[0])); print(lines[-1], flush=True)
    for model in a.models.split(","):
        mag = [r for r in res if r["model"] == model and r["method"] == "magnitude"]
        for r in [r for r in res if r["model"] == model and r["method"] != "magnitude" and mag]:
            lines.append(f"# {model}: {r['method']} / magnitude: time {r['time_s'] / mag[0]['time_s']:.2f}x (CPU time {r['cpu_s'] / mag[0]['cpu_s']:.2f}x), "
                         f"extra peak {r['peak_extra_mb']} MB vs {mag[0]['peak_extra_mb']} MB ({r['peak_over_model']:.2f}x vs {mag[0]['peak_over_model']:.2f}x the model)")
    lines.append(f"# loadavg at end {open('/proc/loadavg').read().split()[:3]}")
    print("\n".join(lines))
    if a.out: open(a.out, "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
