"""The ember package never imports torch: checked in a fresh interpreter after real work."""
import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROGRAM = textwrap.dedent("""
    import sys
    import ember

    # one step of linear regression y = x @ w + b by gradient descent
    ember.manual_seed(0)
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    y = ember.tensor([[1.0], [2.0], [3.0]])
    w = ember.zeros(2, 1, requires_grad=True)
    b = ember.zeros(1, requires_grad=True)
    loss = ((x @ w + b - y) ** 2).mean()
    loss.backward()
    with ember.no_grad():
        w -= 0.01 * w.grad
        b -= 0.01 * b.grad
    new_loss = ((x @ w + b - y) ** 2).mean()
    print(repr(loss), repr(new_loss))
    assert new_loss.item() < loss.item()

    leaked = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
    print("torch modules:", leaked)
""")


def test_ember_never_imports_torch():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", PROGRAM], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    # the values PyTorch prints for the same program
    assert lines[0] == ("tensor(4.6667, grad_fn=<MeanBackward0>) "
                        "tensor(0.6721, grad_fn=<MeanBackward0>)"), lines[0]
    assert lines[-1] == "torch modules: []"
