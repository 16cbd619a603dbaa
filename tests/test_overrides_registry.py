"""torch.overrides' registries against torch: get_overridable_functions lists the public
functions and Tensor methods that dispatch __torch_function__, get_ignored_functions the
ones that do not (Tensor.as_subclass ...), get_testing_overrides a dummy with each one's
signature returning -1. Asking turns the protocol on for the whole process, so each
library runs in a child process."""
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROGRAM = r"""
import inspect, sys
torch = __import__(sys.argv[1])
O = torch.overrides
o = O.get_overridable_functions()
ig = O.get_ignored_functions()
t = O.get_testing_overrides()
print([torch.add in o[torch], torch.Tensor.add in o[torch.Tensor],
       torch.nn.functional.relu in o[torch.nn.functional], torch.linalg.norm in o[torch.linalg],
       torch.fft.fft in o[torch.fft], torch.special.erf in o[torch.special]])
print([torch.Tensor.as_subclass in ig, torch.add in ig, torch.Tensor.add in ig])
print([t[torch.add](1, 2), list(inspect.signature(t[torch.add]).parameters)[:2],
       torch.Tensor.add in t, torch.mean in t, torch.nn.functional.relu in t])
"""


def _run(lib):
    r = subprocess.run([sys.executable, "-c", PROGRAM, lib], capture_output=True, text=True,
                       cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_override_registries_match_torch():
    assert _run("ember") == _run("torch")
