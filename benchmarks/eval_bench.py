"""Throughput of ARC-Challenge cloze scoring (lm-eval protocol) on the default model, 2 CPU threads.

Compares, in one run and on the same items, `cap_nb.loglik.group_logliks` (items batched by length, each item's context
run once and its KV cache shared by the choices, LM head only at continuation positions) with a naive loop of one
forward per (context, choice) pair — the computation lm-evaluation-harness does with batch_size=1 — in fp32 and bf16.
With `--lm-eval 1,8,32` (needs `pip install -e ".[lm_eval]"`) lm-evaluation-harness itself scores the same items in
fp32 at each batch size, through `cap_nb.eval.lm_eval` on the loaded model and lm-eval's ARC task on the bundled data.

    flock /tmp/heavy.lock python benchmarks/eval_bench.py --n 100 --out benchmarks/eval_bench.txt
"""
import argparse, builtins, datetime, os, platform, sys, tempfile, time
import numpy as np, torch
from cap_nb.models import load_model
from cap_nb.tasks import load_task
from cap_nb.loglik import group_logliks
from cap_nb.eval import cloze_groups, choice_metrics, lm_eval, arc_task_yaml


def naive_logliks(model, groups):
    "One forward per (context, choice), full logits, fp32 log-softmax: lm-eval's loglikelihood at batch_size=1"
    out = []
    with torch.inference_mode():
        for c, xs in groups:
            ll = []
            for x in xs:
                lp = model(torch.tensor([(c + x)[:-1]])).logits[0].float().log_softmax(-1)
                ll.append(lp[len(c) - 1:].gather(-1, torch.tensor(x)[:, None]).sum().item())
            out.append(np.array(ll))
    return out


def lm_eval_items(model, tok, items, batch_size):
    "lm-eval's per-item (acc, acc_norm) arrays on `items` (ARC-Challenge test) at `batch_size`"
    folder = tempfile.mkdtemp()
    name, pos = arc_task_yaml(folder, "ARC-Challenge"), {i: k for k, i in enumerate(load_task("arc_challenge", "test")["id"])}
    idx = [pos[i] for i in items["id"]]
    res = lm_eval(model, tok, name, include_path=folder, builtin_tasks=False, batch_size=batch_size,
                  samples={name: idx}, log_samples=True, bootstrap_iters=0)
    s = sorted(res["samples"][name], key=lambda x: idx.index(x["doc_id"]))
    return np.array([x["acc"] for x in s]), np.array([x["acc_norm"] for x in s])


def timed(f, *a):
    t0 = time.perf_counter(); r = f(*a); return r, time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100, help="ARC-Challenge test items (seeded subset)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lm-eval", default="", help="also time lm-evaluation-harness (fp32) at these batch sizes, e.g. 1,8,32")
    p.add_argument("--out", help="also write the report to this file")
    a = p.parse_args()
    lines = []
    def print(*x):  # noqa: A001 - echo and keep every line for --out
        builtins.print(*x, flush=True); lines.append(" ".join(map(str, x)))
    print(f"$ python {' '.join(sys.argv)}   ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC)")
    torch.set_num_threads(a.threads)
    items = load_task("arc_challenge", "test", n=a.n, seed=a.seed)
    print(f"torch {torch.__version__}, {a.threads} threads, {platform.processor() or platform.machine()}, "
          f"load average {os.getloadavg()[0]:.2f} at start; ARC-Challenge test, {a.n} items (seed {a.seed})")
    res = {}
    for dtype in ["fp32", "bf16"]:
        model, tok = load_model(dtype=dtype)
        groups = cloze_groups(tok, items)
        group_logliks(model, tok, groups[:4])  # warm-up
        b, tb = timed(group_logliks, model, tok, groups)
        nv, tn = timed(naive_logliks, model, groups)
        mb, mn = choice_metrics(items, groups, b), choice_metrics(items, groups, nv)
        d = np.abs(np.concatenate(b) - np.concatenate(nv)).max()
        same = (mb.acc.eq(mn.acc) & mb.acc_norm.eq(mn.acc_norm)).all()
        res[dtype] = mb
        print(f"{dtype}: batched {a.n / tb:6.2f} items/s ({tb:6.1f} s)  naive {a.n / tn:6.2f} items/s ({tn:6.1f} s)  "
              f"speed-up {tn / tb:4.1f}x  max|d ll| {d:.1e}  identical acc/acc_norm per item: {same}  "
              f"acc {mb.acc.mean():.3f} acc_norm {mb.acc_norm.mean():.3f}")
        res[dtype + "_t"] = tb
        if dtype == "fp32" and a.lm_eval:
            best = None
            for bs in map(int, a.lm_eval.split(",")):
                (acc, acc_norm), tl = timed(lm_eval_items, model, tok, items, bs)
                same = bool((acc == mb.acc.values).all() and (acc_norm == mb.acc_norm.values).all())
                print(f"fp32: lm-eval batch_size {bs:3d}: {a.n / tl:6.2f} items/s ({tl:6.1f} s, task setup included)  "
                      f"identical acc/acc_norm per item: {same}")
                best = tl if best is None else min(best, tl)
            print(f"fp32: batched vs lm-eval at its best batch size: {best / tb:.1f}x")
    f, b = res["fp32"], res["bf16"]
    print(f"bf16 vs fp32 (batched): {res['fp32_t'] / res['bf16_t']:.2f}x faster; per-item acc agreement "
          f"{(f.acc == b.acc).mean():.3f}, acc_norm agreement {(f.acc_norm == b.acc_norm).mean():.3f}, "
          f"max|d p_gold| {np.abs(f.p_gold - b.p_gold).max():.3f}")
    print("reference: lm-eval 0.4.13, fp32, batch_size 1, same machine type: ~17 min for 1172 items = 1.15 items/s")
    if a.out: open(a.out, "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
