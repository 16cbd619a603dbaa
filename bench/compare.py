"""Time each workload on ember and on torch, each in a fresh subprocess.

For every workload, rounds alternate an ember process and a torch process (a "pair"),
so drifting machine load hits both alike. A process builds the workload, warms it up,
chooses an iteration count that fills the workload's `min_time`, takes `repeats`
timings and reports their median per iteration, its peak RSS and the BLAS threadpoolctl
sees. The table shows, per workload, the median over pairs of each framework's time,
the ratio ember / torch, the peak RSS of each process and the issue's target.

Load check: the machine is shared, and another busy process makes two-thread runs many
times slower. Before a pair the driver waits (up to --max-wait s) for the CPUs to be
quiet; over the pair it reads /proc/stat and subtracts the CPU time of its own
children, which leaves what other processes used. A pair during which other processes
used more than --load-limit cores is repeated (up to --retries times); the figure is
the median of the undisturbed pairs, or, when none was undisturbed, of all pairs and
marked `*` (taken under load).

The ember worker runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its
environment (overrides that force an older GEMM kernel; a user's machine has none);
torch's worker keeps the environment unchanged.
"""
import argparse
import datetime
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

FRAMEWORKS = ("ember", "torch")
_EMBER_ENV_DROP = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# issue 8's targets: group -> (limit on ember/torch time ratio, how the issue states it)
TARGETS = {
    "MLP training step": (0.8, "<= 0.8"),
    "Transformer encoder training step": (1.0, "<= 1.0"),
    "CNN training step": (1.3, "<= 1.3"),
    "ResNet-style training step": (1.5, "<= 1.5"),
    "LSTM training step": (2.0, "<= 2.0"),
    "tiny-op overhead": (1.5, "<= 1.5"),
    "tiny forward+backward": (1.5, "<= 1.5"),
    "MLP inference batch 1": (1.5, "<= 1.5"),
    "MLP inference batch 256": (0.8, "<= 0.8"),
    "optimizer step": (1.0, "<= 1.0"),
    "DataLoader, 2 workers": (1 / 0.9, "throughput >= 0.9"),
    "checkpoint save/load": (1.0, "<= 1.0"),
    "import time": (0.2, "<= 0.2"),
    # issue 9's targets, on a CUDA GPU
    "GPU MLP training step": (1.5, "<= 1.5"),
    "GPU CNN training step": (1.5, "<= 1.5"),
    "GPU ResNet-style training step": (1.5, "<= 1.5"),
    "GPU Transformer training step": (1.5, "<= 1.5"),
}
RSS_TARGET = 1.0   # peak memory of a training step, ember / torch


# ---------------------------------------------------------------------------- worker

def _blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["threadpoolctl not installed"]
    return [f"{p.get('internal_api')} {p.get('version')} kernel={p.get('architecture')} "
            f"threads={p.get('num_threads')} ({os.path.basename(p.get('filepath', ''))})"
            for p in threadpool_info()]


def _time_workload(step, min_time, repeats):
    """Median seconds per iteration of `step` over `repeats` timings of `min_time` each."""
    if getattr(step, "returns_time", False):   # the step measures itself (import time)
        step()
        return statistics.median(step() for _ in range(repeats))
    t0 = time.perf_counter()
    step()                                      # warm-up: caches, optimizer state
    first = time.perf_counter() - t0
    number = max(1, math.ceil(min_time / max(first, 1e-7)))
    if number > 1:                              # a second, calibrated warm-up
        t0 = time.perf_counter()
        for _ in range(number):
            step()
        number = max(1, math.ceil(min_time * number / (time.perf_counter() - t0)))
    per_iter = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            step()
        per_iter.append((time.perf_counter() - t0) / number)
    return statistics.median(per_iter)


def worker(framework, name):
    """Run in a subprocess: time workload `name` on `framework`, print one JSON line.

    The framework is the first thing the process imports, NumPy (through the workloads)
    after it, as in a program that starts with `import torch` (ember sets
    OPENBLAS_THREAD_TIMEOUT before NumPy loads OpenBLAS; where NumPy comes first it
    cannot)."""
    if framework == "ember":
        import ember as lib
    else:
        import torch as lib
    from .workloads import WORKLOADS
    w = WORKLOADS[name]
    seconds = _time_workload(w.setup(lib), w.min_time, w.repeats)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    info = _blas_info()
    if name.endswith("_cuda"):   # which convolution path the GPU workload took
        info.append(_cudnn_info(framework, lib))
    print(json.dumps({"framework": framework, "name": name, "seconds": seconds,
                      "rss_mib": rss_mib, "blas": info}))


def _cudnn_info(framework, lib):
    cudnn = lib.backends.cudnn
    if framework == "ember" and not (cudnn.is_available() and cudnn.enabled):
        return "convolutions: ember's im2col kernels (no cuDNN)"
    return f"convolutions: cuDNN {cudnn.version()} (benchmark={cudnn.benchmark})"


