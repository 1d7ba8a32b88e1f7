"""Read the stored chain-of-thought answers of results folders again with the answer step (post hoc, no generation).

    nice -n 15 python tools/answer_step_reading.py runs/paper_qwen/cot runs/paper_qwen/cot_e [--tolerance 0.002]

For each finished cell of each folder the model is pruned again exactly as the grid pruned it (the folder's own
experiment.json, scores.safetensors and calibration draw; the re-pruned cell must reproduce the stored overall sparsity
and per-head kept fractions, or the script stops; Wanda-based cells made before Wanda's calibration statistics became
batch-independent re-prune with a few weights chosen differently, so `--tolerance` admits a stated largest deviation,
printed and stored per row as `repruned_deviation`), then `cap_nb.cot.cot_answer_step` reads every stored text after the
answer cue. Each cell's rows are written atomically to FOLDER/answer_step/CELL.parquet; a cell already written is
skipped, so an interrupted run resumes. The environment of each start is appended to FOLDER/answer_step/environment.json.
"""
import dataclasses, json, sys, time
from pathlib import Path
import numpy as np, torch
from cap_nb.causal_scores import HeadScores, calibration_set
from cap_nb.cot import cot_answer_step
from cap_nb.experiment import (Experiment, DenseRestorer, calibration_pairs, generic_calibration, run_once, load_results,
                               cot_orders, record_environment, _pct)
from cap_nb.models import load_model, write_atomic

torch.set_num_threads(2)
args = sys.argv[1:]
TOLERANCE = float(args.pop(args.index("--tolerance") + 1)) if "--tolerance" in args else 0.0
if "--tolerance" in args: args.remove("--tolerance")
for folder in map(Path, args):
    cfg = json.loads((folder / "experiment.json").read_text())
    exp = Experiment(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items() if k in {f.name for f in dataclasses.fields(Experiment)}})
    if exp.fmt != "cot": sys.exit(f"{folder} is not a chain-of-thought folder")
    items, info = load_results(folder)
    out = folder / "answer_step"; out.mkdir(exist_ok=True); record_environment(out)
    todo = [(m, s) for m, s in info[["method", "sparsity"]].itertuples(index=False) if not (out / f"{m}_s{_pct(s)}.parquet").exists()]
    if not todo: print(f"{folder}: every cell read"); continue
    model, tok = load_model(exp.model, dtype=exp.dtype)
    calib = calibration_set(exp.calib_tasks, exp.calib_n, exp.calib_seed, targets=exp.calib_targets)
    calibs = dict(reasoning=calibration_pairs(calib), generic=generic_calibration(exp.generic_n))
    scores, restore = HeadScores.load(folder / "scores.safetensors", model), DenseRestorer(model)
    for m, s in todo:
        t0 = time.perf_counter(); restore()
        rep = run_once(model, tok, m, s, scores, calibs, exp) or {}
        ref = info[(info.method == m) & (info.sparsity == s)].iloc[0]
        dev = 0.0
        if rep:   # how far the re-pruned cell is from the stored one: overall sparsity and per-head kept fractions
            kept = np.array(rep["head_kept"], float) - np.array([list(r) for r in ref["head_kept"]], float)
            dev = max(abs(rep["overall_sparsity"] - ref["overall_sparsity"]), float(np.nanmax(np.abs(kept))))
        if dev > TOLERANCE:
            sys.exit(f"{folder} {m} at {s}: pruning again does not reproduce the stored cell (largest deviation {dev:.2e} "
                     f"in overall sparsity or a head's kept fraction; --tolerance is {TOLERANCE:g})")
        if dev: print(f"{folder} {m} at {s}: the re-pruned cell deviates from the stored one by at most {dev:.2e} (within --tolerance)", flush=True)
        rows = items[(items.method == m) & (items.sparsity == s)].reset_index(drop=True)
        step = cot_answer_step(model, tok, rows, orders=cot_orders(exp), progress=True).assign(repruned_deviation=dev)
        write_atomic(out / f"{m}_s{_pct(s)}.parquet", lambda tmp: step.to_parquet(tmp))
        print(f"{folder} {m} at {s:.0%}: {len(step)} rows, strict {step.acc.mean():.3f} (read {step.parsed.mean():.3f}), "
              f"answer step {step.acc_step.mean():.3f} (read {step.parsed_step.mean():.3f}), {time.perf_counter() - t0:.0f} s", flush=True)
    restore()
