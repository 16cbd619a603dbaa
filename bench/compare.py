"""Time each workload on ember and on torch, each framework in its own subprocess.

Rounds alternate ember, torch, ember, torch ... so that drifting machine load hits
both alike. In a round, a worker process times every selected workload: a warm-up,
then `repeats` timings of `number` iterations each, keeping the median time per
iteration. The table shows, per workload, the median over rounds for each framework
and the ratio ember / torch.

The ember worker runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its
environment (they are tuning overrides meant for torch's bundled OpenBLAS); torch's
worker keeps the environment unchanged. Each worker reports the BLAS threadpoolctl sees.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

FRAMEWORKS = ("ember", "torch")
_EMBER_ENV_DROP = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# ---------------------------------------------------------------------------- worker

def _blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["threadpoolctl not installed"]
    lines = []
    for pool in threadpool_info():
        lines.append(f"{pool.get('internal_api')} {pool.get('version')} "
                     f"kernel={pool.get('architecture')} threads={pool.get('num_threads')} "
                     f"({os.path.basename(pool.get('filepath', ''))})")
    return lines


def _time_workload(step, number, repeats, warmup):
    for _ in range(warmup):
        step()
    per_iter = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            step()
        per_iter.append((time.perf_counter() - t0) / number)
    return statistics.median(per_iter)


def worker(framework, names, number, repeats, warmup):
    """Run in a subprocess: time `names` on `framework`, print one JSON line."""
    if framework == "ember":
        import ember as lib
    else:
        import torch as lib
    from .workloads import WORKLOADS
    times = {}
    for name in names:
        step = WORKLOADS[name](lib)
        times[name] = _time_workload(step, number, repeats, warmup)
    print(json.dumps({"framework": framework, "times": times, "blas": _blas_info()}))


# ---------------------------------------------------------------------------- driver

def _run_worker(framework, names, args):
    env = dict(os.environ)
    if framework == "ember":
        for key in _EMBER_ENV_DROP:
            env.pop(key, None)
    cmd = [sys.executable, "-m", "bench.compare", "--worker", framework,
           "--names", ",".join(names), "--number", str(args.number),
           "--repeats", str(args.repeats), "--warmup", str(args.warmup)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{framework} worker failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fmt_time(seconds):
    return f"{seconds * 1e6:9.2f} us"


def main(argv=None):
    from .workloads import WORKLOADS
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--only", help="run the workloads whose name contains this text")
    p.add_argument("--json", help="also write the results to this file")
    p.add_argument("--rounds", type=int, default=4, help="ember/torch alternations")
    p.add_argument("--number", type=int, default=2000, help="iterations per timing")
    p.add_argument("--repeats", type=int, default=5, help="timings per round")
    p.add_argument("--warmup", type=int, default=200, help="untimed iterations first")
    p.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    p.add_argument("--names", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args.worker, args.names.split(","), args.number, args.repeats, args.warmup)
        return
    names = [n for n in WORKLOADS if args.only is None or args.only in n]
    if not names:
        raise SystemExit(f"no workload matches {args.only!r}; known: {', '.join(WORKLOADS)}")
    samples = {fw: {n: [] for n in names} for fw in FRAMEWORKS}
    blas = {}
    for _ in range(args.rounds):
        for fw in FRAMEWORKS:
            result = _run_worker(fw, names, args)
            blas[fw] = result["blas"]
            for n, t in result["times"].items():
                samples[fw][n].append(t)
    for fw in FRAMEWORKS:
        print(f"{fw} BLAS: " + ("; ".join(blas[fw]) or "none loaded"))
    print(f"\n{'workload':<24}{'ember':>14}{'torch':>14}{'ember/torch':>13}")
    rows = []
    for n in names:
        e = statistics.median(samples["ember"][n])
        t = statistics.median(samples["torch"][n])
        rows.append({"workload": n, "ember_s": e, "torch_s": t, "ratio": e / t,
                     "ember_rounds": samples["ember"][n], "torch_rounds": samples["torch"][n]})
        print(f"{n:<24}{_fmt_time(e):>14}{_fmt_time(t):>14}{e / t:>12.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "blas": blas, "settings": vars(args)}, f, indent=2)


if __name__ == "__main__":
    main()
