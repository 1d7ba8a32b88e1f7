"""Speed, size and peak memory of structured pruning (heads and MLP channels removed) against the dense model and against
unstructured pruning (the same fraction of weights zeroed in place), on one model.

    nice -n 15 python benchmarks/structured_bench.py                       # default model, 10/20/30 % removed
    nice -n 15 python benchmarks/structured_bench.py --model qwen2.5-coder-1.5b --dtype bf16

Every variant is built from one dense model in one process: `structured@f` removes the fraction f of every decoder
layer's linear parameters with `cap_nb.structured.structured_plan` (magnitude scores: the speed of a cut depends on its
shapes, not on which units the criterion picks); `unstructured@f` zeroes the same fraction of each linear's weights with
`cap_nb.prune.prune(model, "magnitude", f)`. Embedding and LM head are shared by all variants.

Timing is interleaved: each round measures every variant once, in a new random order, and a variant's ratio to dense is
the median over rounds of (variant / dense of the same round), so a change in machine load shifts both sides alike.
All variants, dense included, hold their weights in ordinary memory (from_pretrained memory-maps the checkpoint file,
the copies do not).
- prefill: tokens/s of one forward pass over --batch x --prefill random token sequences (no cache);
- decode: new tokens/s of greedy `generate` of --decode tokens after a --prompt-token prompt (batch 1, KV cache).
Every variant is saved as a checkpoint (file size = its tensor data). Peak memory is then measured in one fresh process
per variant that loads the saved checkpoint (`cap_nb.structured.load_structured`), with glibc returning freed memory
(MALLOC_MMAP_THRESHOLD_): the process's resident high-water mark over loading, one prefill and one decode — what a user
of the checkpoint needs, including the Python/torch runtime (~0.3 GiB) common to all variants.
The load average (from /proc/loadavg) before and after is printed: read ratios, not absolute speeds, on a shared machine.
"""
import argparse, copy, gc, json, os, platform, random, statistics, subprocess, sys, tempfile, time
from pathlib import Path


def variants(fractions):
    return ["dense"] + [f"{kind}@{f:g}" for kind in ("structured", "unstructured") for f in fractions]


def build(dense, name):
    "The variant `name` of `dense`: a copy sharing the embeddings, cut or zeroed"
    import torch
    from cap_nb.structured import structured_plan, magnitude_scores, remove_units
    from cap_nb.prune import prune
    if name == "dense": return dense
    emb = dense.get_input_embeddings().weight
    m = copy.deepcopy(dense, memo={id(emb): emb})
    kind, f = name.split("@")
    if kind == "structured": remove_units(m, *structured_plan(m, *magnitude_scores(m), float(f)))
    else: prune(m, "magnitude", float(f), progress=False)
    return m


def prefill(m, ids):
    import torch
    with torch.inference_mode(): t = time.perf_counter(); m(input_ids=ids, use_cache=False); return time.perf_counter() - t


def decode(m, prompt, n, pad):
    import torch
    with torch.inference_mode():
        t = time.perf_counter()
        out = m.generate(prompt, max_new_tokens=n, min_new_tokens=n, do_sample=False, temperature=None, top_p=None,
                         top_k=None, pad_token_id=pad)
        dt = time.perf_counter() - t
    assert out.shape[1] - prompt.shape[1] == n
    return dt


def load_avg(): return open("/proc/loadavg").read().split()[:3]


def setup(a):
    import torch
    from cap_nb.models import load_model
    torch.set_num_threads(a.threads)
    model, tok = load_model(a.model, dtype=a.dtype, device=a.device)
    with torch.no_grad():  # from_pretrained memory-maps the file: copy every weight into ordinary memory, as the variants are
        for p in model.parameters(): p.data = p.data.clone()
    g = torch.Generator().manual_seed(0)
    V = model.config.vocab_size
    ids = torch.randint(0, V, (a.batch, a.prefill), generator=g).to(model.device)
    prompt = torch.randint(0, V, (1, a.prompt_tokens), generator=g).to(model.device)
    return model, tok, ids, prompt


def memory_one(a):
    "Fresh process: load one saved variant, report the resident high-water mark of one prefill and one decode"
    import torch
    from cap_nb.models import as_dtype
    from cap_nb.structured import load_structured
    torch.set_num_threads(a.threads)
    device = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    m = load_structured(a.memory_one, dtype=as_dtype(a.dtype, device), device=device)
    with torch.no_grad(): sum(float(p.float().sum()) for p in m.parameters())  # touch every weight (memory-mapped files)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, m.config.vocab_size, (a.batch, a.prefill), generator=g).to(device)
    prompt = torch.randint(0, m.config.vocab_size, (1, a.prompt_tokens), generator=g).to(device)
    if device == "cuda": torch.cuda.reset_peak_memory_stats()
    prefill(m, ids); decode(m, prompt, a.decode, m.config.eos_token_id)
    hwm = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) * 1024
    peak = torch.cuda.max_memory_allocated() if device == "cuda" else hwm
    print("MEM " + json.dumps(dict(peak_MiB=round(peak / 2**20))), flush=True)


