"""Cost of CAP on one GPU at the paper's scale, with randomly initialised models of real configurations (no weights travel).

    python benchmarks/gpu_bench.py --out DIR            # on a CUDA machine; ~8 minutes on one H200
    python benchmarks/gpu_bench.py --tiny --out DIR     # the same steps on a 2-layer, narrow model: checks the script on CPU
    python benchmarks/gpu_bench.py --render DIR/gpu_bench.jsonl > benchmarks/gpu_bench.txt   # the tables

One process, one GPU, bf16, in this order (each step is skipped once --budget seconds have passed, and every finished
step is written to DIR/gpu_bench.jsonl at once, so a run cut short keeps what it measured):
1. Llama-3-8B (32 layers) head scoring on --n calibration problems (ARC-Challenge, GSM8K and StrategyQA in equal parts,
   chain-of-thought targets, metric 'ce' with its 3 subsets, batch --batch-size):
     fixed        `fast` with no head selected: encoding, fingerprint and the dense passes
     first_order  one forward + backward per calibration batch, every head at once
     fast         fast exact scoring of the first --k heads of every layer (mlp=False)
   Exact scoring of all H heads per layer is then fixed + (H / k) * (fast - fixed): every layer is represented, so the
   replay cost of each depth is measured, not modelled.
2. Llama-3-8B pruning at 50 %: magnitude, wanda, sparsegpt (--prune-n sequences of at most 256 tokens from the same
   calibration problems), cap_paper and cap_budget (the first-order scores of step 1). The weights are restored from a
   copy on the GPU between methods. Time and peak GPU memory above the model (`cap_nb.prune.peak_memory`).
3. Structured vs unstructured speed (issue: a pruned model that is faster): Qwen2.5-1.5B and Llama-3-8B shapes, dense,
   structured@f (heads and MLP channels physically removed, magnitude plan), structured64@f (the same with each layer's
   kept MLP channels rounded to a multiple of 64) and unstructured@f (zeros); prefill
   tokens/s of --prefill-batch x 512 tokens, decode tokens/s of --decode greedy tokens at batch 1 and batch 16. Rounds are
   interleaved in a new random order each round; a ratio to dense is the median over rounds of (dense time / variant
   time) in the same round. Times are taken with torch.cuda.synchronize.
4. Mistral-7B head scoring as in 1.
5. Chain-of-thought generation (cap_nb.eval.generate, greedy, 128 new tokens) on the Qwen2.5-1.5B shape: 16 prompts
   batched by 16 vs one at a time; random weights never emit the stop string, so both produce 16 x 128 tokens.
"""
import argparse, copy, json, os, platform, random, statistics, sys, time
from pathlib import Path
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from score_bench import CONFIGS

QWEN15 = dict(model_type="qwen2", vocab_size=151936, hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
              num_attention_heads=12, num_key_value_heads=2, max_position_embeddings=32768, rope_theta=1e6,
              rms_norm_eps=1e-6, tie_word_embeddings=True)
SHAPES = {**CONFIGS, "qwen2.5-1.5b": QWEN15}
TINY = dict(num_hidden_layers=2, hidden_size=256, intermediate_size=512, num_attention_heads=8, num_key_value_heads=2,
            vocab_size=49152)


def sync():
    import torch
    if torch.cuda.is_available(): torch.cuda.synchronize()


def build(name, a, tok):
    "A randomly initialised bf16 model of the real configuration `name` on the device (`--tiny`: narrowed to 2 layers)"
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    kw = {**SHAPES[name], **(TINY if a.tiny else {})}
    kw["vocab_size"] = max(kw["vocab_size"], len(tok))  # every id of the tokenizer at hand must be valid
    cfg = AutoConfig.for_model(kw.pop("model_type"), **kw)
    torch.manual_seed(0)
    with torch.device(a.device): model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16).eval()
    model.generation_config.pad_token_id = tok.pad_token_id
    return model


