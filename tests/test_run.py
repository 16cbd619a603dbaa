"""`python -m ember.run script.py [args]`: torch / torchvision imports resolve to ember."""
import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_ember(tmp_path, source, *args, module=False):
    """Write `source` to tmp_path/prog.py and run it under ember.run; (rc, stdout, stderr)."""
    (tmp_path / "prog.py").write_text(textwrap.dedent(source))
    target = ["-m", "prog"] if module else [str(tmp_path / "prog.py")]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "ember.run", *target, *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def test_script_runs_on_ember(tmp_path):
    rc, out, err = run_ember(tmp_path, """
        import torch
        from torch import autograd
        print(torch.tensor([1., 2.]) * 2)
    """)
    assert rc == 0, err
    assert out == "tensor([2., 4.])\n"


def test_argv_name_and_path(tmp_path):
    rc, out, err = run_ember(tmp_path, """
        import os, sys
        print(__name__)
        print(sys.argv[1:])
        print(os.path.basename(sys.argv[0]))
        print(sys.path[0] == os.path.dirname(os.path.abspath(__file__)))
    """, "--lr", "0.1", "x")
    assert rc == 0, err
    assert out.splitlines() == ["__main__", "['--lr', '0.1', 'x']", "prog.py", "True"]


def test_torch_is_ember_and_real_torch_never_loads(tmp_path):
    rc, out, err = run_ember(tmp_path, """
        import sys
        import ember
        import torch
        import torch.autograd
        from torch.autograd import grad_mode
        print(torch is ember, torch.autograd is ember.autograd,
              grad_mode is ember.autograd.grad_mode)
        print(torch.__spec__.name, torch.autograd.__spec__.name)
        real = [k for k, v in sys.modules.items()
                if (k == "torch" or k.startswith("torch.")) and not v.__name__.startswith("ember")]
        print(real)
    """)
    assert rc == 0, err
    assert out.splitlines() == ["True True True", "ember ember.autograd", "[]"]


def test_missing_submodule_names_both(tmp_path):
    rc, out, err = run_ember(tmp_path, """
        try:
            import torch.no_such_module
        except ModuleNotFoundError as exc:
            print(exc.name)
            print(exc)
    """)
    assert rc == 0, err
    name, message = out.splitlines()
    assert name == "torch.no_such_module"
    assert "'torch.no_such_module'" in message and "'ember.no_such_module'" in message


def test_torchvision_maps_to_ember_vision(tmp_path):
    rc, out, err = run_ember(tmp_path, """
        import ember
        try:
            import torchvision
        except ModuleNotFoundError as exc:
            print("missing:", exc)
        else:
            import ember.vision
            print("same:", torchvision is ember.vision)
    """)
    assert rc == 0, err
    if importlib.util.find_spec("ember.vision") is None:
        assert out.startswith("missing:") and "ember.vision" in out and "torchvision" in out
    else:
        assert out == "same: True\n"


def test_run_module(tmp_path):
    rc, out, err = run_ember(tmp_path, """
        import sys, torch
        print(torch.ones(2, dtype=torch.int64), sys.argv[1:])
    """, "a", module=True)
    assert rc == 0, err
    assert out == "tensor([1, 1]) ['a']\n"


def test_script_error_exits_nonzero(tmp_path):
    rc, out, err = run_ember(tmp_path, """
        import torch
        raise SystemExit(torch.tensor(3).item())
    """)
    assert rc == 3
    rc, out, err = run_ember(tmp_path, "raise ValueError('boom')\n")
    assert rc == 1 and "ValueError: boom" in err


def test_usage_without_arguments():
    proc = subprocess.run([sys.executable, "-m", "ember.run"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "usage" in proc.stderr


@pytest.mark.parametrize("name, target", [
    ("torch", "ember"), ("torch.nn.functional", "ember.nn.functional"),
    ("torchvision", "ember.vision"), ("torchvision.models", "ember.vision.models"),
    ("torchaudio", None), ("torchx", None), ("numpy", None),
])
def test_alias_names(name, target):
    from ember import run
    assert run._target_name(name) == target
