"""Generated tokens per second of chain-of-thought generation: batched (left padding, KV cache) vs one prompt at a time.

Both runs use `cap_nb.eval.generate` (greedy) on the same chain-of-thought prompts (`cap_nb.cot.cot_prompt`) of a
seeded subset of ARC-Challenge test items, in one process, after a short warm-up. Generated tokens are the tokens of
the returned texts (the end-of-turn token and the padding after it are not counted), so both runs count the same
useful output when their texts agree; the script reports how many do.

    nice -n 15 python benchmarks/cot_bench.py --n 8 --max-new-tokens 64 --out benchmarks/cot_bench.txt
"""
import argparse, os, platform, time
import torch, transformers
from cap_nb.models import load_model
from cap_nb.tasks import load_task
from cap_nb.eval import generate
from cap_nb.cot import cot_prompt


def timed_generate(model, tok, prompts, max_new_tokens, batch_size):
    "(texts, seconds, generated tokens)"
    t0 = time.perf_counter()
    texts = generate(model, tok, prompts, max_new_tokens, (), batch_size)
    dt = time.perf_counter() - t0
    return texts, dt, sum(len(tok(t, add_special_tokens=False).input_ids) for t in texts)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--dtype", default="fp32")
    p.add_argument("--task", default="arc_challenge")
    p.add_argument("--n", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    model, tok = load_model(a.model, dtype=a.dtype)
    prompts = [cot_prompt(tok, it) for it in load_task(a.task, "test", a.n, a.seed)]
    load0 = open("/proc/loadavg").read().split()[:3]
    generate(model, tok, prompts[:1], 4)  # warm-up
    tb, sb, nb = timed_generate(model, tok, prompts, a.max_new_tokens, a.batch_size)
    t1, s1, n1 = timed_generate(model, tok, prompts, a.max_new_tokens, 1)
    agree = sum(x == y for x, y in zip(tb, t1))
    lines = [f"# {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}  python {platform.python_version()}  torch {torch.__version__}  "
             f"transformers {transformers.__version__}  threads {a.threads}  CPU {platform.processor() or platform.machine()} "
             f"({os.cpu_count()} cores)  loadavg before {load0} after {open('/proc/loadavg').read().split()[:3]}",
             f"# model {a.model} {a.dtype}; {a.n} {a.task} test items (seed {a.seed}), chain-of-thought prompts, "
             f"greedy, max_new_tokens {a.max_new_tokens}",
             f"batched (batch {a.batch_size}): {nb} tokens in {sb:.1f} s = {nb / sb:.1f} tokens/s",
             f"one at a time:        {n1} tokens in {s1:.1f} s = {n1 / s1:.1f} tokens/s",
             f"ratio batched / one at a time (tokens/s): {(nb / sb) / (n1 / s1):.2f}x; identical texts: {agree}/{len(prompts)}"]
    print("\n".join(lines))
    if a.out: open(a.out, "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
