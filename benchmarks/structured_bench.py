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

    nice -n 15 python benchmarks/structured_bench.py --grid runs/causal_structured/smollm2 --out benchmarks/X.json

--grid FOLDER times the structured cells of a `cap_nb run` results folder, which keeps no checkpoint: each cell's model
is rebuilt from the dense model of FOLDER/experiment.json (`model`, `dtype`; --dtype overrides) with the cell's shapes —
the query heads its `head_kept` marks removed, in every layer the number of MLP channels of its `layers_after` (the
lowest-index channels kept: speed depends on how many, not which), and for `+bias` runs the zero biases that
`remove_units(..., moments=...)` adds, on `cut_copy(dense, compensate=True)` (for Qwen2 the Llama model it equals).
The rebuild must remove exactly the parameters the cell recorded (`params_before`, `params_after`, `removed` within
1e-6, `layers_after`), or the script stops before timing anything. Cells with the same shapes (the same tensor shapes
in every layer: e.g. `structured:random@s` and `structured:magnitude`) run the same computation and are timed once
(column `timed_as`). Dense and the distinct shapes are timed in interleaved rounds as above; each cell gets its
tokens/s, its median ratio to dense and to FLAP's cell (`structured:fluctuation+bias`) at the same sparsity, and
`slower_than_flap` (more than 5 % slower than FLAP in prefill or decode). Unstructured cells (`wanda_reasoning`) are not
timed: their zeros run at dense speed (dense kernels). --sparsities keeps only those levels (fewer models in memory at
once: a bf16 Qwen2.5-Coder-1.5B needs ~2.5 GiB per distinct shape, so time it one sparsity at a time). No checkpoint is
saved, so no peak memory or file size is measured in this mode (--no-memory changes nothing there).
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


def timed_rounds(models, names, ids, prompt, a, pad):
    "{name: {'prefill': [s, ...], 'decode': [s, ...]}}: after a warm-up, every model once per round, in a new random order each round"
    for m in models.values(): prefill(m, ids[:, :32]); decode(m, prompt, 2, pad)  # warm-up
    times = {n: dict(prefill=[], decode=[]) for n in names}
    order = random.Random(0)
    for r in range(a.rounds):
        for n in order.sample(names, len(names)):  # a new order each round: no variant always runs first
            m = models[n]
            times[n]["prefill"].append(prefill(m, ids)); times[n]["decode"].append(decode(m, prompt, a.decode, pad))
        print(f"# round {r + 1}/{a.rounds} done, load average {' '.join(load_avg())}", flush=True)
    return times


def environment(a):
    import torch, transformers
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent).stdout.strip()
    return dict(python=platform.python_version(), torch=torch.__version__, transformers=transformers.__version__,
                cap_nb_commit=commit, cpu=cpu, cpus=os.cpu_count(), threads=torch.get_num_threads(), nice=os.nice(0),
                device=a.device or ("cuda" if torch.cuda.is_available() else "cpu"),
                gpu=torch.cuda.get_device_name() if torch.cuda.is_available() else None)


FLAP = "structured:fluctuation+bias"  # the anchor every structured cell is compared with at its sparsity


def grid_cells(folder, sparsities=None):
    "(experiment settings, the folder's structured cells as info rows) of the results folder `folder`"
    from cap_nb.experiment import load_results, parse_run, structured_run
    if not (Path(folder) / "experiment.json").is_file(): raise SystemExit(f"--grid {folder}: no experiment.json there; give a `cap_nb run` results folder")
    exp, info = json.loads((Path(folder) / "experiment.json").read_text()), load_results(folder)[1]
    if not len(info): raise SystemExit(f"--grid {folder}: no finished cell in {folder}/runs")
    cells = info[info.method.map(lambda n: structured_run(parse_run(n).method) is not None)]
    if sparsities: cells = cells[cells.sparsity.map(lambda x: any(abs(x - f) < 1e-9 for f in sparsities))]
    if not len(cells): raise SystemExit(f"--grid {folder}: no structured cell{' at sparsities ' + str(sparsities) if sparsities else ''}; "
                                        f"the folder holds {sorted(set(zip(info.method, info.sparsity)))}")
    return exp, cells.sort_values(["sparsity", "method"]).reset_index(drop=True), sorted(set(info.method) - set(cells.method) - {"dense"})


