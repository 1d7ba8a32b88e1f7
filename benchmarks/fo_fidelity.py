"""How close the cheap head scorers come to exact masking, and what they cost, on the default model.

Over all 270 heads of SmolLM2-135M-Instruct (fp32, metric logprob, zero ablation, `calibration_set(tasks, n)`; the
defaults are the set of notebook 01's default-model section, 8 problems per task), against exact per-head masking:
Spearman correlation, overlap of the top 10 % of heads, and wall time relative to first order and to exact, for
`first_order`, `lookahead` at several k, and `hybrid` at several `hybrid_k` (ranked by first order, or by lookahead).

The exact reference is read from --exact when that file holds scores of the same model and calibration set; otherwise
it is computed once with `fast` (whose numbers are exact's, tested in notebook 01) and saved there. Exact's own time is
measured on a few heads and extrapolated: a run with no head gives its fixed cost, the rest is the same per head.
Times are CPU seconds of this (single-threaded) process, which a busy machine stretches far less than wall time; wall
seconds are printed too. One `hybrid` run (--hybrid-timed) is timed; the other hybrid rows, and hybrid ranked by
lookahead, are composed from the ranking scores and the exact ones (fp32 `fast` gives exact's numbers, so a real
`hybrid` run returns the same scores: checked on the timed one), their time is the ranking method's plus the timed
run's per-verified-head cost, and they are marked '~'.
  nice -n 15 python benchmarks/fo_fidelity.py --out benchmarks/fo_fidelity.txt
"""
import argparse, json, os, platform, sys, time
from pathlib import Path


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"): return line.split(":", 1)[1].strip()
    return platform.processor()