class Log:
    "Prints each result and appends it to DIR/gpu_bench.jsonl at once"
    def __init__(self, out, budget):
        self.path, self.t0, self.budget = Path(out) / "gpu_bench.jsonl", time.time(), budget
        Path(out).mkdir(parents=True, exist_ok=True)
    def __call__(self, **r):
        r["elapsed_s"] = round(time.time() - self.t0, 1)
        print("RESULT " + json.dumps(r), flush=True)
        with open(self.path, "a") as f: f.write(json.dumps(r) + "\n")
    def left(self): return self.budget - (time.time() - self.t0)


def scoring(name, a, tok, calib, log):
    "Step 1/4: fixed, first_order and fast (k heads per layer) head scoring; returns the model and the first-order scores"
    import torch
    from cap_nb.causal_scores import head_scores
    from cap_nb.hooks import attention_layout
    from cap_nb.prune import peak_memory
    t = time.time(); model = build(name, a, tok); sync()
    log(step="build", config=name, seconds=round(time.time() - t, 1), params=sum(p.numel() for p in model.parameters()))
    L, H = len(attention_layout(model)), attention_layout(model)[0].n_heads
    fo = None
    for m in ("fixed", "first_order", "fast"):
        if log.left() < 60: log(step="skipped", what=f"{name} {m}"); break
        sel = dict(method="fast", heads=torch.zeros(L, H, dtype=torch.bool)) if m == "fixed" else \
              dict(method="fast", heads={l: list(range(a.k)) for l in range(L)}) if m == "fast" else dict(method="first_order")
        with peak_memory(a.device) as mem:
            hs = head_scores(model, tok, calib, metric="ce", mlp=False, neurons=False, checkpoint=False, progress=False,
                             batch_size=a.batch_size, **sel)
        if m == "first_order": fo = hs
        log(step="score", config=name, method=m, layers=L, heads=H, k=a.k if m == "fast" else None, items=len(calib),
            seconds=round(mem["time_s"], 2), peak_gib=round((mem["peak_bytes"] or 0) / 2**30, 2))
    return model, fo


def pruning(model, fo, a, tok, calib, log):
    "Step 2: time and peak memory of each pruning method at 50 %, weights restored between methods"
    import torch
    from cap_nb.prune import prune
    pairs = list(zip(calib.context, calib.target))[:a.prune_n]
    texts = [c + t for c, t in pairs]
    dense = {k: v.detach().clone() for k, v in model.state_dict().items()}
    for m in ("magnitude", "wanda", "cap_paper", "cap_budget", "sparsegpt"):
        if log.left() < 90: log(step="skipped", what=f"prune {m}"); continue
        if m.startswith("cap") and fo is None: continue
        kw = dict(calib=texts, tok=tok) if m in ("wanda", "sparsegpt", "cap_budget") else {}
        if m.startswith("cap"): kw["scores"] = fo
        sync(); t = time.time()
        r = prune(model, "cap" if m == "cap_budget" else m, 0.5, max_len=256, progress=False, **kw)
        sync()
        log(step="prune", method=m, sparsity=0.5, seconds=round(time.time() - t, 2), report_s=round(r.time_s, 2),
            peak_gib=round((r.peak_bytes or 0) / 2**30, 2), model_gib=round(r.model_bytes / 2**30, 2),
            sequences=len(texts) if "calib" in kw else 0)
        with torch.no_grad(): model.load_state_dict(dense)
    del dense


def timed(fn):
    sync(); t = time.perf_counter(); fn(); sync(); return time.perf_counter() - t


