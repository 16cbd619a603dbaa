"""Inference tensors, against torch: tensors made while inference_mode is on report
is_inference() (views share it with their source), are refused when autograd would save
them for backward, refuse in-place updates and requires_grad=True outside inference
mode; tensors made from them outside it are normal."""
import copy
import pickle

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

from tests.program_compare import outcome as _outcome  # noqa: E402


def _made(m):
    """(x normal requiring grad, tensors made inside inference_mode)."""
    x = m.ones(3, requires_grad=True)
    with m.inference_mode():
        made = {"factory": m.ones(3), "op": x * 2, "clone": x.clone(), "detach": x.detach(),
                "view_of_normal": x[0:2], "from_numpy": m.from_numpy(np.ones(2)),
                "tensor": m.tensor([1.0, 2.0])}
        made["view_of_inference"] = made["factory"][1:]
    return x, made


def _flags(m):
    x, made = _made(m)
    return [(k, v.is_inference(), v.requires_grad) for k, v in made.items()] + \
        [x.is_inference()]


def _after(m):
    _, made = _made(m)
    z = made["factory"]
    return [(z + 1).is_inference(), z.detach().is_inference(), z.clone().is_inference(),
            copy.deepcopy(z).is_inference(), pickle.loads(pickle.dumps(z)).is_inference(),
            z[0].is_inference()]


def _use(f):
    def program(m):
        x, made = _made(m)
        return f(m, x, made["factory"], made["view_of_inference"])
    return program


def _inside(m):
    x, made = _made(m)
    z = made["factory"]
    with m.inference_mode():
        z.add_(1)
        z.requires_grad_()
    return [z, z.requires_grad]


def _parameter_made_inside(m):
    with m.inference_mode():
        lin = m.nn.Linear(2, 2)
    return [lin.weight.is_inference(), lin.weight.requires_grad]


CASES = {
    "flags": _flags,
    "after": _after,
    "saved_for_backward": _use(lambda m, x, z, v: (x * z).sum()),
    "not_saved_is_fine": _use(lambda m, x, z, v: (x + z).sum()),
    "requires_grad_outside": _use(lambda m, x, z, v: z.requires_grad_()),
    "add_": _use(lambda m, x, z, v: z.add_(1)),
    "zero_": _use(lambda m, x, z, v: z.zero_()),
    "fill_": _use(lambda m, x, z, v: z.fill_(2)),
    "copy_": _use(lambda m, x, z, v: z.copy_(x)),
    "setitem": _use(lambda m, x, z, v: z.__setitem__(0, 1.0)),
    "view_mul_": _use(lambda m, x, z, v: v.mul_(2)),
    "uniform_": _use(lambda m, x, z, v: z.uniform_()),
    "clamp_": _use(lambda m, x, z, v: z.clamp_(0, 1)),
    "under_no_grad": _use(lambda m, x, z, v: _no_grad_add(m, z)),
    "inside_inference_mode": _inside,
    "parameter_made_inside": _parameter_made_inside,
}


def _no_grad_add(m, z):
    with m.no_grad():
        return z.add_(1)


@pytest.mark.parametrize("name", list(CASES))
def test_inference_tensors_match_torch(name):
    t, e = _outcome(CASES[name], torch), _outcome(CASES[name], ember)
    if isinstance(t, tuple) and t[0] == "raised":
        assert isinstance(e, tuple) and e[:2] == t[:2] and e[2] == t[2], (t, e)
    else:
        assert e == t, (t, e)
