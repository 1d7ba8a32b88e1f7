"""What `cap_nb demo` costs a first-time user: wall time and peak resident memory from an empty cache, with the load.

    python benchmarks/demo_bench.py [--runs 1] [--nice 0]      # appends one JSON line per run to benchmarks/demo_bench.jsonl

Each run starts `cap_nb demo` in a fresh process with a new, empty CAP_NB_CACHE (so the default model's GGUF file is
converted and no evaluation result is reused) under `/usr/bin/time -v`, and samples /proc/loadavg every 5 s while it
runs. The load average includes the demo itself (about 2 on 2 cores when nothing else runs), so the line records the
load before the start too. README's figure is the range over the recorded runs, with their loads (nbs/index.ipynb).
"""
import argparse, json, os, platform, statistics, subprocess, sys, tempfile, threading, time
from pathlib import Path

OUT = Path(__file__).with_name("demo_bench.jsonl")


def load(): return float(open("/proc/loadavg").read().split()[0])


def one(nice):
    "One timed demo from an empty cache: a dict with wall_s, peak_gib, loads before and during, and the environment"
    import torch, transformers, cap_nb
    samples, done = [], threading.Event()
    def sample():
        while not done.wait(5): samples.append(load())
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
        before, t = load(), threading.Thread(target=sample, daemon=True)
        t.start()
        r = subprocess.run(["nice", "-n", str(nice), "/usr/bin/time", "-v", "-o", f"{out}/time.txt", "cap_nb", "demo",
                            "--out", f"{out}/demo"], env={**os.environ, "CAP_NB_CACHE": cache}, capture_output=True, text=True)
        done.set(); t.join()
        if r.returncode: sys.exit(f"demo failed:\n{r.stderr[-3000:]}")
        tv = {l.split(": ")[0].strip(): l.split(": ")[-1].strip() for l in Path(f"{out}/time.txt").read_text().splitlines() if ": " in l}
    el = tv["Elapsed (wall clock) time (h:mm:ss or m:ss)"]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    return dict(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), wall_s=round(sum(float(x) * 60 ** i for i, x in enumerate(reversed(el.split(":")))), 1),
                peak_gib=round(int(tv["Maximum resident set size (kbytes)"]) / 2**20, 2), cpu_percent=tv["Percent of CPU this job got"],
                load_before=before, load_during=[min(samples, default=before), round(statistics.mean(samples or [before]), 2), max(samples, default=before)],
                nice=nice, cpus=os.cpu_count(), cpu=cpu, torch=torch.__version__, transformers=transformers.__version__,
                cap_nb=cap_nb.__version__, python=platform.python_version())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=1); p.add_argument("--nice", type=int, default=0)
    a = p.parse_args(argv)
    for _ in range(a.runs):
        r = one(a.nice)
        print(json.dumps(r), flush=True)
        with open(OUT, "a") as f: f.write(json.dumps(r) + "\n")


if __name__ == "__main__": main()