def zero_moments(lay):
    "Input means of zero for every o_proj and down_proj input: `remove_units(..., moments=...)` then adds FLAP's biases, all zero"
    import torch
    z = lambda w: torch.zeros(len(lay), w)
    return {"o": (z(max(lo.o.in_features for lo in lay)),) * 2, "down": (z(max(lo.n_neurons for lo in lay)),) * 2}


def rebuild(dense, cell):
    "A copy of `dense` with the shapes of the grid cell `cell` (an info row); raises unless it removes what the cell recorded"
    from cap_nb.experiment import parse_run, structured_run
    from cap_nb.hooks import attention_layout
    from cap_nb.structured import cut_copy, remove_units, n_params, layer_shapes
    compensate = structured_run(parse_run(cell.method).method)[1]
    small = cut_copy(dense, compensate)
    small.set_input_embeddings(dense.get_input_embeddings()); small.set_output_embeddings(dense.get_output_embeddings())  # shared, as in `build`
    lay, kept = attention_layout(small), [tuple(x) for x in cell.layers_after]
    what = f"{cell.method} at {cell.sparsity:g}"
    if len(kept) != len(lay) or len(cell.head_kept) != len(lay):
        raise SystemExit(f"{what}: the cell records {len(kept)} layers, the model {len(lay)}: not the folder's model?")
    heads = {lo.index: [h for h, k in enumerate(cell.head_kept[lo.index]) if k == 0.0] for lo in lay}
    channels = {lo.index: list(range(kept[lo.index][2], lo.n_neurons)) for lo in lay}  # the lowest-index channels kept
    n0 = n_params(small)
    remove_units(small, heads, channels, moments=zero_moments(lay) if compensate else None)
    n1 = n_params(small)
    got = dict(params_before=n0, params_after=n1, removed=1 - n1 / n0, layers_after=layer_shapes(small))
    rec = dict(params_before=int(cell.params_before), params_after=int(cell.params_after), removed=cell.removed)
    bad = [f"{k}: rebuilt {got[k]}, recorded {rec[k]}" for k in rec if (abs(got[k] - rec[k]) > 1e-6 if k == "removed" else got[k] != rec[k])]
    bad += [f"layer {l} (query heads, KV heads, channels): rebuilt {g}, recorded {r}" for l, (g, r) in enumerate(zip(got["layers_after"], kept)) if g != r]
    if bad: raise SystemExit(f"{what}: the rebuild does not match the cell, so its timing would be of another model:\n  " + "\n  ".join(bad))
    return small, got


def shape_key(m):
    "What a model's speed depends on: its class and the shape of every decoder tensor"
    from cap_nb.hooks import decoder_layers
    return (type(m).__name__,) + tuple((n, tuple(p.shape)) for l in decoder_layers(m) for n, p in l.named_parameters())


def held_gib(models):
    "GiB of parameter storage held by `models` together (shared tensors once)"
    seen = {p.data_ptr(): p.numel() * p.element_size() for m in models for p in m.parameters()}
    return sum(seen.values()) / 2**30


def ratio(times, a, b, k):
    "Median over rounds of (time of `a` / time of `b`) for measure `k`: `b`'s speed relative to `a`'s"
    return round(statistics.median(x / y for x, y in zip(times[a][k], times[b][k])), 3)


