"""Differential probe: one whole PyTorch program, run unchanged on torch and on ember.

A practitioner's script (a tutorial, an example from pytorch/examples) runs twice in fresh
processes from the same working directory contents: once with ``python script.py`` on real
torch, once with ``python -m ember.run script.py`` (``import torch`` gives ember,
``torchvision`` gives ``ember.vision``). The two outputs (stdout, then stderr's last
traceback line) are compared line by line with bench/textcompare.py: ``ember`` reads as
``torch``, addresses are blanked, and lines that differ only in their numbers match when
each number agrees within the tolerances. Same seed, same numbers: ember's generator draws
torch's stream, so a seeded script's printed losses are comparable.

A probe for finding defects, not a test (the scripts are public programs fetched at probe
time and never committed; each defect found gets its own regression test in tests/):

    nice -n 5 python -m bench.script_probe script.py [--rtol 2e-3] [--atol 2e-4]
        [--timeout 600] [--cwd DIR] [--keep] [-- script args ...]

``--cwd DIR``: a directory whose contents (data files the script reads) are copied into
each run's fresh working directory. Torch's run gets ``$EMBER_PROBE_TORCH_PATH`` prepended
to PYTHONPATH (where a torchvision built for this torch lives; ember's run never sees it).
Exit status 0 when the outputs match, 1 when they differ, 2 when torch itself failed.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from .textcompare import normalize, same_text

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env(library):
    env = dict(os.environ)
    paths = [ROOT] if library == "ember" else []
    extra = os.environ.get("EMBER_PROBE_TORCH_PATH")
    if library == "torch" and extra:
        paths.append(extra)
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def run_one(library, script, args=(), data_dir=None, timeout=600, keep=False):
    """Run `script` on `library` ('torch' or 'ember') in a fresh directory holding a copy of
    `data_dir`; a dict of returncode, stdout, stderr, seconds and the directory."""
    work = tempfile.mkdtemp(prefix=f"probe_{library}_")
    if data_dir:
        shutil.copytree(data_dir, work, dirs_exist_ok=True)
    target = os.path.join(work, os.path.basename(script))
    if os.path.abspath(script) != target:
        shutil.copy(script, target)
    cmd = [sys.executable] + (["-m", "ember.run"] if library == "ember" else []) + [target, *args]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=work, env=_env(library), capture_output=True, text=True,
                           timeout=timeout)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc = "timeout"
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
    result = {"returncode": rc, "stdout": out, "stderr": err,
              "seconds": time.perf_counter() - t0, "dir": work}
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return result


def last_error(stderr):
    """The last line of the last traceback in `stderr` ('' when there is none)."""
    lines = stderr.strip().splitlines()
    if not any(line.startswith("Traceback") for line in lines):
        return ""
    return lines[-1] if lines else ""


def compare(t, e, rtol=2e-3, atol=2e-4):
    """Line-by-line verdicts of two run_one results: a list of (verdict, torch line, ember
    line) with verdict 'same', 'close' or 'DIFF', then the exit status and last error."""
    tl = normalize(t["stdout"]).splitlines()
    el = normalize(e["stdout"]).splitlines()
    rows = []
    for i in range(max(len(tl), len(el))):
        a = tl[i] if i < len(tl) else "<missing>"
        b = el[i] if i < len(el) else "<missing>"
        rows.append((same_text(a, b, rtol, atol) or "DIFF", a, b))
    ta, ea = last_error(t["stderr"]), last_error(e["stderr"])
    rows.append(("same" if (t["returncode"] == 0) == (e["returncode"] == 0) and
                 normalize(ta) == normalize(ea) else "DIFF",
                 f"exit {t['returncode']} {ta}", f"exit {e['returncode']} {ea}"))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("script")
    ap.add_argument("--rtol", type=float, default=2e-3)
    ap.add_argument("--atol", type=float, default=2e-4)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--cwd", default=None, help="directory of data files copied into each run")
    ap.add_argument("--keep", action="store_true", help="keep the working directories")
    ap.add_argument("--all", action="store_true", help="print matching lines too")
    argv = list(sys.argv[1:] if argv is None else argv)
    args = argv[argv.index("--") + 1:] if "--" in argv else []
    ns = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    t = run_one("torch", ns.script, args, ns.cwd, ns.timeout, ns.keep)
    e = run_one("ember", ns.script, args, ns.cwd, ns.timeout, ns.keep)
    rows = compare(t, e, ns.rtol, ns.atol)
    bad = [r for r in rows if r[0] == "DIFF"]
    for verdict, a, b in rows:
        if verdict == "DIFF" or ns.all:
            print(f"[{verdict}]\n  torch: {a}\n  ember: {b}")
    if t["returncode"] != 0:
        print("--- torch failed:\n" + t["stderr"][-3000:])
    elif e["returncode"] != 0:
        print("--- ember failed:\n" + e["stderr"][-3000:])
    print(f"{os.path.basename(ns.script)}: {len(rows) - len(bad)}/{len(rows)} lines match; "
          f"torch {t['seconds']:.1f} s, ember {e['seconds']:.1f} s"
          + (f"; dirs {t['dir']} {e['dir']}" if ns.keep else ""))
    return 2 if t["returncode"] != 0 else (1 if bad else 0)


if __name__ == "__main__":
    sys.exit(main())