def speed(name, a, tok, log):
    "Step 3: dense vs structured@f vs unstructured@f, prefill and decode tokens/s, ratios per interleaved round"
    import torch
    from cap_nb.structured import structured_plan, magnitude_scores, remove_units, n_params
    from cap_nb.prune import prune
    dense = build(name, a, tok)
    emb = dense.get_input_embeddings().weight
    names = ["dense"] + [f"structured@{f:g}" for f in a.fractions] + [f"structured64@{f:g}" for f in a.fractions] \
            + [f"unstructured@{a.fractions[-1]:g}"]
    models = {}
    for n in names:
        if n == "dense": models[n] = dense; continue
        m = copy.deepcopy(dense, memo={id(emb): emb}); kind, f = n.split("@")
        if kind.startswith("structured"):
            remove_units(m, *structured_plan(m, *magnitude_scores(m), float(f), multiple_of=int(kind[10:] or 1)))
        else: prune(m, "magnitude", float(f), progress=False)
        models[n] = m
    g = torch.Generator().manual_seed(0); V = dense.config.vocab_size
    ids = torch.randint(0, V, (a.prefill_batch, 512 if not a.tiny else 64), generator=g).to(a.device)
    prompts = {b: torch.randint(0, V, (b, 16), generator=g).to(a.device) for b in (1, 16)}
    gen = lambda m, b: m.generate(prompts[b], attention_mask=torch.ones_like(prompts[b]), max_new_tokens=a.decode,
                                  min_new_tokens=a.decode, do_sample=False, pad_token_id=tok.pad_token_id)
    tests = {"prefill": (lambda m: m(input_ids=ids, use_cache=False), ids.numel()),
             "decode_b1": (lambda m: gen(m, 1), a.decode), "decode_b16": (lambda m: gen(m, 16), 16 * a.decode)}
    peaks = {}
    with torch.inference_mode():
        for n, m in models.items():  # warm-up, and each variant's peak memory above what is resident
            if torch.cuda.is_available(): torch.cuda.reset_peak_memory_stats(); base = torch.cuda.memory_allocated()
            for fn, _ in tests.values(): timed(lambda: fn(m))
            peaks[n] = (torch.cuda.max_memory_allocated() - base) / 2**30 if torch.cuda.is_available() else None
        times, rng = {n: {k: [] for k in tests} for n in names}, random.Random(0)
        for r in range(a.rounds):
            if log.left() < 30: break
            for n in rng.sample(names, len(names)):
                for k, (fn, _) in tests.items(): times[n][k].append(timed(lambda: fn(models[n])))
    rounds = len(times["dense"]["prefill"])
    for n in names:
        row = dict(step="speed", config=name, variant=n, rounds=rounds, decoder_params=n_params(models[n]),
                   params_x_dense=round(n_params(models[n]) / n_params(dense), 3),
                   weights_gib=round(sum(p.numel() * p.element_size() for p in models[n].parameters()) / 2**30, 2),
                   work_peak_gib=None if peaks[n] is None else round(peaks[n], 2))
        for k, (_, ntok) in tests.items():
            if not rounds: continue
            row[f"{k}_tok_s"] = round(ntok / statistics.median(times[n][k]), 1)
            row[f"{k}_x_dense"] = round(statistics.median(d / t for d, t in zip(times["dense"][k], times[n][k])), 3)
            q = sorted(d / t for d, t in zip(times["dense"][k], times[n][k]))
            row[f"{k}_x_range"] = [round(q[0], 3), round(q[-1], 3)]
        log(**row)
    del models, dense


def cot_generation(a, tok, log):
    "Step 5: chain-of-thought generation, batched by 16 vs one prompt at a time, same prompts"
    from cap_nb.eval import generate
    from cap_nb.cot import cot_prompt
    from cap_nb.tasks import load_task
    model = build("qwen2.5-1.5b", a, tok)
    items = load_task("arc_challenge", "test").shuffle(seed=0).select(range(16))
    prompts = [cot_prompt(tok, r) for r in items]
    generate(model, tok, prompts[:2], 4, (), 2)  # warm-up
    for bs in (16, 1):
        if log.left() < 20: log(step="skipped", what=f"cot batch {bs}"); continue
        texts = []
        t = timed(lambda: texts.extend(generate(model, tok, prompts, a.cot_tokens, (), bs)))
        ntok = sum(len(tok(x, add_special_tokens=False).input_ids) for x in texts)
        log(step="cot", config="qwen2.5-1.5b", batch_size=bs, prompts=len(prompts), new_tokens=a.cot_tokens,
            seconds=round(t, 2), generated_tokens=ntok, tok_s=round(ntok / t, 1))