def grid_main(a):
    "Time the structured cells of the results folder `a.grid` against dense and FLAP's cell"
    from cap_nb.structured import n_params, layer_shapes
    exp, cells, untimed = grid_cells(a.grid, a.sparsities)
    if a.model not in (None, exp["model"]): raise SystemExit(f"--model {a.model}: the grid {a.grid} ran {exp['model']}; leave --model out with --grid")
    a.model, a.dtype = exp["model"], a.dtype or exp["dtype"]
    load0, t0 = load_avg(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    model, tok, ids, prompt = setup(a)
    models, keys, rows = {"dense": model}, {shape_key(model): "dense"}, []
    for c in cells.itertuples():  # every rebuild is checked before anything is timed
        small, got = rebuild(model, c)
        name, k = f"{c.method} s{c.sparsity:g}", shape_key(small)
        if k not in keys: keys[k] = name; models[name] = small
        else: del small
        rows.append(dict(run=c.method, sparsity=c.sparsity, removed=round(got["removed"], 6), recorded_removed=round(c.removed, 6),
                         params_after=got["params_after"], heads=sum(q for q, _, _ in got["layers_after"]),
                         kv_heads=sum(kv for _, kv, _ in got["layers_after"]), channels=sum(i for _, _, i in got["layers_after"]), timed_as=keys[k]))
    env = environment(a)
    print(f"# {t0}  grid {a.grid}: model {a.model} ({a.dtype}), {len(rows)} structured cells, {len(models) - 1} distinct shapes "
          f"timed with dense ({held_gib(models.values()):.2f} GiB of weights held), {env}\n# load average at start {' '.join(load0)}", flush=True)
    names = list(models)
    times = timed_rounds(models, names, ids, prompt, a, tok.pad_token_id)
    load1 = load_avg()
    flap = {r["sparsity"]: r["timed_as"] for r in rows if r["run"] == FLAP}
    shapes = layer_shapes(model)
    dense_row = dict(run="dense", sparsity=0.0, removed=0.0, recorded_removed=0.0, params_after=n_params(model), heads=sum(q for q, _, _ in shapes),
                     kv_heads=sum(kv for _, kv, _ in shapes), channels=sum(i for _, _, i in shapes), timed_as="dense")
    for r in [dense_row] + rows:
        n = r["timed_as"]
        for k, ntok in (("prefill", ids.numel()), ("decode", a.decode)):
            r[f"{k}_tok_s"] = round(ntok / statistics.median(times[n][k]), 1)
            r[f"{k}_x_dense"] = ratio(times, "dense", n, k)
            r[f"{k}_x_flap"] = ratio(times, flap[r["sparsity"]], n, k) if r["sparsity"] in flap else float("nan")
        r["slower_than_flap"] = bool(min(r["prefill_x_flap"], r["decode_x_flap"]) < 0.95) if r["sparsity"] in flap else None
    import pandas as pd
    df = pd.DataFrame([dense_row] + rows)
    print(f"# batch {a.batch} x {a.prefill} prefill tokens; decode {a.decode} new tokens after {a.prompt_tokens}; "
          f"{a.rounds} interleaved rounds; load average at end of timing {' '.join(load1)}")
    print(f"# x_dense, x_flap: median over rounds of the per-round time ratio (> 1 = faster); x_flap against {FLAP} at the same "
          f"sparsity; slower_than_flap: more than 5 % slower than it in prefill or decode. MLP channels rebuilt as the lowest-index ones.")
    if untimed: print(f"# not timed: {', '.join(untimed)} (unstructured: zeros in dense matrices run at dense speed on CPU)")
    print(df.to_string(index=False))
    if a.out:
        Path(a.out).write_text(json.dumps(dict(settings=vars(a), experiment=exp, env=env, started=t0, load_start=load0, load_end=load1,
                                               not_timed=untimed, rows=df.to_dict("records"), times=times), indent=1))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="short name, checkpoint folder or GGUF file (cap_nb.models.load_model); default smollm2-135m")
    p.add_argument("--dtype", default=None, help="fp32 (default), bf16, ...; with --grid default the grid's")
    p.add_argument("--device", default=None)
    p.add_argument("--fractions", type=float, nargs="+", default=[0.1, 0.2, 0.3])
    p.add_argument("--threads", type=int, default=1); p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--batch", type=int, default=4); p.add_argument("--prefill", type=int, default=256)
    p.add_argument("--prompt-tokens", type=int, default=16); p.add_argument("--decode", type=int, default=32)
    p.add_argument("--no-memory", action="store_true", help="skip the per-variant peak-memory processes")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    p.add_argument("--memory-one", help=argparse.SUPPRESS)
    p.add_argument("--grid", default=None, help="a `cap_nb run` results folder: time its structured cells (above)")
    p.add_argument("--sparsities", type=float, nargs="+", default=None, help="with --grid: only the cells at these sparsities")
    a = p.parse_args(argv)
    if a.grid: return grid_main(a)
    if a.sparsities: p.error("--sparsities needs --grid (without it, give --fractions)")
    a.model, a.dtype = a.model or "smollm2-135m", a.dtype or "fp32"
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
    times = timed_rounds(models, names, ids, prompt, a, tok.pad_token_id)
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
        Path(a.out).write_text(json.dumps(dict(settings={k: v for k, v in vars(a).items() if k not in ("grid", "sparsities")}, env=env, started=t0, load_start=load0, load_end=load1,
                                               rows=df.to_dict("records"), times=times), indent=1))


if __name__ == "__main__":
    main()
