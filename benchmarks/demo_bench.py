"""What `cap_nb demo` costs a first-time user: wall time and peak resident memory from an empty cache, with the load.

    python benchmarks/demo_bench.py [--runs 1] [--nice 0] [--dtype auto] [--emulate-avx2]
                                   # appends one JSON line per run to benchmarks/demo_bench.jsonl

Each run starts `cap_nb demo` in a fresh process with a new, empty CAP_NB_CACHE (so the default model's GGUF file is
converted and no evaluation result is reused) under `/usr/bin/time -v`, and samples /proc/loadavg every 5 s while it
runs. The load average includes the demo itself (about 2 on 2 cores when nothing else runs), so the line records the
load before the start too. Each line records the CPU model, its instruction flags, PyTorch's CPU capability, the
precision the demo chose and why (`cap_nb.models.hardware`), and the demo's own stage times (convert, load, scores,
prune, eval, read from its results folder). `--emulate-avx2` runs the demo with oneDNN and PyTorch's kernels capped at
AVX2 (ONEDNN_MAX_CPU_ISA=AVX2, ATEN_CPU_CAPABILITY=avx2): on a CPU with native bf16 that imitates one without it.
README's figure is the range over the recorded runs of the current demo recipe, with their loads (nbs/index.ipynb).
"""
import argparse, json, os, platform, statistics, subprocess, sys, tempfile, threading, time
from pathlib import Path

OUT = Path(__file__).with_name("demo_bench.jsonl")


def load(): return float(open("/proc/loadavg").read().split()[0])


AVX2 = dict(ONEDNN_MAX_CPU_ISA="AVX2", ATEN_CPU_CAPABILITY="avx2")

def stages(out):
    "The demo's stage times in seconds from its results folder (timings-*.json) and its printed conversion time"
    f = sorted(Path(out).glob("timings-*.json"))
    return {k: round(v, 1) for k, v in json.loads(f[-1].read_text()).items()} if f else {}

def one(nice, dtype="auto", emulate_avx2=False):
    "One timed demo from an empty cache: a dict with wall_s, peak_gib, loads, stage times, hardware and precision"
    import torch, transformers, cap_nb
    env = {**os.environ, **(AVX2 if emulate_avx2 else {})}
    hw = json.loads(subprocess.run([sys.executable, "-c", "import json; from cap_nb.models import hardware, precision_note; "
                                    f"print(json.dumps(dict(hardware(), precision=precision_note({dtype!r}))))"],
                                   env=env, capture_output=True, text=True, check=True).stdout)
    samples, done = [], threading.Event()
    def sample():
        while not done.wait(5): samples.append(load())
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
        before, t = load(), threading.Thread(target=sample, daemon=True)
        t.start()
        r = subprocess.run(["nice", "-n", str(nice), "/usr/bin/time", "-v", "-o", f"{out}/time.txt", "cap_nb", "demo", "--dtype", dtype,
                            "--out", f"{out}/demo"], env={**env, "CAP_NB_CACHE": cache}, capture_output=True, text=True)
        done.set(); t.join()
        if r.returncode: sys.exit(f"demo failed:\n{r.stderr[-3000:]}")
        tv = {l.split(": ")[0].strip(): l.split(": ")[-1].strip() for l in Path(f"{out}/time.txt").read_text().splitlines() if ": " in l}
        st = stages(f"{out}/demo")
    el = tv["Elapsed (wall clock) time (h:mm:ss or m:ss)"]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    return dict(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), wall_s=round(sum(float(x) * 60 ** i for i, x in enumerate(reversed(el.split(":")))), 1),
                peak_gib=round(int(tv["Maximum resident set size (kbytes)"]) / 2**20, 2), cpu_percent=tv["Percent of CPU this job got"],
                load_before=before, load_during=[min(samples, default=before), round(statistics.mean(samples or [before]), 2), max(samples, default=before)],
                nice=nice, cpus=os.cpu_count(), torch=torch.__version__, transformers=transformers.__version__,
                cap_nb=cap_nb.__version__, python=platform.python_version(), stages_s=st, emulate_avx2=emulate_avx2, **hw)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=1); p.add_argument("--nice", type=int, default=0)
    p.add_argument("--dtype", default="auto", help="passed to `cap_nb demo --dtype`")
    p.add_argument("--emulate-avx2", action="store_true", help="cap oneDNN and PyTorch's kernels at AVX2 (no native bf16)")
    a = p.parse_args(argv)
    for _ in range(a.runs):
        r = one(a.nice, a.dtype, a.emulate_avx2)
        print(json.dumps(r), flush=True)
        with open(OUT, "a") as f: f.write(json.dumps(r) + "\n")


if __name__ == "__main__": main()
