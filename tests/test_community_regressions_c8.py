"""Community programs, round 8: the cores of tutorial-style programs (a nanoGPT character
model with causal scaled_dot_product_attention, weight tying and top-k sampling, makemore's
MLP on a seeded Generator, a small U-Net with a BCE + dice loss, metric-learning and
distillation losses, label smoothing, mixup/cutmix, EMA/SWA with AveragedModel, torch.compile
as a no-op, DataLoader samplers and collate functions, partial state-dict loading, einsum and
patch reshapes, FFT filtering, PPO-style policy gradients, a spatial transformer ...) run on
both libraries and compared; and the defects the probe found (embedding_bag's offsets checks
and max-mode ties, torch.compile's argument checks), each with its regression test."""
import math
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _outcome(L, program):
    """("ok", result) or (exception type name, message with the library's name blanked)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "ok", program(L)
        except Exception as e:   # the exception is the outcome compared
            return type(e).__name__, str(e).replace("torch", "L").replace("ember", "L")


# ------------------------------------------------------------------ embedding_bag's offsets

def _bag(L, inp, off, **kw):
    weight = L.arange(10.).view(5, 2)
    offsets = L.tensor(off, dtype=L.long)
    return L.nn.functional.embedding_bag(L.tensor(inp, dtype=L.long), weight, offsets,
                                         **kw).tolist()


_BAG_CASES = {
    "first offset not 0": lambda L: _bag(L, [1, 2], [1]),
    "first offset not 0, int32": lambda L: L.nn.functional.embedding_bag(
        L.tensor([1, 2]), L.ones(5, 2), L.tensor([1], dtype=L.int32)),
    "first offset negative": lambda L: _bag(L, [1, 2], [-1, 1]),
    "last offset past the end": lambda L: _bag(L, [1, 2, 3], [0, 5]),
    "last offset past the end, include_last_offset": lambda L: _bag(
        L, [1, 2, 3], [0, 2, 5], include_last_offset=True),
    "decreasing offsets": lambda L: _bag(L, [1, 2, 3, 4, 0], [0, 3, 1, 4]),
    "negative later offset": lambda L: _bag(L, [1, 2], [0, -1]),
    "equal offsets: an empty bag": lambda L: _bag(L, [1, 2, 3], [0, 1, 1]),
    "no offsets": lambda L: _bag(L, [1, 2], []),
    "no offsets, include_last_offset": lambda L: _bag(L, [1, 2], [], include_last_offset=True),
    "empty input, one bag": lambda L: _bag(L, [], [0]),
    "2-D offsets": lambda L: L.nn.functional.embedding_bag(
        L.tensor([1, 2, 3]), L.ones(5, 2), L.tensor([[0, 1]])),
    "float offsets": lambda L: L.nn.functional.embedding_bag(
        L.tensor([1, 2, 3]), L.ones(5, 2), L.tensor([0., 1.])),
    "index past the table": lambda L: _bag(L, [1, 2, 7], [0, 1]),
    "index past the table, first bag": lambda L: _bag(L, [7, 2, 1], [0, 1]),
    "negative index": lambda L: _bag(L, [1, 2, -1], [0, 1]),
    "index past the table, max": lambda L: _bag(L, [1, 2, 7], [0, 2], mode="max"),
    "3-D input": lambda L: L.nn.functional.embedding_bag(L.ones(1, 1, 2, dtype=L.long),
                                                         L.ones(5, 2)),
    "2-D input with offsets": lambda L: L.nn.functional.embedding_bag(
        L.ones(1, 2, dtype=L.long), L.ones(5, 2), L.tensor([0])),
    "1-D weight": lambda L: L.nn.functional.embedding_bag(L.ones(2, dtype=L.long), L.ones(5),
                                                          L.tensor([0])),
    "module, first offset not 0": lambda L: L.nn.EmbeddingBag(5, 2, mode="sum")(
        L.tensor([1, 2]), L.tensor([1])),
}


@pytest.mark.parametrize("case", list(_BAG_CASES))
def test_embedding_bag_offsets_as_torch(case):
    """Text classifiers (the EmbeddingBag tutorial) build offsets from cumulative lengths;
    off by one, PyTorch refuses offsets that do not start at 0 or that run past the input,
    and an index past the table is a RuntimeError naming it. ember summed from wherever the
    offsets started, raised a NumPy IndexError past the end, and failed on no offsets."""
    program = _BAG_CASES[case]
    assert _outcome(ember, program) == _outcome(torch, program)


def test_embedding_bag_index_past_the_table_in_a_2d_input():
    def program(L):
        return L.nn.functional.embedding_bag(L.tensor([[1, 2], [7, 1]]), L.ones(5, 2))
    # (PyTorch's message for this layout is its kernel's internal check: the type is compared)
    assert _outcome(ember, program)[0] == _outcome(torch, program)[0] == "RuntimeError"


def _bag_grads(L, inp, off, mode):
    w = L.ones(5, 2, requires_grad=True)
    offsets = None if off is None else L.tensor(off)
    out = L.nn.functional.embedding_bag(L.tensor(inp, dtype=L.long), w, offsets, mode=mode)
    (out * L.arange(1., out.numel() + 1).view(out.shape)).sum().backward()
    return out.tolist(), type(out.grad_fn).__name__, w.grad.tolist()


@pytest.mark.parametrize("inp, off", [([1, 2], [0, 0, 2]), ([[1, 2], [3, 3]], None),
                                      ([], [0]), ([1, 1, 4], [0, 2])])
@pytest.mark.parametrize("mode", ["max", "sum", "mean"])
def test_embedding_bag_ties_and_empty_bags(inp, off, mode):
    """max mode's gradient goes to the first row holding the maximum, as PyTorch's argmax
    does (ember's amax split it between tied rows); an empty bag's zeros are part of the
    graph (ember's had no grad_fn)."""
    assert _bag_grads(ember, inp, off, mode) == _bag_grads(torch, inp, off, mode)


# ------------------------------------------------------------------ torch.compile's arguments

_COMPILE_CASES = {
    "an int": lambda L: L.compile(3),
    "a string, disabled": lambda L: L.compile("abc", disable=True),
    "an int, eager backend": lambda L: L.compile(3, backend="eager"),
    "mode and options": lambda L: L.compile(lambda x: x, mode="default", options={}),
    "unknown mode": lambda L: L.compile(lambda x: x, mode="fastest"),
    "unknown mode, disabled": lambda L: L.compile(lambda x: x, mode="fastest", disable=True),
    "unknown mode before the callable check": lambda L: L.compile(3, mode="x"),
    "mode of another backend": lambda L: L.compile(lambda x: x + 1, mode="foo",
                                                   backend="eager")(1),
    "decorator applied to None": lambda L: L.compile(mode="max-autotune")(None),
    "decorator": lambda L: L.compile(mode="max-autotune-no-cudagraphs")(lambda x: x * 2)(3),
    "options": lambda L: L.compile(lambda x: x - 1, options={"trace.enabled": False})(3),
}


@pytest.mark.parametrize("case", list(_COMPILE_CASES))
def test_compile_argument_checks(case):
    """torch.compile checks its arguments before it wraps anything: a typo in mode, both
    mode and options, or something that is not callable raise at once (ember returned the
    object, so the mistake surfaced later as "'int' object is not callable")."""
    program = _COMPILE_CASES[case]
    assert _outcome(ember, program) == _outcome(torch, program)


# ------------------------------------------------------------------ sizes that are not ints

_SIZE_ERRORS = {
    # torch.zeros(n / 2, 3): a true division makes a float size, the most common of these
    "float first of several": lambda L: L.zeros(4 / 2, 3),
    "float later": lambda L: L.ones(2, 3 / 1),
    "float third": lambda L: L.zeros(2, 3, 4.0),
    "str later": lambda L: L.ones(2, "3"),
    "None later": lambda L: L.empty(3, None),
    "tuple later": lambda L: L.zeros(3, (2,)),
    "NumPy float later": lambda L: L.zeros(3, np.float32(2.0)),
    "NumPy float first": lambda L: L.zeros(np.float64(2.0), 3),
    "float tensor later": lambda L: L.zeros(3, L.tensor(2.0)),
    "a lone float": lambda L: L.zeros(2.5),
    "a lone str": lambda L: L.zeros("a"),
    "float first in a tuple": lambda L: L.zeros((2.5, 3)),
    "float later in a tuple": lambda L: L.zeros((2, 2.5)),
    "float later in a list": lambda L: L.full([2, 2.0], 1.0),
    "float first in a list": lambda L: L.zeros([2.0]),
    "keyword tuple, float first": lambda L: L.zeros(size=(2.5,)),
    "keyword list, float first": lambda L: L.zeros(size=[2.0]),
    "keyword tuple, str later": lambda L: L.zeros(size=(2, "a")),
    "keyword float": lambda L: L.zeros(size=2.5),
    "randn float first of several": lambda L: L.randn(4 / 2, 3),
    "rand a lone float": lambda L: L.rand(2.0),
    "randn float later": lambda L: L.randn(2, 2.0),
    "rand float first in a tuple": lambda L: L.rand((2.0,)),
    "randn keyword tuple": lambda L: L.randn(size=(2.0,)),
    "an int tensor is a size": lambda L: L.zeros(3, L.tensor(2)).shape,
}


@pytest.mark.parametrize("case", list(_SIZE_ERRORS))
def test_factory_size_type_errors_as_torch(case):
    """PyTorch's argument parser words a size that is not ints by where it is: 'failed to
    unpack the object at pos 2' for a later element, 'takes 1 positional argument but 2 were
    given' (rand/randn: the invalid combination of arguments) for a bad first of several,
    '(position 1) ... at pos 0' inside a tuple, '... not tuple' given by keyword; ember said
    'must be tuple of ints, but found element of type float' in every case."""
    program = _SIZE_ERRORS[case]
    assert _outcome(ember, program) == _outcome(torch, program)


@pytest.mark.parametrize("size", [(1, 1, 4, 4), (1, 1, 2, 3, 4)])
def test_affine_grid_shape_message_prints_the_size(size):
    """affine_grid's refusal of a theta of the wrong shape prints theta.size() (torch.Size([1,
    3, 3])), as the spatial transformer tutorial's users see it; ember printed a list."""
    def program(L):
        return L.nn.functional.affine_grid(L.randn(1, 3, 3 if len(size) == 4 else 5), size,
                                           align_corners=False)
    assert _outcome(ember, program) == _outcome(torch, program)