def load(): return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=8, help="calibration problems per task")
    p.add_argument("--tasks", default="gsm8k,strategyqa,arc_challenge")
    p.add_argument("--hybrid-timed", type=float, default=0.05, help="the hybrid_k that is run and timed")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=4, help="calibration items per forward (bounds the backward pass's memory)")
    p.add_argument("--lookahead", default="1,2,3,4", help="k values of `lookahead`")
    p.add_argument("--hybrid-k", default="0.02,0.05,0.1,0.15", help="hybrid_k values (fractions of all heads, top and bottom each)")
    p.add_argument("--exact-heads", type=int, default=2, help="heads timed with `exact` to extrapolate its full cost")
    p.add_argument("--exact", default=None, help="exact reference scores (read, or computed once, resumably, and written); "
                   "default runs/fo_fidelity/<calibration fingerprint>.safetensors")
    p.add_argument("--out", default=None, help="also write the report here")
    a = p.parse_args()
    import torch, transformers
    from scipy.stats import spearmanr
    torch.set_num_threads(a.threads)
    from cap_nb.models import load_model, model_fingerprint
    from cap_nb.causal_scores import HeadScores, calibration_set, calibration_fingerprint, head_scores, extreme_heads
    lines = [f"`{' '.join(['python', *sys.argv])}`", f"- started {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: torch {torch.__version__}, "
             f"transformers {transformers.__version__}, python {platform.python_version()}, {cpu_name()}, {os.cpu_count()} CPUs, "
             f"{a.threads} thread(s), nice {os.nice(0)}, load average before {load()}"]
    model, tok = load_model()
    calib = calibration_set(tuple(a.tasks.split(",")), n=a.n)
    a.exact = a.exact or f"runs/fo_fidelity/{calibration_fingerprint(calib)}.safetensors"
    L, H = model.config.num_hidden_layers, model.config.num_attention_heads
    kw = dict(mlp=False, neurons=False, checkpoint=False, progress=False, batch_size=a.batch_size)

    def timed(**k):
        w0, c0 = time.perf_counter(), time.process_time(); hs = head_scores(model, tok, calib, **{**kw, **k})
        hs.wall = time.perf_counter() - w0
        return hs, time.process_time() - c0

    ref, t_fast = None, None
    if Path(a.exact).exists():
        ref = HeadScores.load(a.exact, model)
        if ref.settings["calibration"] != calibration_fingerprint(calib) or ref.settings["method"] not in ("exact", "fast"):
            raise SystemExit(f"{a.exact} holds other scores ({ref.settings['method']}, calibration {ref.settings['calibration']})")
    else:
        ref, t_fast = timed(method="fast", checkpoint=None)   # resumable in the package cache
        Path(a.exact).parent.mkdir(parents=True, exist_ok=True); ref.save(a.exact)
    ex = ref.scores.flatten()
    K = round(0.1 * ex.numel()); top_ex = set(ex.argsort()[-K:].tolist())

    # exact's cost: fixed (no head) + per head, from a few heads spread over the depth
    sel = torch.zeros(L, H, dtype=torch.bool)
    for l in torch.linspace(0, L - 1, a.exact_heads).round().long().tolist(): sel[l, 0] = True
    fixed, t_fixed = timed(method="exact", heads=torch.zeros(L, H, dtype=torch.bool))
    sub, t_sub = timed(method="exact", heads=sel)
    assert torch.allclose(sub.scores[sel], ref.scores[sel], atol=1e-4), "exact and the reference disagree"
    per_head = (t_sub - t_fixed) / int(sel.sum())
    t_exact = t_fixed + per_head * L * H
    lines.append(f"- exact, all {L * H} heads = fixed {t_fixed:.1f} s + {L * H} x per head {per_head:.2f} s "
                 f"(timed on {int(sel.sum())} heads, layers {sel.any(1).nonzero().flatten().tolist()}) = ~{t_exact:.0f} s"
                 + (f"; the `fast` run that computed the reference took {t_fast:.0f} s" if t_fast else "")
                 + f"; CPU seconds (wall: fixed {fixed.wall:.1f}, {int(sel.sum())} heads {sub.wall:.1f})")

    rows, fo_t = [], None
    def row(name, scores, secs, n_exact=0, mark="", wall=None):
        s = scores.flatten()
        rows.append(dict(method=name, exact_heads=n_exact, cpu_s=f"{mark}{secs:.1f}", wall_s="" if wall is None else f"{wall:.1f}",
                         x_first_order=f"{mark}{secs / fo_t:.2f}",
                         share_of_exact=f"{mark}{secs / t_exact:.3f}", spearman=f"{spearmanr(s, ex).statistic:.3f}",
                         top10=f"{len(top_ex & set(s.argsort()[-K:].tolist()))}/{K}"))
        print(rows[-1], flush=True)

    fo, fo_t = timed(method="first_order")
    row("first_order", fo.scores, fo_t, wall=fo.wall)
    looks = {}
    for k in map(int, a.lookahead.split(",")):
        looks[k], t = timed(method="lookahead", lookahead=k)
        row(f"lookahead k={k}", looks[k].scores, t, wall=looks[k].wall); looks[k].t = t
    hy, t = timed(method="hybrid", hybrid_k=a.hybrid_timed, checkpoint=False)
    v = extreme_heads(fo.scores, a.hybrid_timed)
    assert torch.allclose(hy.scores, torch.where(v, ref.scores, fo.scores), atol=1e-4), "hybrid is not first order + exact"
    per_verified = (t - fo_t) / int(v.sum())
    lines.append(f"- one verified head costs {per_verified:.2f} CPU s (the timed hybrid {a.hybrid_timed:g} run minus first order, "
                 f"over its {int(v.sum())} heads); composed rows (~) use it")
    row(f"hybrid {a.hybrid_timed:g}", hy.scores, t, int(v.sum()), wall=hy.wall)
    for name, base, bt in [("hybrid", fo, fo_t)] + [(f"lookahead k={k} + hybrid", la, la.t) for k, la in looks.items()]:
        for hk in map(float, a.hybrid_k.split(",")):
            if name == "hybrid" and hk == a.hybrid_timed: continue
            v = extreme_heads(base.scores, hk)
            row(f"{name} {hk:g}", torch.where(v, ref.scores, base.scores), bt + per_verified * int(v.sum()), int(v.sum()), "~")
    cols = list(rows[0])
    table = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)] + ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    lines += [f"- {len(calib)} calibration items ({', '.join(f'{t} {n}' for t, n in calib.task.value_counts(sort=False).items())}), "
              f"fp32, metric logprob, zero ablation, batch size {a.batch_size}; top 10 % = {K} heads; load average after {load()}", "", *table]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out: Path(a.out).write_text(text)


if __name__ == "__main__": main()
