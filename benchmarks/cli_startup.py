"""Start-up time of the command line: `cap_nb --help` against a bare `python -c pass`, in one run.

`cap_nb --help` should not import torch or transformers; `import torch, transformers` is timed too, as the cost the
help text used to pay. Each command runs `--repeat` times in a fresh process; the medians are reported with their ratio
to the bare interpreter, with the library versions, CPU, threads and load average at the time.

    nice -n 15 python benchmarks/cli_startup.py --repeat 5 --out benchmarks/cli_startup.txt
"""
import argparse, os, platform, shutil, statistics, subprocess, sys, time
from importlib.metadata import version

def median_s(cmd, repeat):
    "Median wall time of `cmd` (a list) over `repeat` fresh processes"
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter(); subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL); ts.append(time.perf_counter() - t0)
    return statistics.median(ts)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0]); ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", default=None); a = ap.parse_args()
    py, exe = sys.executable, shutil.which("cap_nb") or "cap_nb"
    rows = {"python -c pass": [py, "-c", "pass"], "python -c 'import torch, transformers'": [py, "-c", "import torch, transformers"],
            "cap_nb --help": [exe, "--help"], "cap_nb run --help": [exe, "run", "--help"]}
    load0 = os.getloadavg()
    res = {k: median_s(v, a.repeat) for k, v in rows.items()}
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    lines = [f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; python {platform.python_version()}, torch {version('torch')}, "
             f"transformers {version('transformers')}, cap_nb {version('cap_nb')}; {cpu}, {os.cpu_count()} CPUs; "
             f"load average {load0[0]:.2f} before, {os.getloadavg()[0]:.2f} after; median of {a.repeat} runs",
             f"{'command':45} {'median s':>9} {'x bare python':>14}"]
    lines += [f"{k:45} {v:9.2f} {v / res['python -c pass']:14.1f}" for k, v in res.items()]
    text = "\n".join(lines); print(text)
    if a.out:
        with open(a.out, "a") as f: f.write(text + "\n\n")

if __name__ == "__main__": main()