# ---------------------------------------------------------------------------- load check

def _cpu_busy_seconds():
    """Busy CPU seconds of the whole machine since boot (all cores, steal included)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]   # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _children_cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class LoadMeter:
    """CPU cores used by processes other than this one's children over an interval."""

    def start(self):
        self.t0 = time.perf_counter()
        self.busy0 = _cpu_busy_seconds()
        self.own0 = _children_cpu_seconds() + time.process_time()

    def others(self):
        wall = time.perf_counter() - self.t0
        busy = _cpu_busy_seconds() - self.busy0
        own = _children_cpu_seconds() + time.process_time() - self.own0
        return max(0.0, busy - own) / max(wall, 1e-3)


def _wait_quiet(limit, max_wait):
    """Wait until other processes use at most `limit` cores (sampled over 0.3 s), at most
    `max_wait` seconds; return the load last seen."""
    meter = LoadMeter()
    deadline = time.perf_counter() + max_wait
    while True:
        meter.start()
        time.sleep(0.3)
        load = meter.others()
        if load <= limit or time.perf_counter() >= deadline:
            return load


# ---------------------------------------------------------------------------- driver

def _run_worker(framework, name):
    env = dict(os.environ)
    if framework == "ember":
        for key in _EMBER_ENV_DROP:
            env.pop(key, None)
    cmd = [sys.executable, "-m", "bench.compare", "--worker", framework, "--names", name]
    out = subprocess.run(cmd, env=env, cwd=_ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{framework} worker for {name} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(name, args, log):
    """Alternating pairs for one workload; returns the row of the results table."""
    pairs = []
    disturbed = 0
    blas = {}
    while len([p for p in pairs if not p["loaded"]]) < args.rounds:
        if len(pairs) >= args.rounds + args.retries:
            break
        before = _wait_quiet(args.load_limit, args.max_wait)
        meter = LoadMeter()
        meter.start()
        pair = {}
        for fw in FRAMEWORKS:
            r = _run_worker(fw, name)
            pair[fw] = r
            blas[fw] = r["blas"]
        during = meter.others()
        pair["load"] = max(before, during)
        pair["loaded"] = pair["load"] > args.load_limit
        disturbed += pair["loaded"]
        pairs.append(pair)
        log(f"  {name}: ember {pair['ember']['seconds'] * 1e3:.3f} ms, torch "
            f"{pair['torch']['seconds'] * 1e3:.3f} ms, other load {pair['load']:.2f} cores")
    quiet = [p for p in pairs if not p["loaded"]]
    used = quiet or pairs
    row = {"workload": name, "under_load": not quiet, "pairs": len(pairs),
           "disturbed_pairs": disturbed, "blas": blas}
    for fw in FRAMEWORKS:
        row[f"{fw}_s"] = statistics.median(p[fw]["seconds"] for p in used)
        row[f"{fw}_rss_mib"] = max(p[fw]["rss_mib"] for p in used)
        row[f"{fw}_rounds_s"] = [p[fw]["seconds"] for p in pairs]
    row["ratio"] = row["ember_s"] / row["torch_s"]
    row["loads"] = [round(p["load"], 2) for p in pairs]
    return row


def _fmt_time(seconds):
    if seconds >= 0.1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-4:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.2f} us"


def _verdict(row, workloads):
    group = workloads[row["workload"]].group
    if group not in TARGETS:
        return "-", None
    limit, text = TARGETS[group]
    return text, row["ratio"] <= limit


