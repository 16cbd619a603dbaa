"""Defects found by running the examples of PyTorch's own docstrings on ember
(bench/docstring_sweep.py); each case is the docstring's program (or the defect's core)
run on both, compared: values, dtypes and shapes, or the exception type; REPR_CASES
compare the printed text, with ``ember`` read as ``torch``."""
import re

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

from tests.program_compare import run as _run  # noqa: E402


def _same(a, b):
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, tuple) and a and a[0] == "T":
        return (isinstance(b, tuple) and a[:3] == b[:3]
                and np.allclose(a[3], b[3], rtol=1e-6, atol=1e-6, equal_nan=True))
    return type(a) is type(b) and a == b


_COND = lambda m: m.tensor([[0.5, -1.0], [-0.1, 2.0], [0.0, -3.0]]) > 0  # noqa: E731

CASES = {
    # torch.where's docstring: both branches Python scalars
    "where_two_floats": lambda m: m.where(_COND(m), 1.0, 0.0),
    "where_two_ints": lambda m: m.where(_COND(m), 1, 0),
    "where_int_float": lambda m: m.where(_COND(m), 1, 0.5),
    "where_two_bools": lambda m: m.where(_COND(m), True, False),
    "where_int_complex": lambda m: m.where(_COND(m), 1, 2j),
    "where_float_condition_scalars": lambda m: m.where(m.ones(2), 1.0, 0.0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_torch(name):
    got, want = _run(CASES[name], ember), _run(CASES[name], torch)
    assert _same(got, want), (got, want)


def _text(program, m):
    """What the program prints (its result's repr), with ember read as torch."""
    try:
        out = repr(program(m))
    except Exception as e:  # noqa: BLE001 - the type is what gets compared
        out = f"raised {type(e).__name__}"
    return re.sub(r"\bember\b", "torch", out)


REPR_CASES = {
}


@pytest.mark.parametrize("name", sorted(REPR_CASES))
def test_repr_as_torch(name):
    assert _text(REPR_CASES[name], ember) == _text(REPR_CASES[name], torch)
