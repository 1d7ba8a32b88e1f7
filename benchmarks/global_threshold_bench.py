"""Time and peak memory of one global pruning threshold (the exact k-th smallest score over all decoder linears).

Compares, on the same random bf16 tensors shaped like a model's decoder linears (q, k, v, o, gate, up, down of every
layer, created layer by layer), `cap_nb.weight_importance.global_kth` (two counting passes of 65536-bin histograms over
the fp32 bit patterns; one pass when all tensors are bf16) with a plain sort of the fp32 concatenation. Each
(config, method) runs in its own process; peak memory is the process high-water mark above its level once the tensors
exist (reset through /proc/self/clear_refs); time is wall-clock and process CPU time (on a loaded machine the
CPU time is the steadier number), with MALLOC_MMAP_THRESHOLD_=65536 so freed buffers return to the system
and the high-water mark is the true peak. The sort is skipped where its ~18 bytes per entry would not fit (--max-sort-gb).

    nice -n 15 python benchmarks/global_threshold_bench.py --out benchmarks/global_threshold_bench.txt
"""
import argparse, json, os, platform, subprocess, sys, time

CONFIGS = {  # (layers, hidden, n_heads, n_kv_heads, head_dim, mlp)
    "smollm2-135m": (30, 576, 9, 3, 64, 1536),
    "llama3-8b": (32, 4096, 32, 8, 128, 14336),
}


def shapes(cfg, layers):
    "[out, in] of the seven decoder linears of each of `layers` layers"
    _, d, h, kv, hd, m = CONFIGS[cfg]
    one = [(h * hd, d), (kv * hd, d), (kv * hd, d), (d, h * hd), (m, d), (m, d), (d, m)]
    return one * layers


def status(key):
    "A field of /proc/self/status in bytes"
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"): return int(line.split()[1]) * 1024


def one(a):
    "Measure one (config, method) in this process; print a RESULT line"
    import torch
    from cap_nb.weight_importance import global_kth
    torch.set_num_threads(a.threads); torch.manual_seed(0)
    t0 = time.perf_counter()
    ts = [torch.randn(s, dtype=torch.bfloat16).abs_() for s in shapes(a.config, a.layers)]  # |W|-like scores
    t_make, n = time.perf_counter() - t0, sum(t.numel() for t in ts)
    k = round(a.sparsity * n)
    open("/proc/self/clear_refs", "w").write("5")  # reset the high-water mark
    base = status("VmRSS"); t0, c0 = time.perf_counter(), time.process_time()
    if a.method == "global_kth": v = global_kth(ts, k).value
    else: v = torch.cat([t.reshape(-1) for t in ts]).float().sort().values[k - 1].item()
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    print("RESULT " + json.dumps(dict(config=a.config, layers=a.layers, method=a.method, entries=n, k=k, value=v,
                                      time_s=round(dt, 2), cpu_s=round(cpu, 2), extra_peak_mb=round((status("VmHWM") - base) / 2**20, 1),
                                      tensors_mb=round(2 * n / 2**20, 1), make_s=round(t_make, 1))), flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", default="smollm2-135m:30,llama3-8b:4", help="config:layers,...")
    p.add_argument("--sparsity", type=float, default=0.5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-sort-gb", type=float, default=2.5, help="skip the sort where 18 bytes/entry exceed this")
    p.add_argument("--out", default=None)
    p.add_argument("--one", nargs=3, metavar=("CONFIG", "LAYERS", "METHOD"), help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.one:
        a.config, a.layers, a.method = a.one[0], int(a.one[1]), a.one[2]
        return one(a)
    import torch
    lines = [f"# {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}  python {platform.python_version()}  "
             f"torch {torch.__version__}  threads {a.threads}  CPU {platform.processor() or platform.machine()} "
             f"({os.cpu_count()} cores)  loadavg at start {open('/proc/loadavg').read().split()[:3]}",
             f"# sparsity {a.sparsity}; random bf16 |N(0,1)| tensors; peak = high-water mark above the tensors' own memory"]
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    results = []
    for case in a.cases.split(","):
        cfg, layers = case.split(":")
        n = sum(o * i for o, i in shapes(cfg, int(layers)))
        for method in ("global_kth", "sort"):
            if method == "sort" and 18 * n / 2**30 > a.max_sort_gb:
                lines.append(f"# {cfg} x{layers} layers: sort skipped ({18 * n / 2**30:.1f} GB > --max-sort-gb)"); continue
            out = subprocess.run([sys.executable, __file__, "--one", cfg, layers, method, "--threads", str(a.threads)],
                                 env=env, capture_output=True, text=True)
            r = [json.loads(l[7:]) for l in out.stdout.splitlines() if l.startswith("RESULT ")]
            if not r: lines.append(f"# {cfg} {method} failed: {out.stderr[-500:]}"); continue
            results.append(r[0]); lines.append(json.dumps(r[0])); print(lines[-1], flush=True)
    for kth in [r for r in results if r["method"] == "global_kth"]:
        srt = [r for r in results if r["method"] == "sort" and r["config"] == kth["config"] and r["layers"] == kth["layers"]]
        if srt: lines.append(f"# {kth['config']}: same value {kth['value'] == srt[0]['value']}; time sort/global_kth "
                             f"{srt[0]['time_s'] / kth['time_s']:.2f}x (CPU time {srt[0]['cpu_s'] / kth['cpu_s']:.2f}x); extra peak {kth['extra_peak_mb']} MB vs {srt[0]['extra_peak_mb']} MB")
    lines.append(f"# loadavg at end {open('/proc/loadavg').read().split()[:3]}")
    print("\n".join(lines))
    if a.out: open(a.out, "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
