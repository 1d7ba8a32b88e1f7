"""Exact head scoring: throughput of `fast` against the naive loop (`exact_units`, one full forward per head and batch).

Both run in one process, on the same model, calibration batches and heads, interleaved within every repeat (naive
heads, then fast layers, alternating which goes first), so a change of machine load hits both. Times are CPU seconds of
this process (one thread by default): a shared machine stretches wall time far more than CPU time; wall time is
printed too.
- The naive loop costs the same for every head (a full forward), so it is timed on --naive-heads heads per repeat.
- `fast` costs more for heads in early layers (it replays layers l..L-1), linearly in depth, so it is timed on every
  --fast-heads head of --layers (default: L/4 and 3L/4, whose mean depth is the middle) and their mean per-head cost
  stands for the mean over all layers. Its fixed cost (dense states, dense metrics, moving the states up through every
  layer: about three forwards) is measured once and spread over all L x H heads.
Per repeat: ratio = naive CPU s per head / fast CPU s per head. max |delta| compares the masked metrics (per item) of
the heads both scored.
Example: python benchmarks/exact_bench.py --save benchmarks/exact_bench.txt
"""
import argparse, os, platform, sys, time


def cpu_wall(f):
    "(CPU seconds, wall seconds, result) of `f()`"
    c, w = time.process_time(), time.perf_counter()
    r = f()
    return time.process_time() - c, time.perf_counter() - w, r


def naive(model, batches, calib, units):
    from cap_nb.causal_scores import exact_units
    return exact_units(model, batches, calib, units)


def fast(model, items, calib, layer, units, max_rows):
    "Masked metrics [n_units, n] of `units` (all in `layer`) by `fast_layer` over unpadded item batches; states moved up untimed"
    import torch
    from cap_nb.causal_scores import dense_state, advance, fast_layer
    out, t = torch.full((len(units), len(calib)), float("nan")), [0.0, 0.0]
    for b in items:
        with torch.no_grad():
            st = advance(model, dense_state(model, b), layer)
            c, w, r = cpu_wall(lambda: fast_layer(model, st, b, calib, layer, units, max_rows=max_rows))
        out[:, b["items"]] = r[:, b["items"]]; t[0] += c; t[1] += w
    return t[0], t[1], out


def fixed(model, items, calib, L):
    "CPU and wall seconds of `fast`'s per-run work: dense states and metrics, and the states moved up through all layers"
    import torch
    from cap_nb.causal_scores import dense_state, advance, fast_dense
    def run():
        with torch.no_grad():
            for b in items:
                st = dense_state(model, b); fast_dense(model, st, b, calib)
                for l in range(L): advance(model, st, l)
    return cpu_wall(run)[:2]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--tasks", default="arc_challenge,gsm8k")
    p.add_argument("--n", type=int, default=8, help="calibration problems in all (split equally over --tasks)")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--max-rows", type=int, default=64)
    p.add_argument("--layers", default=None, help="comma-separated layers fast is timed on (default L/4, 3L/4)")
    p.add_argument("--fast-heads", type=int, default=3, help="heads of each timed layer that fast scores (one forward: batched copies)")
    p.add_argument("--naive-heads", type=int, default=1, help="heads the naive loop scores per repeat (in the timed layers)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--save", default=None, help="also write everything printed to this file")
    a = p.parse_args()
    import torch, transformers
    torch.set_num_threads(a.threads)
    from cap_nb.models import load_model
    from cap_nb.causal_scores import calibration_set, encode_calibration, _item_batches
    from cap_nb.hooks import attention_layout
    lines = []
    def say(s): print(s, flush=True); lines.append(s); a.save and open(a.save, "w").write("\n".join(lines) + "\n")
    say(f"`python benchmarks/{os.path.basename(__file__)} {' '.join(sys.argv[1:])}`  ")
    say(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, model {a.model} fp32, torch {torch.__version__}, transformers "
        f"{transformers.__version__}, Python {platform.python_version()}, {torch.get_num_threads()} thread(s), {os.cpu_count()} CPUs "
        f"({platform.processor() or platform.machine()}), load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}  ")
    model, tok = load_model(a.model, dtype=torch.float32, device="cpu")
    lay = attention_layout(model); L, H = len(lay), lay[0].n_heads
    tasks = tuple(a.tasks.split(","))
    calib = calibration_set(tasks, n=a.n // len(tasks))
    batches = encode_calibration(tok, calib, "logprob", a.batch_size, model.device, getattr(model.config, "max_position_embeddings", None))
    items = [q for b in batches for q in _item_batches(b)]
    padded, real = sum(b["input_ids"].numel() for b in batches), sum(q["input_ids"].numel() for q in items)
    layers = [int(x) for x in a.layers.split(",")] if a.layers else [L // 4, 3 * L // 4]
    say(f"{len(calib)} calibration problems ({a.tasks}), {len(batches)} batches of {a.batch_size}: {padded} token positions, "
        f"{real} without padding ({1 - real / padded:.0%} padding); fast timed on heads 0..{a.fast_heads - 1} of layers {layers}, "
        f"naive on {a.naive_heads} head(s) per repeat  ")
    fc, fw = fixed(model, items, calib, L)
    say(f"fast fixed cost: {fc:.1f} CPU s ({fw:.1f} s wall), {fc / (L * H):.3f} CPU s per head over all {L * H} heads  \n")
    say("| repeat | naive CPU s / head | fast CPU s / head | ratio (CPU) | ratio (wall) | max abs delta | load average |")
    say("|---|---|---|---|---|---|---|")
    ratios, deltas = [], []
    for r in range(a.repeats):
        nu = [("head", layers[(r + k) % len(layers)], (r + k) % a.fast_heads) for k in range(a.naive_heads)]
        def run_naive(): return cpu_wall(lambda: naive(model, batches, calib, nu))
        def run_fast(): return [fast(model, items, calib, l, [("head", l, h) for h in range(a.fast_heads)], a.max_rows) for l in layers]
        if r % 2: fres = run_fast(); nc, nw, nres = run_naive()
        else: nc, nw, nres = run_naive(); fres = run_fast()
        n_fast = len(layers) * a.fast_heads
        f_c = sum(x[0] for x in fres) / n_fast + fc / (L * H); f_w = sum(x[1] for x in fres) / n_fast + fw / (L * H)
        n_c, n_w = nc / len(nu), nw / len(nu)
        d = max(float((fres[layers.index(u[1])][2][u[2]] - nres[k]).abs().max()) for k, u in enumerate(nu))
        ratios.append(n_c / f_c); deltas.append(d)
        say(f"| {r} | {n_c:.2f} | {f_c:.2f} | {n_c / f_c:.2f} | {n_w / f_w:.2f} | {d:.1e} | {' '.join(f'{x:.1f}' for x in os.getloadavg())} |")
    rs = sorted(ratios)
    say(f"\nfast / naive throughput (CPU time): median {rs[len(rs) // 2]:.2f}x, range {rs[0]:.2f}-{rs[-1]:.2f}x over {len(rs)} repeats; "
        f"max |fast - naive| of the masked metrics: {max(deltas):.1e}; load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__": main()
