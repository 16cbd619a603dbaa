"""bench/script_probe.py (the whole-program probe) and bench/textcompare.py: a seeded
program printed by torch and by ember compares line by line; a changed number or a
failing run shows as a difference."""
import textwrap

import pytest

pytest.importorskip("torch")

from bench import script_probe  # noqa: E402
from bench.textcompare import same_text  # noqa: E402

PROGRAM = textwrap.dedent("""
    import torch
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    for step in range(3):
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad(); loss.backward(); opt.step()
        print(step, loss.item())
    print(model[0].weight)
""")


def test_a_seeded_program_matches(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(PROGRAM)
    t = script_probe.run_one("torch", str(script))
    e = script_probe.run_one("ember", str(script))
    rows = script_probe.compare(t, e)
    assert t["returncode"] == 0 and e["returncode"] == 0, e["stderr"]
    assert all(v != "DIFF" for v, _, _ in rows), rows
    assert len(rows) == len(t["stdout"].strip().splitlines()) + 1


def test_differences_and_failures_show(tmp_path):
    ok = {"returncode": 0, "stdout": "loss 1.2345\ntensor([1., 2.])\n", "stderr": ""}
    other = {"returncode": 0, "stdout": "loss 1.3\ntensor([1., 2.])\n", "stderr": ""}
    failed = {"returncode": 1, "stdout": "loss 1.2345\n",
              "stderr": "Traceback (most recent call last):\nValueError: boom\n"}
    assert [v for v, _, _ in script_probe.compare(ok, other)] == ["DIFF", "same", "same"]
    verdicts = [v for v, _, _ in script_probe.compare(ok, failed)]
    assert verdicts == ["same", "DIFF", "DIFF"]


def test_textcompare_reads_ember_as_torch_and_numbers_to_print_precision():
    assert same_text("tensor([1.0000, 2.0001])", "tensor([1.0000, 2.0001])") == "same"
    assert same_text("<class 'torch.Tensor'>", "<class 'ember.Tensor'>") == "same"
    assert same_text("x 0.10001", "x 0.1") == "close"
    assert same_text("x 0.2", "x 0.1") is None
    assert same_text("x 0.2", "x 0.1", rel_tol=1.0) == "close"
