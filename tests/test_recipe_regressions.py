"""Defects found by running the programs of PyTorch's recipes (pytorch/tutorials
recipes_source/) on ember with bench/script_probe.py; each case is the defect's core, a
few lines run on both and compared: values, dtypes and shapes, the exception type, or the
warnings raised."""
import warnings

import pytest

import ember

torch = pytest.importorskip("torch")

from tests.program_compare import run as _run, same  # noqa: E402


def _seeded(program):
    """The program after manual_seed(0): seeded draws are PyTorch's stream on both."""
    def seeded(m):
        m.manual_seed(0)
        return program(m)
    return seeded


def _warned(program):
    """The program's result, then the messages of the warnings it raised."""
    def run(m):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = program(m)
        return [out, [str(w.message) for w in caught]]
    return run


def _drop(name, shape, p=0.5, inplace=False):
    """F.<name> of ones(shape) in training mode, then a draw showing how many values the
    mask took from the generator."""
    def program(m):
        x = m.ones(shape)
        y = getattr(m.nn.functional, name)(x, p, True, inplace)
        return [y, x, m.rand(3)]
    return _warned(_seeded(program))


CASES = {
    # defining_a_neural_network: Dropout2d of a flattened (N, C) batch is elementwise in
    # PyTorch (one draw per (N, C)); ember zeroed whole rows
    **{f"{name}_{len(shape)}d": _drop(name, shape)
       for name in ("dropout1d", "dropout2d", "dropout3d")
       for shape in ((), (5,), (2, 5), (3, 2, 2), (2, 3, 2, 2), (2, 2, 1, 2, 2))},
    "dropout2d_3d_inplace": _drop("dropout2d", (3, 2, 2), inplace=True),
    "dropout3d_4d_inplace": _drop("dropout3d", (2, 3, 2, 2), inplace=True),
    "dropout2d_empty": _drop("dropout2d", (0, 3)),
    "dropout2d_module_on_flat": _warned(_seeded(lambda m: m.nn.Dropout2d(0.5)(m.ones(2, 6)))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_torch(name):
    got, want = _run(CASES[name], ember), _run(CASES[name], torch)
    assert same(got, want, strict_types=True), (got, want)