def render(path):
    "Markdown tables of a gpu_bench.jsonl (one or several runs appended), with exact scoring of every head extrapolated"
    rows = [json.loads(l) for l in open(path)]
    out = []
    for e in (r for r in rows if r["step"] == "environment"):
        out.append(f"- run started {e['started']}: {e['gpu']}, torch {e['torch']}, transformers {e['transformers']}, python "
                   f"{e['python']}, {e['cpus']} CPUs ({e['cpu']}), load {' '.join(e['load'])}, steps {e['settings']['steps']}, "
                   f"budget {e['settings']['budget']:g} s")
    sc = [r for r in rows if r["step"] == "score"]
    if sc:
        out += ["", "Head scoring (bf16, one GPU; `fixed` includes the model fingerprint, a sha256 of every weight on the CPU):", "",
                "| config | method | items | seconds | peak GiB over the model |", "|---|---|---|---|---|"]
        out += [f"| {r['config']} | {r['method']}{f' ({r[chr(107)]} heads/layer)' if r['k'] else ''} | {r['items']} | {r['seconds']} | {r['peak_gib']} |" for r in sc]
        for c in dict.fromkeys(r["config"] for r in sc):
            t = {r["method"]: r for r in sc if r["config"] == c}
            if {"fixed", "fast"} <= set(t):
                H, k = t["fast"]["heads"], t["fast"]["k"]
                ex = t["fixed"]["seconds"] + H / k * (t["fast"]["seconds"] - t["fixed"]["seconds"])
                out.append(f"- {c}: exact scores of all {H * t['fast']['layers']} heads = fixed + ({H}/{k}) x (fast - fixed) = "
                           f"{t['fixed']['seconds']:.1f} + {H / k:g} x {t['fast']['seconds'] - t['fixed']['seconds']:.1f} = {ex:.0f} s "
                           f"for {t['fast']['items']} problems; the part that grows with the problems, scaled to the paper's 256 per "
                           f"task (768): {t['fixed']['seconds'] + H / k * (t['fast']['seconds'] - t['fixed']['seconds']) * 768 / t['fast']['items']:.0f} s")
    pr = [r for r in rows if r["step"] == "prune"]
    if pr:
        out += ["", "Pruning Llama-3-8B to 50 % (bf16, one GPU; `walk` is the report's time, `total` adds validation, the "
                "score fingerprint check and tokenising the calibration text):", "",
                "| method | calibration sequences | total s | walk s | peak GiB over the model | model GiB | peak / model |", "|---|---|---|---|---|---|---|"]
        out += [f"| {r['method']} | {r['sequences']} | {r['seconds']} | {r['report_s']} | {r['peak_gib']} | {r['model_gib']} | {r['peak_gib'] / r['model_gib']:.2f} |" for r in pr]
    sp = [r for r in rows if r["step"] == "speed"]
    if sp:
        out += ["", "Speed of pruned models (bf16, one GPU, Hugging Face eager attention; x dense = median over interleaved rounds "
                "of dense time / variant time, [min, max] over rounds):", "",
                "| config | variant | params x dense | weights GiB | prefill tok/s | prefill x dense | decode b1 tok/s | decode b1 x dense "
                "| decode b16 tok/s | decode b16 x dense |", "|---|---|---|---|---|---|---|---|---|---|"]
        f = lambda r, k: f"{r[k + '_x_dense']} [{r[k + '_x_range'][0]}, {r[k + '_x_range'][1]}]"
        out += [f"| {r['config']} | {r['variant']} | {r['params_x_dense']} | {r['weights_gib']} | {r['prefill_tok_s']:.0f} | {f(r, 'prefill')} "
                f"| {r['decode_b1_tok_s']} | {f(r, 'decode_b1')} | {r['decode_b16_tok_s']} | {f(r, 'decode_b16')} |" for r in sp if r["rounds"]]
    cot = [r for r in rows if r["step"] == "cot"]
    if cot:
        out += ["", "Chain-of-thought generation, Qwen2.5-1.5B shape (generated tokens counted on the returned texts):", ""]
        out += [f"- batch {r['batch_size']}: {r['prompts']} prompts x {r['new_tokens']} new tokens in {r['seconds']} s, "
                f"{r['generated_tokens']} tokens in the texts, {r['tok_s']} tok/s" for r in cot]
    done = {f"speed {r['config']}" for r in sp} | {f"cot batch {r['batch_size']}" for r in cot} | \
           {f"scoring {r['config']}" for r in sc}
    other = list({r["what"]: r for r in rows if r["step"] in ("skipped", "error") and r["what"] not in done}.values())
    if other: out += ["", "Not measured in any run: " + "; ".join(f"{r['what']} ({r.get('error', 'time budget')})" for r in other)]
    return "\n".join(out)


