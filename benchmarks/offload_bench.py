"""Time and peak memory of first-order head scoring and Wanda pruning, plain against `offloaded`, on two models.

- smollm2-135m: the default model in fp32 (working dtype), decoder layers stored in bf16 under `offloaded`;
- llama3-8b-shape: a randomly initialised Llama with Llama-3-8B's layer shape (hidden 4096, MLP 14336, 32 heads,
  8 KV heads) at reduced depth (`--layers`), working and stored in bf16; its vocabulary is the default tokenizer's
  unless `--vocab` asks for Llama-3's 128256.

The plain run uses the same weights the offloaded run executes (decoder layers rounded to bf16), so the two results
must be identical; the table says whether they are. Each measurement runs in its own process (one thread) so that its
peak memory is its own: "peak" is the process's peak resident set (VmHWM) on CPU, and on CUDA (`--device cuda`)
`torch.cuda.max_memory_allocated` during the work, the plain run with the whole model on the GPU and the offloaded one
with it in CPU memory; "above start" subtracts the level before the work (the model loaded). The processes return
every freed tensor to the system (MALLOC_MMAP_THRESHOLD_=65536, as in prune_bench.py), so that glibc's reuse of memory
freed while loading does not hide part of the peak. Time includes entering and leaving `offloaded`.
On one CPU the offloaded run cannot use less memory than the plain one for a bf16 model — storage and execution share
the same RAM — so on CPU the table measures the cost of the copies; the saving is the GPU's. The default model is
copied out of its memory-mapped checkpoint file first: while any tensor still points into the mapping, pages of tensors
that were moved away stay resident, and storing the layers in bf16 would then add memory instead of saving it.
  nice -n 15 python benchmarks/offload_bench.py --save benchmarks/offload_bench.txt
  python benchmarks/offload_bench.py --device cuda --layers 32 --vocab 128256 --save benchmarks/offload_bench_cuda.txt
"""
import argparse, hashlib, json, os, subprocess, sys, time


def build(a):
    "(model, tokenizer, storage dtype) of case `a.case`, its decoder layers already rounded to the storage dtype"
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig
    from cap_nb.models import load_model, checkpoint_for, DEFAULT_MODEL
    from cap_nb.offload import bf16_layers
    if a.case == "smollm2-135m":
        model, tok = load_model(dtype="fp32", device="cpu")
        for t in list(model.parameters()) + list(model.buffers()): t.data = t.data.clone()  # off the mapped checkpoint file
    else:
        tok = AutoTokenizer.from_pretrained(checkpoint_for(DEFAULT_MODEL)); tok.pad_token = tok.pad_token or tok.eos_token
        cfg = LlamaConfig(vocab_size=a.vocab or len(tok), hidden_size=4096, intermediate_size=14336, num_hidden_layers=a.layers,
                          num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=8192, rope_theta=500000.0,
                          tie_word_embeddings=False)
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16).eval()
    return bf16_layers(model), tok, torch.bfloat16


def job(model, tok, a):
    "Run the measured work; returns a short hash of its result (scores or masks)"
    import torch
    from cap_nb.causal_scores import calibration_set, head_scores
    from cap_nb.prune import prune
    cal = calibration_set(n=a.n)
    if a.job == "first_order":
        hs = head_scores(model, tok, cal, method="first_order", batch_size=4, checkpoint=False, progress=False)
        parts = [hs.scores, hs.mlp, hs.neurons]
    else:
        rep = prune(model, "wanda", 0.5, calib=list(zip(cal.context, cal.target)), tok=tok, batch_size=4, max_len=128, progress=False)
        parts = [rep.masks[k] for k in sorted(rep.masks)]
    h = hashlib.sha256()
    for t in parts: h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def one(a):
    "One measurement in this process: prints a RESULT line"
    import torch
    torch.set_num_threads(1)
    from cap_nb.offload import offloaded
    from cap_nb.prune import peak_memory
    model, tok, sd = build(a)
    if a.mode == "plain": model.to(a.device)
    with peak_memory(a.device) as mem:
        if a.mode == "plain": res, held = job(model, tok, a), None
        else:
            with offloaded(model, a.device, sd) as st: res = job(model, tok, a)
            held = st.peak
    if torch.device(a.device).type == "cuda": hwm = torch.cuda.max_memory_allocated(a.device)  # reset by peak_memory
    else:
        with open("/proc/self/status") as f: hwm = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM"))
    print("RESULT " + json.dumps(dict(time_s=mem["time_s"], peak_bytes=mem["peak_bytes"], hwm=hwm, result=res, held=held)), flush=True)


