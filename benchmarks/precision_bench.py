"""Why `dtype="auto"` chooses what it chooses here: bf16 and fp32 speed on this machine, with the hardware that decides.

    python benchmarks/precision_bench.py [--threads 1 2] [--out benchmarks/precision_bench.txt]

Prints (and appends to --out) the machine (CPU model, instruction flags, PyTorch's CPU capability, the bf16 answer and
its reason, the load average before and after), then, at each thread count:
  - GFLOP/s of one matmul in fp32 and bf16 for the default model's shapes (512 tokens through the attention
    projection, the MLP up projection, the MLP down projection), best of 5 after a warm-up, and the bf16/fp32 ratio;
  - the default model's forward over 8×128 tokens in fp32 and bf16 (median of 3), and the ratio.
To see what a CPU without native bf16 does, run it with `ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2`.
"""
import argparse, json, os, statistics, time
from pathlib import Path
import torch
from cap_nb.models import hardware, load_model, matmul_gflops, precision_note

SHAPES = {"attention proj 512x576 @ 576x576": (512, 576, 576), "MLP up 512x576 @ 576x1536": (512, 576, 1536),
          "MLP down 512x1536 @ 1536x576": (512, 1536, 576)}

def forward_s(model, reps=3):
    ids = torch.randint(0, model.config.vocab_size, (8, 128))
    with torch.inference_mode():
        model(ids); ts = []
        for _ in range(reps): t0 = time.perf_counter(); model(ids); ts.append(time.perf_counter() - t0)
    return statistics.median(ts)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2]); p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    lines = [f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load before {os.getloadavg()[0]:.2f}",
             f"# {json.dumps(hardware())}", f"# ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA')} "
             f"ATEN_CPU_CAPABILITY={os.environ.get('ATEN_CPU_CAPABILITY')}; auto -> {precision_note()}"]
    for l in lines: print(l, flush=True)
    models = {dt: load_model(dtype=dt, device="cpu")[0] for dt in ("fp32", "bf16")}
    for n in a.threads:
        torch.set_num_threads(n)
        for name, shape in SHAPES.items():
            f, b = matmul_gflops(torch.float32, shape, reps=5), matmul_gflops(torch.bfloat16, shape, reps=5)
            lines.append(f"threads {n}  {name:34}  fp32 {f:7.1f} GFLOP/s  bf16 {b:7.1f} GFLOP/s  bf16/fp32 {b / f:6.2f}x"); print(lines[-1], flush=True)
        f, b = forward_s(models["fp32"]), forward_s(models["bf16"])
        lines.append(f"threads {n}  {'default model forward 8x128 tokens':34}  fp32 {f:7.3f} s        bf16 {b:7.3f} s        bf16 speed {f / b:6.2f}x fp32's"); print(lines[-1], flush=True)
    lines.append(f"# load after {os.getloadavg()[0]:.2f}"); print(lines[-1])
    if a.out:
        with open(a.out, "a") as fh: fh.write("\n".join(lines) + "\n\n")

if __name__ == "__main__": main()
