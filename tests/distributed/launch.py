"""Run a script on N ranks through ember's launcher, with a bounded timeout."""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WORKERS = os.path.join(HERE, "workers")
ROOT = os.path.dirname(os.path.dirname(HERE))
TIMEOUT_S = 120


def launch(script, *args, nproc=2, timeout=TIMEOUT_S, launcher=None):
    """(returncode, combined output) of `script args` on nproc ranks."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if launcher is None:
        launcher = [sys.executable, "-m", "ember.distributed.run", "--nproc-per-node", str(nproc)]
    proc = subprocess.run(launcher + [os.path.join(WORKERS, script)] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    return proc.returncode, proc.stdout + proc.stderr


def launch_json(tmp_path, script, *args, nproc=2):
    """Run a worker that writes a JSON result file; return the parsed results."""
    out = tmp_path / f"{script}.{nproc}.json"
    code, output = launch(script, out, *args, nproc=nproc)
    assert code == 0, f"launcher exited with {code}:\n{output[-4000:]}"
    with open(out) as f:
        return json.load(f)