def run(a, case, jb, mode):
    args = ["--one", "--case", case, "--job", jb, "--mode", mode, "--device", a.device, "--layers", str(a.layers),
            "--per-task", str(a.n)] + (["--vocab", str(a.vocab)] if a.vocab else [])
    r = subprocess.run([sys.executable, os.path.abspath(__file__)] + args, capture_output=True, text=True,
                       env={**os.environ, "OMP_NUM_THREADS": "1", "MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "0"})
    if r.returncode: sys.exit(f"{case} {jb} {mode} failed:\n{r.stderr[-3000:]}")
    return next(json.loads(l[7:]) for l in r.stdout.splitlines() if l.startswith("RESULT "))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--layers", type=int, default=2, help="decoder layers of the Llama-3-8B-shaped model")
    p.add_argument("--vocab", type=int, default=None, help="its vocabulary (default: the default tokenizer's 49152)")
    p.add_argument("--per-task", dest="n", type=int, default=1, help="calibration problems per task (GSM8K, StrategyQA, ARC-Challenge)")
    p.add_argument("--cases", default="smollm2-135m,llama3-8b-shape")
    p.add_argument("--save", default=None)
    p.add_argument("--append", action="store_true", help="add this run to the end of the --save file")
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--case", help=argparse.SUPPRESS); p.add_argument("--job", help=argparse.SUPPRESS); p.add_argument("--mode", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one: return one(a)
    import torch, transformers, cap_nb
    load = lambda: open("/proc/loadavg").read().split()[:3]
    lines = [f"`python benchmarks/offload_bench.py {' '.join(sys.argv[1:])}`",
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; torch {torch.__version__}, transformers {transformers.__version__}, "
             f"cap_nb {cap_nb.__version__}; {os.cpu_count()} CPUs, 1 thread, nice {os.nice(0)}; device {a.device}; "
             f"{3 * a.n} calibration problems (batches of 4); llama3-8b-shape: {a.layers} layers; load average before: {' '.join(load())}", "",
             "| model | work | plain s | offloaded s | time ratio | plain peak MiB | offloaded peak MiB | plain peak above start MiB | offloaded peak above start MiB | layers held at once | results |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    def out(*new):
        "print lines and add them to the --save file as they come, so that a stopped run keeps its rows"
        print("\n".join(new), flush=True)
        if a.save:
            with open(a.save, "a") as f: f.write("\n".join(new) + "\n")
    if a.save and not a.append: open(a.save, "w").close()
    out(*(([""] if a.append else []) + lines))
    mib = lambda b: "n/a" if b is None else f"{b / 2**20:.0f}"
    for case in a.cases.split(","):
        for jb in ("first_order", "wanda"):
            r = {mode: run(a, case, jb, mode) for mode in ("plain", "offloaded")}
            pl, of = r["plain"], r["offloaded"]
            row = (f"| {case} | {'first-order scores' if jb == 'first_order' else 'Wanda 50 %'} | {pl['time_s']:.1f} | {of['time_s']:.1f} | "
                   f"{of['time_s'] / pl['time_s']:.2f}x | {mib(pl['hwm'])} | {mib(of['hwm'])} | {mib(pl['peak_bytes'])} | {mib(of['peak_bytes'])} | "
                   f"{of['held']} | {'identical' if pl['result'] == of['result'] else 'DIFFERENT'} |")
            out(row)
    out("", f"load average after: {' '.join(load())}")


if __name__ == "__main__":
    main()
