"""How well first-order head scores, and first order verified at the cut, rank heads against exact masking, on several
calibration draws: the fidelity table of the causal structured study (`cap_nb.causal_structured.fidelity`).

    nice -n 10 python benchmarks/verified_fidelity.py --seeds 0 1 2 --out runs/causal_structured/fidelity.csv

For each calibration draw (`calibration_set(tasks, n, seed)`, 8 GSM8K + 8 StrategyQA + 8 ARC-Challenge training problems
by default) and the default model: Spearman's rho against exact scores of every head, the share of exact's top and
bottom 10 % found, heads measured exactly, and cost relative to exact masking of every head (wall time of this process,
one run each; the load average before and after is recorded). The goal set for iterating on first order: Spearman >= 0.95
and >= 90 % of exact's top 10 % at <= 10 % of exact's cost. Rows are appended per draw, so an interrupted run resumes.
"""
import argparse, json, os, platform, time
from pathlib import Path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="smollm2-135m"); p.add_argument("--dtype", default="fp32")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2]); p.add_argument("--n", type=int, default=8)
    p.add_argument("--tasks", default="gsm8k,strategyqa,arc_challenge")
    p.add_argument("--margin", type=int, default=2); p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", required=True, help="CSV of the rows (appended per draw; draws already in it are skipped)")
    a = p.parse_args(argv)
    import pandas as pd, torch, transformers
    from cap_nb.models import load_model, write_atomic
    from cap_nb.causal_scores import calibration_set, calibration_fingerprint
    from cap_nb.causal_structured import fidelity
    torch.set_num_threads(a.threads)
    out = Path(a.out); old = pd.read_csv(out) if out.exists() else pd.DataFrame(columns=["calib_seed"])
    model, tok = load_model(a.model, dtype=a.dtype)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    for seed in a.seeds:
        if seed in set(old.calib_seed): print(f"calib_seed {seed}: in {out} already"); continue
        calib = calibration_set(tuple(a.tasks.split(",")), a.n, seed)
        load0, t0 = os.getloadavg(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        f = fidelity(model, tok, calib, margin=a.margin).reset_index()
        f = f.assign(calib_seed=seed, calibration=calibration_fingerprint(calib), items=len(calib), model=a.model, dtype=a.dtype,
                     margin=a.margin, started=t0, load_before=round(load0[0], 2), load_after=round(os.getloadavg()[0], 2), cpu=cpu,
                     threads=a.threads, torch=torch.__version__, transformers=transformers.__version__)
        old = pd.concat([old, f], ignore_index=True) if len(old) else f
        write_atomic(out, lambda t: old.to_csv(t, index=False))
        print(f.drop(columns=["cpu", "torch", "transformers", "calibration"]).to_string(index=False), flush=True)
    print(json.dumps(dict(mean_over_draws=old.groupby("estimate")[["spearman", "top10_overlap", "bottom10_overlap", "cost"]].mean().round(3).to_dict("index"))))


if __name__ == "__main__":
    main()