def environment(a):
    import torch, transformers, cap_nb
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    return dict(step="environment", python=platform.python_version(), torch=torch.__version__,
                transformers=transformers.__version__, cap_nb=cap_nb.__version__, cpu=cpu, cpus=os.cpu_count(),
                threads=torch.get_num_threads(), device=a.device,
                gpu=torch.cuda.get_device_name() if torch.cuda.is_available() else None,
                load=open("/proc/loadavg").read().split()[:3], started=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                settings={k: v for k, v in vars(a).items()})


def guarded(log, what, fn, *args):
    "Run one step; an error is logged (with its traceback) and the next step still runs"
    import traceback
    try: return fn(*args)
    except Exception as e:
        log(step="error", what=what, error=repr(e), traceback=traceback.format_exc()[-3000:])
        import torch, gc; gc.collect(); torch.cuda.empty_cache() if torch.cuda.is_available() else None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", help="results folder (required unless --render)"); p.add_argument("--tiny", action="store_true")
    p.add_argument("--render", help="print the tables of this gpu_bench.jsonl and exit")
    p.add_argument("--device", default=None); p.add_argument("--tokenizer", default=None, help="folder; default: the default model's")
    p.add_argument("--n", type=int, default=48, help="calibration problems (a third per task)")
    p.add_argument("--batch-size", type=int, default=8); p.add_argument("--k", type=int, default=4)
    p.add_argument("--prune-n", type=int, default=64); p.add_argument("--fractions", type=float, nargs="+", default=[0.1, 0.2, 0.3])
    p.add_argument("--prefill-batch", type=int, default=8); p.add_argument("--decode", type=int, default=32)
    p.add_argument("--rounds", type=int, default=3); p.add_argument("--cot-tokens", type=int, default=128)
    p.add_argument("--budget", type=float, default=480, help="seconds after which no new step starts")
    p.add_argument("--steps", default="1,2,3,4,5")
    a = p.parse_args(argv)
    if a.render: return print(render(a.render))
    if not a.out: p.error("--out is required")
    import torch
    from transformers import AutoTokenizer
    from cap_nb.causal_scores import calibration_set
    a.device = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if a.tokenizer is None:
        from cap_nb.models import checkpoint_for
        a.tokenizer = str(checkpoint_for("smollm2-135m"))
    tok = AutoTokenizer.from_pretrained(a.tokenizer)  # any tokenizer whose ids fit the vocabulary: the weights are random
    if tok.pad_token is None: tok.pad_token = tok.eos_token
    log, steps = Log(a.out, a.budget), a.steps.split(",")
    log(**environment(a))
    calib = calibration_set(("arc_challenge", "gsm8k", "strategyqa"), n=a.n // 3, targets="cot")
    big = "llama3-8b"
    if "1" in steps or "2" in steps:
        model, fo = guarded(log, "scoring " + big, scoring, big, a, tok, calib, log) or (None, None)
        if "2" in steps and model is not None: guarded(log, "pruning", pruning, model, fo, a, tok, calib, log)
        del model; torch.cuda.empty_cache() if torch.cuda.is_available() else None
    if "3" in steps:
        for name in ("qwen2.5-1.5b", big):
            if log.left() < 60: log(step="skipped", what=f"speed {name}"); continue
            guarded(log, "speed " + name, speed, name, a, tok, log); torch.cuda.empty_cache() if torch.cuda.is_available() else None
    if "4" in steps:
        if log.left() > 90: guarded(log, "scoring mistral-7b", scoring, "mistral-7b", a, tok, calib, log)
        else: log(step="skipped", what="scoring mistral-7b")
        torch.cuda.empty_cache() if torch.cuda.is_available() else None
    if "5" in steps: guarded(log, "cot", cot_generation, a, tok, log)
    log(step="done", load=open("/proc/loadavg").read().split()[:3])


if __name__ == "__main__": main()