def table(rows, workloads):
    """The results as a Markdown table."""
    lines = ["| workload | ember | torch | ember/torch | target | met | ember RSS | torch RSS |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        text, met = _verdict(row, workloads)
        mark = " *" if row["under_load"] else ""
        met_s = "-" if met is None else ("yes" if met else "no")
        lines.append(f"| {row['workload']} | {_fmt_time(row['ember_s'])} | "
                     f"{_fmt_time(row['torch_s'])} | {row['ratio']:.2f}{mark} | {text} | {met_s} | "
                     f"{row['ember_rss_mib']:.0f} MiB | {row['torch_rss_mib']:.0f} MiB |")
    return "\n".join(lines)


def flops_table(rows, workloads):
    """FLOPs per step and the fraction of the machine's GEMM peak each framework reaches."""
    by_name = {r["workload"]: r for r in rows}
    gemm = by_name.get("gemm_1024")
    if gemm is None:
        return ""
    g_flops = workloads["gemm_1024"].flops
    peak = max(g_flops / gemm["ember_s"], g_flops / gemm["torch_s"])
    lines = [f"GEMM peak (1024x1024 float32 matmul, best of the two): {peak / 1e9:.0f} GFLOP/s "
             f"(ember {g_flops / gemm['ember_s'] / 1e9:.0f}, torch "
             f"{g_flops / gemm['torch_s'] / 1e9:.0f})", "",
             "| training workload | GFLOP per step | ember GFLOP/s | ember % of peak | "
             "torch GFLOP/s | torch % of peak | peak RSS ember/torch |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        w = workloads[row["workload"]]
        if not w.flops or row["workload"] == "gemm_1024":
            continue
        e, t = w.flops / row["ember_s"], w.flops / row["torch_s"]
        rss = row["ember_rss_mib"] / row["torch_rss_mib"]
        lines.append(f"| {row['workload']} | {w.flops / 1e9:.3f} | {e / 1e9:.1f} | "
                     f"{100 * e / peak:.0f}% | {t / 1e9:.1f} | {100 * t / peak:.0f}% | "
                     f"{rss:.2f} ({'met' if rss <= RSS_TARGET else 'not met'}) |")
    return "\n".join(lines)


def installed_size():
    """MiB on disk of ember and of its required dependencies (numpy, ml_dtypes), and of
    torch with what it requires (the installed files listed by their distributions)."""
    from importlib import metadata

    def dist_mib(names):
        total = 0
        for n in names:
            try:
                files = metadata.distribution(n).files or []
            except metadata.PackageNotFoundError:
                continue
            for f in files:
                p = f.locate()
                if os.path.isfile(p):
                    total += os.path.getsize(p)
        return total / 2 ** 20

    ember_own = sum(os.path.getsize(os.path.join(d, f))
                    for d, _, fs in os.walk(os.path.join(_ROOT, "ember")) for f in fs
                    if not f.endswith(".pyc")) / 2 ** 20
    torch_deps = ["torch", "filelock", "typing_extensions", "sympy", "mpmath", "networkx",
                  "jinja2", "MarkupSafe", "fsspec"]
    return {"ember": ember_own + dist_mib(["numpy", "ml_dtypes"]),
            "torch": dist_mib(torch_deps)}


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, " \
           f"Python {platform.python_version()}"


def results_markdown(rows, workloads, blas, sizes, command, gpu=False):
    loaded = any(r["under_load"] for r in rows)
    parts = [
        f"# Benchmark results: ember vs PyTorch on the {'GPU' if gpu else 'CPU'}", "",
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {machine()}",
        f"- command: `{command}`",
        *[f"- {fw} BLAS: {'; '.join(blas.get(fw, [])) or 'none loaded'}" for fw in FRAMEWORKS],
        f"- installed size: ember + numpy + ml_dtypes {sizes['ember']:.0f} MiB; torch and its "
        f"requirements {sizes['torch']:.0f} MiB",
        "", "Times are medians over alternating ember/torch process pairs (per iteration); "
        "RSS is the peak of the process that ran the workload (framework import included).",
        *(["`*`: every pair of this workload ran while other processes used the CPUs; the "
           "figure is less reliable."] if loaded else []),
        "", table(rows, workloads), "", flops_table(rows, workloads), ""]
    return "\n".join(parts)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--only", help="run the workloads whose name contains this text "
                                  "(comma-separated: any of them)")
    p.add_argument("--json", help="also write the results to this file")
    p.add_argument("--results", help="write the Markdown report (bench/RESULTS.md) here")
    p.add_argument("--rounds", type=int, default=3, help="undisturbed ember/torch pairs wanted")
    p.add_argument("--retries", type=int, default=2, help="extra pairs allowed for disturbed ones")
    p.add_argument("--load-limit", type=float, default=0.3,
                   help="cores other processes may use before a pair counts as disturbed")
    p.add_argument("--max-wait", type=float, default=5.0,
                   help="seconds to wait for a quiet machine before a pair")
    p.add_argument("--quiet", action="store_true", help="no per-pair log lines")
    p.add_argument("--gpu", action="store_true",
                   help="run the CUDA workloads (names ending in _cuda) instead of the CPU ones")
    p.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    p.add_argument("--names", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:   # before the workloads module (and NumPy): see worker()
        worker(args.worker, args.names)
        return
    from .workloads import WORKLOADS
    wanted = args.only.split(",") if args.only else None
    names = [n for n in WORKLOADS if (wanted is None or any(w in n for w in wanted))
             and n.endswith("_cuda") == args.gpu]
    if not names:
        raise SystemExit(f"no workload matches {args.only!r}; known: {', '.join(WORKLOADS)}")

    def log(msg):
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    rows = []
    blas = {}
    for name in names:
        row = measure(name, args, log)
        blas.update(row["blas"])
        rows.append(row)
    for fw in FRAMEWORKS:
        print(f"{fw} BLAS: " + ("; ".join(blas.get(fw, [])) or "none loaded"))
    print()
    print(table(rows, WORKLOADS))
    print()
    print(flops_table(rows, WORKLOADS))
    command = "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv)
    if args.results:
        with open(args.results, "w") as f:
            f.write(results_markdown(rows, WORKLOADS, blas, installed_size(), command.strip(),
                                     args.gpu))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "blas": blas, "settings": vars(args)}, f, indent=2)


if __name__ == "__main__":
    main()