def environment(a):
    import torch, transformers
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent).stdout.strip()
    return dict(python=platform.python_version(), torch=torch.__version__, transformers=transformers.__version__,
                cap_nb_commit=commit, cpu=cpu, cpus=os.cpu_count(), threads=torch.get_num_threads(), nice=os.nice(0),
                device=a.device or ("cuda" if torch.cuda.is_available() else "cpu"),
                gpu=torch.cuda.get_device_name() if torch.cuda.is_available() else None)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="smollm2-135m", help="short name, checkpoint folder or GGUF file (cap_nb.models.load_model)")
    p.add_argument("--dtype", default="fp32"); p.add_argument("--device", default=None)
    p.add_argument("--fractions", type=float, nargs="+", default=[0.1, 0.2, 0.3])
    p.add_argument("--threads", type=int, default=1); p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--batch", type=int, default=4); p.add_argument("--prefill", type=int, default=256)
    p.add_argument("--prompt-tokens", type=int, default=16); p.add_argument("--decode", type=int, default=32)
    p.add_argument("--no-memory", action="store_true", help="skip the per-variant peak-memory processes")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    p.add_argument("--memory-one", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.memory_one: return memory_one(a)
    import torch
    from cap_nb.structured import n_params, tensor_bytes, save_structured
    load0, t0 = load_avg(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    model, tok, ids, prompt = setup(a)
    names = variants(a.fractions)
    models = {n: build(model, n) for n in names}
    env = environment(a)
    print(f"# {t0}  model {a.model} ({a.dtype}), {env}\n# load average at start {' '.join(load0)}", flush=True)
    rows = {n: dict(variant=n, params=n_params(m, False), decoder_params=n_params(m),
                    nonzero_decoder=sum(int((p != 0).sum()) for l in m.model.layers for p in l.parameters() if p.dim() == 2))
            for n, m in models.items()}
    tmp = tempfile.TemporaryDirectory(prefix="structured_bench-")
    for n, m in models.items():
        save_structured(m, None, Path(tmp.name) / n)
        rows[n]["file_MiB"] = round(sum(tensor_bytes(f) for f in (Path(tmp.name) / n).glob("*.safetensors")) / 2**20, 1)
        rows[n]["weights_MiB"] = round(sum(p.numel() * p.element_size() for p in m.parameters()) / 2**20, 1)
    for m in models.values(): prefill(m, ids[:, :32]); decode(m, prompt, 2, tok.pad_token_id)  # warm-up
    times = {n: dict(prefill=[], decode=[]) for n in names}
    order = random.Random(0)
    for r in range(a.rounds):
        for n in order.sample(names, len(names)):  # a new order each round: no variant always runs first
            m = models[n]
            times[n]["prefill"].append(prefill(m, ids)); times[n]["decode"].append(decode(m, prompt, a.decode, tok.pad_token_id))
        print(f"# round {r + 1}/{a.rounds} done, load average {' '.join(load_avg())}", flush=True)
    for n in names:
        for k, ntok in (("prefill", ids.numel()), ("decode", a.decode)):
            rows[n][f"{k}_tok_s"] = round(ntok / statistics.median(times[n][k]), 1)
            rows[n][f"{k}_x_dense"] = round(statistics.median(d / t for d, t in zip(times["dense"][k], times[n][k])), 3)
    del models, model; gc.collect()
    load1 = load_avg()
    if not a.no_memory:
        args = [x for x in (argv if argv is not None else sys.argv[1:])]
        for n in names:
            out = subprocess.run([sys.executable, __file__, "--memory-one", str(Path(tmp.name) / n)] + args, capture_output=True,
                                 text=True, env={**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"})
            line = next((l for l in out.stdout.splitlines() if l.startswith("MEM ")), None)
            if line is None: print(out.stderr[-2000:], file=sys.stderr); continue
            rows[n]["peak_MiB"] = json.loads(line[4:])["peak_MiB"]
    tmp.cleanup()
    import pandas as pd
    df = pd.DataFrame(rows.values())
    dense = df.set_index("variant").loc["dense"]
    df.insert(2, "removed", (1 - df.decoder_params / dense.decoder_params).round(3))
    df.insert(3, "zeroed", (1 - df.nonzero_decoder / dense.decoder_params).round(3))
    print(f"# batch {a.batch} x {a.prefill} prefill tokens; decode {a.decode} new tokens after {a.prompt_tokens}; "
          f"{a.rounds} interleaved rounds; load average at end of timing {' '.join(load1)}")
    print(df.drop(columns=["nonzero_decoder"]).to_string(index=False))
    if a.out:
        Path(a.out).write_text(json.dumps(dict(settings=vars(a), env=env, started=t0, load_start=load0, load_end=load1,
                                               rows=df.to_dict("records"), times=times), indent=1))


if __name__ == "__main__":
    main()
