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


# ------------------------------------------------------------------ causal attention with a mask

def _sdpa_causal_and_mask(L, shapes, mask, dtype="float32", **kw):
    rng = np.random.RandomState(1)
    q, k, v = (L.tensor(rng.randn(*s).astype(dtype), requires_grad=True) for s in shapes[:3])
    m = (L.tensor(rng.randn(*shapes[3]).astype(dtype)) if mask == "float"
         else L.tensor(rng.rand(*shapes[3]) > 0.3))
    out = L.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=True,
                                                       **kw)
    out.sum().backward()
    return out.detach().numpy(), q.grad.numpy(), k.grad.numpy(), v.grad.numpy()


@pytest.mark.parametrize("shapes, kw", [
    (((1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 4), (3, 3)), {}),
    (((1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4), (3, 5)), {}),        # L < S: top-left causal
    (((2, 2, 5, 4), (2, 2, 3, 4), (2, 2, 3, 4), (2, 1, 5, 3)), {}),  # L > S
    (((1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 4), (3, 3)), {"scale": 0.3}),
    (((1, 4, 3, 4), (1, 2, 3, 4), (1, 2, 3, 4), (1, 1, 3, 3)), {"enable_gqa": True}),
])
@pytest.mark.parametrize("mask", ["float", "bool"])
def test_sdpa_causal_with_a_mask_on_the_flash_kernel(shapes, kw, mask):
    """PyTorch's CPU flash kernel (4-D q, k, v of one head size, no dropout) takes is_causal
    together with an attn_mask (a padding mask, an ALiBi bias) and applies both; ember
    refused them as only the math kernel does."""
    e = _sdpa_causal_and_mask(ember, shapes, mask, **kw)
    t = _sdpa_causal_and_mask(torch, shapes, mask, **kw)
    for a, b in zip(e, t):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


_SDPA_ERRORS = {
    "causal and mask, 3-D": lambda L: L.nn.functional.scaled_dot_product_attention(
        L.ones(2, 3, 4), L.ones(2, 3, 4), L.ones(2, 3, 4), attn_mask=L.zeros(3, 3),
        is_causal=True),
    "causal and mask, value head size": lambda L: L.nn.functional.scaled_dot_product_attention(
        L.ones(1, 2, 3, 4), L.ones(1, 2, 3, 4), L.ones(1, 2, 3, 5), attn_mask=L.zeros(3, 3),
        is_causal=True),
    "causal and mask, dropout": lambda L: L.nn.functional.scaled_dot_product_attention(
        L.ones(1, 2, 3, 4), L.ones(1, 2, 3, 4), L.ones(1, 2, 3, 4), attn_mask=L.zeros(3, 3),
        is_causal=True, dropout_p=0.5),
    "integer mask": lambda L: L.nn.functional.scaled_dot_product_attention(
        L.ones(1, 2, 3, 4), L.ones(1, 2, 3, 4), L.ones(1, 2, 3, 4),
        attn_mask=L.zeros(3, 3, dtype=L.long)),
    "dtypes differ": lambda L: L.nn.functional.scaled_dot_product_attention(
        L.ones(1, 2, 3, 4), L.ones(1, 2, 3, 4, dtype=L.float64), L.ones(1, 2, 3, 4)),
    "1-D": lambda L: L.nn.functional.scaled_dot_product_attention(L.ones(4), L.ones(2, 4),
                                                                  L.ones(2, 4)),
}


@pytest.mark.parametrize("case", list(_SDPA_ERRORS))
def test_sdpa_messages(case):
    """The math kernel's refusal, and the dtype and rank checks in PyTorch's words (C++ type
    names: 'long int', 'double')."""
    program = _SDPA_ERRORS[case]
    assert _outcome(ember, program) == _outcome(torch, program)


# ------------------------------------------------------------------ common mistakes' messages

def _vector_to_parameters(L, n):
    m = L.nn.Linear(2, 2)
    v = L.arange(float(n))
    L.nn.utils.vector_to_parameters(v, m.parameters())
    v[0] = 100.0   # the parameters are views of the vector, as in PyTorch
    return m.weight.tolist(), m.bias.tolist(), m.weight.is_leaf, m.weight.requires_grad


_MISTAKES = {
    "smooth_l1_loss negative beta": lambda L: L.nn.functional.smooth_l1_loss(
        L.zeros(2), L.ones(2), beta=-1.0),
    "SmoothL1Loss negative beta": lambda L: L.nn.SmoothL1Loss(beta=-0.5)(L.zeros(2), L.ones(2)),
    "vector_to_parameters": lambda L: _vector_to_parameters(L, 6),
    "vector_to_parameters, a longer vector": lambda L: _vector_to_parameters(L, 9),
    "vector_to_parameters, too short": lambda L: _vector_to_parameters(L, 3),
    "vector_to_parameters, float64": lambda L: str(L.nn.utils.vector_to_parameters(
        L.ones(6, dtype=L.float64), L.nn.Linear(2, 2).parameters())),
    "save into a missing directory": lambda L: L.save(L.ones(1), "/nonexistent_dir_c8/a.pt"),
    "save into a missing relative directory": lambda L: L.save({"a": 1}, "no_such_c8/b/c.pt"),
    "Generator seed str": lambda L: L.Generator().manual_seed("a"),
    "Generator seed float": lambda L: L.Generator().manual_seed(1.5),
    "Generator seed None": lambda L: L.Generator().manual_seed(None),
    "Generator seed bool": lambda L: L.Generator().manual_seed(True),
    "Generator seed tensor": lambda L: L.Generator().manual_seed(L.tensor(3)),
    "Generator seed NumPy int": lambda L: L.Generator().manual_seed(np.int64(3)),
    "Generator seed too large": lambda L: L.Generator().manual_seed(2 ** 64),
    "Generator seed -1": lambda L: L.Generator().manual_seed(-1).initial_seed(),
    "manual_seed str": lambda L: L.manual_seed("a"),
    "manual_seed numeric str": lambda L: L.manual_seed("3").initial_seed(),
    "manual_seed float": lambda L: L.manual_seed(2.7).initial_seed(),
    "manual_seed NumPy int": lambda L: L.manual_seed(np.int64(5)).initial_seed(),
    "stft n_fft too large": lambda L: L.stft(L.ones(4), 8, return_complex=True, center=False),
    "stft window size": lambda L: L.stft(L.ones(40), 8, window=L.ones(9, dtype=L.float64),
                                         return_complex=True),
    "stft float64, onesided": lambda L: L.stft(L.ones(2, 4, dtype=L.float64), 8,
                                               window=L.ones(8, dtype=L.float64),
                                               return_complex=True, center=False,
                                               onesided=True),
    "istft window shape": lambda L: L.istft(L.ones(5, 3, dtype=L.complex64), 8,
                                            window=L.ones(7)),
    "fftfreq float n": lambda L: L.fft.fftfreq(8 / 2),
    "rfftfreq float n": lambda L: L.fft.rfftfreq(4.0),
    "fftfreq bool n": lambda L: L.fft.fftfreq(True),
    "fftfreq str d": lambda L: L.fft.fftfreq(4, d="a"),
    "fftfreq negative n": lambda L: L.fft.fftfreq(-1),
    "fftfreq 0": lambda L: L.fft.fftfreq(0).tolist(),
    "rfftfreq 0": lambda L: str(L.fft.rfftfreq(0).tolist()),
    "fftfreq int tensor n": lambda L: L.fft.fftfreq(L.tensor(4), d=0.5).tolist(),
    "affine_grid batch": lambda L: L.nn.functional.affine_grid(L.zeros(2, 2, 3), (1, 1, 2, 2),
                                                               align_corners=False),
    "affine_grid batch 3-D": lambda L: L.nn.functional.affine_grid(
        L.zeros(1, 3, 4), (3, 1, 2, 2, 2), align_corners=False),
}


@pytest.mark.parametrize("case", list(_MISTAKES))
def test_common_mistakes_as_torch(case, tmp_path, monkeypatch):
    """Mistakes from tutorials' issue threads: a negative smooth-L1 beta (PyTorch refuses
    it), a flat vector too short for the parameters (NumPy's reshape ValueError leaked; the
    parameters were copies, not views of the vector), saving into a directory not made yet
    (FileNotFoundError naming a temporary file), seeding a Generator with a str or a float
    (int()'s ValueError, or a silent truncation), a float n for fftfreq, stft's messages
    naming the call as PyTorch does, a theta batch that is not the size's."""
    monkeypatch.chdir(tmp_path)
    program = _MISTAKES[case]
    states = ember.get_rng_state(), torch.get_rng_state()   # manual_seed cases reseed
    try:
        assert _outcome(ember, program) == _outcome(torch, program)
    finally:
        ember.set_rng_state(states[0])
        torch.set_rng_state(states[1])


# ------------------------------------------------------------------ shape lists that are not ints

_SHAPE_LISTS = {
    # x.view(b, c * h / 2): a true division in a shape
    "reshape, float later": lambda L: L.ones(2, 2).reshape(1, 4.0),
    "reshape, float later in a tuple": lambda L: L.ones(2, 2).reshape((1, 4.0)),
    "reshape, float first of several": lambda L: L.ones(2, 2).reshape(4.0, 1),
    "reshape, float first in a tuple": lambda L: L.ones(2, 2).reshape((4.0, 1)),
    "reshape, a lone float": lambda L: L.ones(2, 2).reshape(4.0),
    "reshape, a str": lambda L: L.ones(2, 2).reshape("a"),
    "expand, float later": lambda L: L.ones(2, 2).expand(2, 2.0),
    "expand, float first": lambda L: L.ones(2, 2).expand(2.0, 2),
    "repeat, float later": lambda L: L.ones(2, 2).repeat(2, 2.0),
    "repeat, float first in a tuple": lambda L: L.ones(2, 2).repeat((2.0, 2)),
    "permute, float later": lambda L: L.ones(2, 2).permute(0, 1.0),
    "permute, float first": lambda L: L.ones(2, 2).permute(0.0, 1),
    "flip, a lone float": lambda L: L.ones(2, 2).flip(0.0),
    "flip, float later": lambda L: L.ones(2, 2).flip((0, 1.0)),
    "tile, float first in a tuple": lambda L: L.ones(2, 2).tile((2.0,)),
    "tile, float later": lambda L: L.ones(2, 2).tile(2, 2.0),
    "view, a lone float": lambda L: L.ones(2, 2).view(4.0),
    "view, float in a tuple": lambda L: L.ones(2, 2).view((4.0,)),
    "view, float first in a list": lambda L: L.ones(2, 2).view([4.0, 1]),
    "view, float first of several": lambda L: L.ones(2, 2).view(2.0, 2),
    "view, float later": lambda L: L.ones(2, 2).view(1, 4.0),
    "unflatten, float": lambda L: L.ones(2, 2).unflatten(1, (2.0, 1)),
    "Tensor.tile(2, 2)": lambda L: L.ones(2, 2).tile(2, 2).shape,
    "Tensor.tile(2)": lambda L: L.ones(2, 2).tile(2).shape,
    "Tensor.tile(dims=)": lambda L: L.ones(2, 2).tile(dims=(2,)).shape,
    "Tensor.tile(Size)": lambda L: L.ones(2, 2).tile(L.ones(1, 3).shape).shape,
    "Tensor.tile()": lambda L: L.ones(2, 2).tile(),
    "torch.tile(x, 2)": lambda L: L.tile(L.ones(2, 2), 2),
    "torch.tile(x, list)": lambda L: L.tile(L.ones(2, 2), [2, 1, 1]).shape,
}


@pytest.mark.parametrize("case", list(_SHAPE_LISTS))
def test_shape_list_errors_and_tile_as_torch(case):
    """The methods' parser words a non-int shape element by where it is, naming the
    argument (reshape's 'shape', repeat's 'repeats', permute/flip/tile's 'dims'); ember
    named 'size' everywhere with one wording. Tensor.tile takes varargs as PyTorch's method
    (x.tile(2, 2) was a TypeError), torch.tile a list only."""
    program = _SHAPE_LISTS[case]
    e, t = _outcome(ember, program), _outcome(torch, program)
    assert e[0] == t[0] and str(e[1]).replace("ember", "torch") == str(t[1]), (e, t)


# ------------------------------------------------------------------ dropout of integers, grad()

_MORE_MISTAKES = {
    "dropout of a long tensor": lambda L: L.nn.functional.dropout(L.ones(3, dtype=L.long)),
    "Dropout of uint8 images": lambda L: L.nn.Dropout()(L.ones(3, dtype=L.uint8)),
    "dropout of bools": lambda L: L.nn.functional.dropout(L.ones(3, dtype=L.bool)),
    "dropout p=0 of longs": lambda L: L.nn.functional.dropout(L.ones(3, dtype=L.long),
                                                              p=0.0).tolist(),
    "dropout p=1 of ints": lambda L: L.nn.functional.dropout(L.ones(3, dtype=L.int32),
                                                             p=1.0).tolist(),
    "dropout in eval of longs": lambda L: L.nn.functional.dropout(
        L.ones(3, dtype=L.long), training=False).tolist(),
    "dropout2d of longs": lambda L: L.nn.functional.dropout2d(L.ones(1, 2, 2, 2,
                                                                     dtype=L.long)),
    "dropout2d p=1 of longs": lambda L: L.nn.functional.dropout2d(
        L.ones(1, 2, 2, 2, dtype=L.long), p=1.0).tolist(),
    "dropout1d of int8": lambda L: L.nn.functional.dropout1d(L.ones(1, 2, 2, dtype=L.int8)),
    "grad with no inputs": lambda L: L.autograd.grad(
        (L.ones(2, requires_grad=True) * 2).sum(), []),
    "grad of a vector with no inputs": lambda L: L.autograd.grad(
        L.ones(2, requires_grad=True) * 2, ()),
    "grad with no inputs, allow_unused": lambda L: L.autograd.grad(
        (L.ones(2, requires_grad=True) * 2).sum(), [], allow_unused=True),
    "grad of no outputs": lambda L: L.autograd.grad([], [L.ones(2, requires_grad=True)]),
}


@pytest.mark.parametrize("case", list(_MORE_MISTAKES))
def test_dropout_of_integers_and_grad_without_inputs(case):
    """Dropout of an integer tensor in training cannot hold the 1 / (1 - p) scale: PyTorch
    refuses it (ember returned 0/2-valued integers); autograd.grad with an empty inputs list
    is PyTorch's RuntimeError (ember returned an empty tuple)."""
    program = _MORE_MISTAKES[case]
    assert _outcome(ember, program) == _outcome(torch, program)


_PAD_CASES = [((3,), (1, 1), "replicate"), ((3,), (1, 1), "reflect"),
              ((2, 3), (1, 1, 1, 1), "reflect"), ((1, 2, 3, 4, 5, 6), (1, 1), "circular"),
              ((2, 3, 4), (1, 1, 1, 1, 1, 1), "replicate"), ((1, 1, 2, 2, 2), (1,) * 8,
                                                            "replicate"),
              ((1, 2, 3), (1, 1), "reflect")]


@pytest.mark.parametrize("shape, pad, mode", _PAD_CASES)
def test_non_constant_padding_of_unsupported_ranks(shape, pad, mode):
    """Reflect/replicate/circular padding of an input the padding does not fit: PyTorch's
    NotImplementedError lists the supported combinations; ember's named others, and padded
    four dims of a 5-D input where PyTorch refuses."""
    def program(L):
        return list(L.nn.functional.pad(L.ones(*shape), pad, mode=mode).shape)
    assert _outcome(ember, program) == _outcome(torch, program)


@pytest.mark.parametrize("equation, shapes", [
    ("...i,...i->...", [(2, 3), (4, 3)]), ("...i,...i->...", [(5, 2, 3), (4, 3)]),
    ("i...,i...->...", [(3, 2), (3, 4)]), ("...ij,...jk", [(2, 2, 3), (3, 3, 4)]),
    ("bi...,bi...->b", [(2, 3, 4, 5), (2, 3, 4, 6)]), ("... i, ... i", [(2, 3), (4, 3)]),
    ("ij,jk", [(2, 3), (4, 5)]), ("...i,...i", [(1, 3), (4, 3)])])
def test_einsum_ellipsis_sizes_that_do_not_broadcast(equation, shapes):
    """Batched einsum over '...' with batch sizes that do not broadcast: PyTorch names the
    operand's dim under the ellipsis; ember named the internal letter standing for it."""
    def program(L):
        return list(L.einsum(equation, *[L.ones(s) for s in shapes]).shape)
    assert _outcome(ember, program) == _outcome(torch, program)


# ------------------------------------------------------------------ program cores
# Each takes the library L and returns numbers, shapes and strings to compare; written as
# the tutorials write them (long lines included).

def _nanogpt(L):
    nn, F = L.nn, L.nn.functional
    L.manual_seed(1337)
    text = "hello world, this is a tiny char model. " * 4
    chars = sorted(list(set(text))); V = len(chars)
    stoi = {ch: i for i, ch in enumerate(chars)}; itos = {i: ch for i, ch in enumerate(chars)}
    data = L.tensor([stoi[c] for c in text], dtype=L.long)
    T, C, H = 8, 16, 2
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = nn.LayerNorm(C); self.ln2 = nn.LayerNorm(C)
            self.c_attn = nn.Linear(C, 3 * C, bias=False); self.c_proj = nn.Linear(C, C)
            self.mlp = nn.Sequential(nn.Linear(C, 4 * C), nn.GELU(approximate="tanh"), nn.Linear(4 * C, C), nn.Dropout(0.0))
        def forward(self, x):
            B, T_, _ = x.size()
            q, k, v = self.c_attn(self.ln1(x)).split(C, dim=2)
            q = q.view(B, T_, H, C // H).transpose(1, 2)
            k = k.view(B, T_, H, C // H).transpose(1, 2)
            v = v.view(B, T_, H, C // H).transpose(1, 2)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=True)
            y = y.transpose(1, 2).contiguous().view(B, T_, C)
            x = x + self.c_proj(y)
            return x + self.mlp(self.ln2(x))
    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = nn.ModuleDict(dict(wte=nn.Embedding(V, C), wpe=nn.Embedding(T, C),
                                                  h=nn.ModuleList([Block(), Block()]), ln_f=nn.LayerNorm(C)))
            self.lm_head = nn.Linear(C, V, bias=False)
            self.transformer.wte.weight = self.lm_head.weight
            self.apply(self._init)
            for pn, p in self.named_parameters():
                if pn.endswith('c_proj.weight'):
                    L.nn.init.normal_(p, mean=0.0, std=0.02 / (2 * 2) ** 0.5)
        def _init(self, m):
            if isinstance(m, nn.Linear):
                L.nn.init.normal_(m.weight, mean=0.0, std=0.02)
                if m.bias is not None:
                    L.nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Embedding):
                L.nn.init.normal_(m.weight, mean=0.0, std=0.02)
        def forward(self, idx, targets=None):
            b, t = idx.size()
            pos = L.arange(0, t, dtype=L.long, device=idx.device)
            x = self.transformer.wte(idx) + self.transformer.wpe(pos)
            for blk in self.transformer.h:
                x = blk(x)
            x = self.transformer.ln_f(x)
            if targets is not None:
                logits = self.lm_head(x)
                loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
            else:
                logits = self.lm_head(x[:, [-1], :]); loss = None
            return logits, loss
        @L.no_grad()
        def generate(self, idx, n, temperature=1.0, top_k=None):
            for _ in range(n):
                idx_cond = idx if idx.size(1) <= T else idx[:, -T:]
                logits, _ = self(idx_cond)
                logits = logits[:, -1, :] / temperature
                if top_k is not None:
                    v, _ = L.topk(logits, min(top_k, logits.size(-1)))
                    logits[logits < v[:, [-1]]] = -float('Inf')
                probs = F.softmax(logits, dim=-1)
                idx_next = L.multinomial(probs, num_samples=1)
                idx = L.cat((idx, idx_next), dim=1)
            return idx
    model = GPT()
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    nodecay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = L.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': nodecay, 'weight_decay': 0.0}], lr=1e-2, betas=(0.9, 0.95), fused=False)
    out = [n_params, len(decay), len(nodecay)]
    for it in range(6):
        ix = L.randint(len(data) - T, (4,))
        x = L.stack([data[i:i + T] for i in ix]); y = L.stack([data[i + 1:i + 1 + T] for i in ix])
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True); loss.backward()
        L.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        for g in opt.param_groups:
            g['lr'] = 1e-2 * 0.5 * (1 + np.cos(np.pi * it / 6))
        opt.step(); out.append(loss.item())
    model.eval()
    ctx = L.zeros((1, 1), dtype=L.long)
    s = model.generate(ctx, 12, temperature=0.8, top_k=5)[0].tolist()
    out.append(''.join(itos[i] for i in s))
    return out

def _makemore(L):
    F = L.nn.functional
    words = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper"]
    chars = [chr(97 + i) for i in range(26)]; stoi = {s: i + 1 for i, s in enumerate(chars)}; stoi['.'] = 0
    itos = {i: s for s, i in stoi.items()}
    block = 3; X, Y = [], []
    for w in words:
        ctx = [0] * block
        for ch in w + '.':
            ix = stoi[ch]; X.append(ctx); Y.append(ix); ctx = ctx[1:] + [ix]
    X = L.tensor(X); Y = L.tensor(Y)
    g = L.Generator().manual_seed(2147483647)
    Cm = L.randn((27, 10), generator=g)
    W1 = L.randn((30, 64), generator=g) * (5 / 3) / (30 ** 0.5)
    b1 = L.randn(64, generator=g) * 0.01
    W2 = L.randn((64, 27), generator=g) * 0.01
    b2 = L.randn(27, generator=g) * 0
    bngain = L.ones((1, 64)); bnbias = L.zeros((1, 64))
    bnmean_running = L.zeros((1, 64)); bnstd_running = L.ones((1, 64))
    params = [Cm, W1, b1, W2, b2, bngain, bnbias]
    for p in params:
        p.requires_grad = True
    out = [sum(p.nelement() for p in params)]
    for i in range(20):
        ix = L.randint(0, X.shape[0], (16,), generator=g)
        emb = Cm[X[ix]]
        hpre = emb.view(emb.shape[0], -1) @ W1 + b1
        bnmeani = hpre.mean(0, keepdim=True); bnstdi = hpre.std(0, keepdim=True)
        hpre = bngain * (hpre - bnmeani) / bnstdi + bnbias
        with L.no_grad():
            bnmean_running = 0.999 * bnmean_running + 0.001 * bnmeani
            bnstd_running = 0.999 * bnstd_running + 0.001 * bnstdi
        h = L.tanh(hpre)
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, Y[ix])
        for p in params:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < 10 else 0.01
        for p in params:
            p.data += -lr * p.grad
        out.append(loss.item())
    g = L.Generator().manual_seed(2147483647 + 10)
    names = []
    for _ in range(3):
        o, ctx = [], [0] * block
        while True:
            emb = Cm[L.tensor([ctx])]
            h = L.tanh(emb.view(1, -1) @ W1 + b1)
            probs = F.softmax(h @ W2 + b2, dim=1)
            ix = L.multinomial(probs, num_samples=1, generator=g).item()
            ctx = ctx[1:] + [ix]; o.append(ix)
            if ix == 0 or len(o) > 10:
                break
        names.append(''.join(itos[i] for i in o))
    # bigram count model
    N = L.zeros((27, 27), dtype=L.int32)
    for w in words:
        cs = ['.'] + list(w) + ['.']
        for a, b in zip(cs, cs[1:]):
            N[stoi[a], stoi[b]] += 1
    P = (N + 1).float(); P /= P.sum(1, keepdims=True)
    ll = 0.0; n = 0
    for w in words:
        cs = ['.'] + list(w) + ['.']
        for a, b in zip(cs, cs[1:]):
            ll += L.log(P[stoi[a], stoi[b]]); n += 1
    out.append((-ll / n).item())
    p = P[0]; out.append(L.multinomial(p, num_samples=5, replacement=True, generator=g).tolist())
    return out + names

def _unet(L):
    nn, F = L.nn, L.nn.functional
    L.manual_seed(5)
    class DoubleConv(nn.Sequential):
        def __init__(s, i, o):
            super().__init__(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True),
                             nn.Conv2d(o, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))
    class UNet(nn.Module):
        def __init__(s):
            super().__init__()
            s.d1 = DoubleConv(1, 4); s.d2 = DoubleConv(4, 8); s.pool = nn.MaxPool2d(2)
            s.bott = DoubleConv(8, 16)
            s.up2 = nn.ConvTranspose2d(16, 8, 2, stride=2); s.u2 = DoubleConv(16, 8)
            s.up1 = nn.ConvTranspose2d(8, 4, 2, stride=2); s.u1 = DoubleConv(8, 4)
            s.out = nn.Conv2d(4, 1, 1)
        def forward(s, x):
            x1 = s.d1(x); x2 = s.d2(s.pool(x1)); b = s.bott(s.pool(x2))
            u = s.up2(b)
            if u.shape != x2.shape:
                u = F.interpolate(u, size=x2.shape[2:])
            u = s.u2(L.cat([x2, u], dim=1))
            u = s.up1(u)
            diffY = x1.size()[2] - u.size()[2]; diffX = x1.size()[3] - u.size()[3]
            u = F.pad(u, [diffX // 2, diffX - diffX // 2, diffY // 2, diffY - diffY // 2])
            u = s.u1(L.cat((x1, u), 1))
            return s.out(u)
    def dice_loss(pred, target, smooth=1.):
        pred = pred.sigmoid().contiguous(); target = target.contiguous()
        inter = (pred * target).sum(dim=2).sum(dim=2)
        loss = (1 - ((2. * inter + smooth) / (pred.sum(dim=2).sum(dim=2) + target.sum(dim=2).sum(dim=2) + smooth)))
        return loss.mean()
    net = UNet()
    opt = L.optim.Adam(net.parameters(), lr=1e-3)
    sched = L.optim.lr_scheduler.ReduceLROnPlateau(opt, 'min', patience=1, factor=0.5)
    x = L.rand(2, 1, 10, 10); y = (L.rand(2, 1, 10, 10) > 0.5).float()
    out = []
    for _ in range(4):
        opt.zero_grad()
        pred = net(x)
        bce = F.binary_cross_entropy_with_logits(pred, y, pos_weight=L.tensor([2.0]))
        loss = bce * 0.5 + dice_loss(pred, y) * 0.5
        loss.backward(); opt.step(); sched.step(loss.item() + 10)
        out.append(loss.item()); out.append(opt.param_groups[0]['lr'])
    net.eval()
    with L.no_grad():
        p = net(x)
        m = (L.sigmoid(p) > 0.5).float()
        iou = ((m * y).sum() / ((m + y) > 0).float().sum()).item()
    out.append(iou); out.append(list(p.shape))
    return out

def _losses(L):
    nn, F = L.nn, L.nn.functional
    L.manual_seed(7)
    a, p, n = L.randn(5, 8, requires_grad=True), L.randn(5, 8), L.randn(5, 8)
    out = []
    for crit in [nn.TripletMarginLoss(margin=1.0, p=2), nn.TripletMarginLoss(margin=0.5, p=1, swap=True),
                 nn.TripletMarginWithDistanceLoss(distance_function=nn.PairwiseDistance(), margin=0.3),
                 nn.TripletMarginWithDistanceLoss(distance_function=lambda x, y: 1.0 - F.cosine_similarity(x, y), margin=0.5, reduction='sum')]:
        l = crit(a, p, n); g, = L.autograd.grad(l, a)
        out += [l.item(), g.sum().item(), g.abs().sum().item()]
    y = L.tensor([1, -1, 1, -1, 1])
    for red in ['mean', 'sum', 'none']:
        l = nn.CosineEmbeddingLoss(margin=0.2, reduction=red)(a, p, y)
        out.append(l.sum().item())
    out.append(F.pairwise_distance(a, p, keepdim=True).shape)
    out.append(F.pairwise_distance(a, p, p=1, eps=0).sum().item())
    out.append(F.pairwise_distance(a[0], p).tolist())
    # contrastive loss (siamese)
    label = L.tensor([0., 1., 0., 1., 1.])
    d = F.pairwise_distance(a, p)
    l = L.mean((1 - label) * L.pow(d, 2) + label * L.pow(L.clamp(2.0 - d, min=0.0), 2))
    l.backward(); out.append(l.item()); out.append(a.grad.sum().item())
    # MarginRanking, HingeEmbedding, SoftMargin, MultiLabelSoftMargin
    x1, x2 = L.randn(5), L.randn(5)
    out.append(nn.MarginRankingLoss(margin=0.1)(x1, x2, y.float()).item())
    out.append(nn.HingeEmbeddingLoss()(x1, y).item())
    out.append(nn.SoftMarginLoss()(x1, y.float()).item())
    # distillation
    s_logits, t_logits = L.randn(4, 6, requires_grad=True), L.randn(4, 6)
    T = 4.0
    kd = nn.KLDivLoss(reduction='batchmean')(F.log_softmax(s_logits / T, dim=1), F.softmax(t_logits / T, dim=1)) * T * T
    kd2 = nn.KLDivLoss(reduction='batchmean', log_target=True)(F.log_softmax(s_logits / T, dim=-1), F.log_softmax(t_logits / T, dim=-1)) * (T ** 2)
    kd3 = F.kl_div(F.log_softmax(s_logits, 1), F.softmax(t_logits, 1), reduction='sum')
    kd4 = F.kl_div(F.log_softmax(s_logits, 1), F.softmax(t_logits, 1))
    (kd + kd2).backward()
    out += [kd.item(), kd2.item(), kd3.item(), kd4.item(), s_logits.grad.abs().sum().item()]
    # label smoothing
    tgt = L.tensor([0, 5, 2, 3])
    for ls in [0.0, 0.1, 0.3]:
        out.append(F.cross_entropy(s_logits, tgt, label_smoothing=ls).item())
        out.append(nn.CrossEntropyLoss(label_smoothing=ls, weight=L.arange(1., 7.), ignore_index=2)(s_logits, tgt).item())
    soft = F.softmax(t_logits, 1)
    out.append(F.cross_entropy(s_logits, soft, label_smoothing=0.2).item())
    out.append(F.cross_entropy(s_logits, soft, reduction='none').tolist())
    return out


def _mixup(L):
    nn, F = L.nn, L.nn.functional
    L.manual_seed(11)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5))
    opt = L.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x = L.randn(6, 3, 8, 8); y = L.randint(0, 5, (6,))
    out = []
    beta = L.distributions.Beta(L.tensor([0.4]), L.tensor([0.4]))
    for step in range(3):
        lam = beta.sample().item()
        index = L.randperm(x.size(0))
        mixed = lam * x + (1 - lam) * x[index, :]
        ya, yb = y, y[index]
        pred = model(mixed)
        crit = nn.CrossEntropyLoss()
        loss = lam * crit(pred, ya) + (1 - lam) * crit(pred, yb)
        opt.zero_grad(); loss.backward(); opt.step()
        out += [lam, loss.item(), index.tolist()]
    # cutmix
    lam = np.random.RandomState(0).beta(1.0, 1.0)
    W, H = x.size(2), x.size(3)
    cut_rat = np.sqrt(1. - lam); cut_w = int(W * cut_rat); cut_h = int(H * cut_rat)
    cx, cy = 3, 4
    bbx1 = np.clip(cx - cut_w // 2, 0, W); bby1 = np.clip(cy - cut_h // 2, 0, H)
    bbx2 = np.clip(cx + cut_w // 2, 0, W); bby2 = np.clip(cy + cut_h // 2, 0, H)
    rand_index = L.randperm(x.size()[0])
    x2 = x.clone()
    x2[:, :, bbx1:bbx2, bby1:bby2] = x[rand_index, :, bbx1:bbx2, bby1:bby2]
    lam = 1 - ((bbx2 - bbx1) * (bby2 - bby1) / (x.size()[-1] * x.size()[-2]))
    out += [float(lam), x2.sum().item()]
    # one-hot mixup with soft targets
    oh = F.one_hot(y, num_classes=5).float()
    lam2 = L.distributions.Beta(0.2, 0.2).sample((6,))
    tgt = lam2[:, None] * oh + (1 - lam2[:, None]) * oh.flip(0)
    loss = L.sum(-tgt * F.log_softmax(model(x), dim=-1), dim=-1).mean()
    out += [lam2.tolist(), loss.item()]
    return out

def _ema(L):
    nn, F = L.nn, L.nn.functional
    from importlib import import_module
    swa = import_module(L.__name__ + ".optim.swa_utils")
    L.manual_seed(12)
    model = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
    ema_avg = lambda averaged, cur, num: 0.9 * averaged + 0.1 * cur
    ema1 = swa.AveragedModel(model, avg_fn=ema_avg)
    ema2 = swa.AveragedModel(model, multi_avg_fn=swa.get_ema_multi_avg_fn(0.95), use_buffers=True)
    sw = swa.AveragedModel(model)
    opt = L.optim.SGD(model.parameters(), lr=0.1)
    swa_sched = swa.SWALR(opt, swa_lr=0.05, anneal_epochs=2, anneal_strategy='cos')
    data = [(L.randn(4, 3), L.randn(4, 1)) for _ in range(3)]
    out = []
    for ep in range(4):
        for xb, yb in data:
            opt.zero_grad(); loss = F.mse_loss(model(xb), yb); loss.backward(); opt.step()
            ema1.update_parameters(model); ema2.update_parameters(model)
        sw.update_parameters(model); swa_sched.step()
        out += [loss.item(), opt.param_groups[0]['lr']]
    swa.update_bn(data, sw)
    out.append(sw.n_averaged.item())
    out.append([k for k in sw.state_dict()])
    for m in (ema1, ema2, sw):
        m.eval()
        out.append(m(data[0][0]).sum().item())
    out.append(sw.module[1].running_mean.tolist())
    out.append(ema2.module[1].running_var.tolist())
    # manual EMA pattern with lerp_ / mul_ add_
    shadow = {k: v.clone().detach() for k, v in model.state_dict().items()}
    with L.no_grad():
        for k, v in model.state_dict().items():
            if v.dtype.is_floating_point:
                shadow[k].mul_(0.99).add_(v, alpha=0.01)
                shadow[k].lerp_(v, 0.5)
    out.append(sum(v.float().sum().item() for v in shadow.values()))
    return out

def _compile(L):
    nn = L.nn
    L.manual_seed(13)
    m = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2))
    cm = L.compile(m, backend="eager")
    out = [type(cm).__name__, cm(L.ones(1, 4)).tolist()]
    opt_fn = L.compile(lambda x: x.sin() + x.cos(), fullgraph=True, dynamic=False, backend="eager")
    out.append(opt_fn(L.arange(3.)).tolist())
    @L.compile(backend="aot_eager")
    def f(x):
        return (x ** 2).sum()
    x = L.arange(3., requires_grad=True); f(x).backward(); out.append(x.grad.tolist())
    out.append(list(cm.state_dict().keys()))
    out.append(hasattr(cm, '_orig_mod'))
    m2 = nn.Linear(2, 2); m2.compile(backend="eager"); out.append(m2(L.ones(2)).shape)
    out.append(L.compiler.is_compiling())
    L._dynamo.reset()
    return out

def _loader(L):
    data = L.utils.data
    L.manual_seed(14)
    X = L.arange(20.).view(10, 2); Y = L.tensor([0, 0, 0, 0, 0, 0, 0, 1, 1, 1])
    ds = data.TensorDataset(X, Y)
    counts = L.bincount(Y); w = 1.0 / counts.float(); sw = w[Y]
    out = []
    s = data.WeightedRandomSampler(sw, num_samples=12, replacement=True)
    out.append(list(iter(s)))
    s2 = data.WeightedRandomSampler(sw.tolist(), 6, replacement=False, generator=L.Generator().manual_seed(3))
    out.append(list(s2))
    sub = data.SubsetRandomSampler([1, 3, 5, 7], generator=L.Generator().manual_seed(4))
    out.append(list(sub))
    bs = data.BatchSampler(data.SequentialSampler(ds), batch_size=3, drop_last=False)
    out.append(list(bs)); out.append(len(bs))
    out.append(list(data.BatchSampler(data.RandomSampler(ds, generator=L.Generator().manual_seed(5)), 4, True)))
    def collate(batch):
        xs, ys = zip(*batch)
        return L.stack(xs).sum(1), L.tensor(ys) * 10, len(batch)
    dl = data.DataLoader(ds, batch_size=4, sampler=s, collate_fn=collate)
    out.append([(a.tolist(), b.tolist(), n) for a, b, n in dl])
    dl2 = data.DataLoader(ds, batch_sampler=bs)
    out.append([[t.tolist() for t in b] for b in dl2])
    g = L.Generator(); g.manual_seed(0)
    def seed_worker(worker_id):
        ws = L.initial_seed() % 2 ** 32
        np.random.seed(ws)
    dl3 = data.DataLoader(ds, batch_size=5, shuffle=True, worker_init_fn=seed_worker, generator=g, num_workers=0)
    out.append([b[1].tolist() for b in dl3])
    tr, va = data.random_split(ds, [0.7, 0.3], generator=L.Generator().manual_seed(42))
    out.append([tr.indices, va.indices])
    tr, va = data.random_split(range(10), [7, 3], generator=L.Generator().manual_seed(42))
    out.append(list(tr))
    # variable-length collate with pad_sequence
    seqs = [L.arange(n) for n in (3, 1, 2, 4)]
    def pad_collate(b):
        lens = L.tensor([len(x) for x in b])
        return L.nn.utils.rnn.pad_sequence(b, batch_first=True, padding_value=-1), lens
    out.append([(a.tolist(), l.tolist()) for a, l in data.DataLoader(seqs, batch_size=2, collate_fn=pad_collate)])
    out.append([b.tolist() for b in data.DataLoader(seqs, batch_size=1)])
    dl4 = data.DataLoader([{"x": L.ones(2), "y": 1, "s": "a"}, {"x": L.zeros(2), "y": 2, "s": "b"}], batch_size=2)
    b = next(iter(dl4)); out.append([b["x"].tolist(), b["y"].tolist(), b["s"]])
    ch = data.ConcatDataset([ds, ds]); out.append([len(ch), ch[12][0].tolist()])
    return out

def _state_loading(L):
    nn = L.nn
    L.manual_seed(15)
    class Net(nn.Module):
        def __init__(s, n=3):
            super().__init__()
            s.backbone = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
            s.fc = nn.Linear(2, n)
        def forward(s, x):
            return s.fc(s.backbone(x).mean((2, 3)))
    src = Net(3); dst = Net(5)
    sd = src.state_dict()
    out = [list(sd.keys())]
    try:
        dst.load_state_dict(sd)
    except RuntimeError as e:
        out.append(str(e).replace("torch", "L").replace("ember", "L"))
    filt = {k: v for k, v in sd.items() if k in dst.state_dict() and v.shape == dst.state_dict()[k].shape}
    r = dst.load_state_dict(filt, strict=False)
    out += [sorted(r.missing_keys), sorted(r.unexpected_keys), type(r).__name__, str(r)]
    # DataParallel-prefixed keys
    pref = {"module." + k: v for k, v in sd.items()}
    r = src.load_state_dict(pref, strict=False)
    out += [len(r.missing_keys), len(r.unexpected_keys)]
    clean = {k.replace("module.", "", 1): v for k, v in pref.items()}
    out.append(str(src.load_state_dict(clean)))
    nn.modules.utils.consume_prefix_in_state_dict_if_present(pref, "module.")
    out.append(list(pref.keys())[:3])
    # freeze backbone, new head
    for p in dst.backbone.parameters():
        p.requires_grad = False
    dst.fc = nn.Linear(2, 4)
    opt = L.optim.SGD(filter(lambda p: p.requires_grad, dst.parameters()), lr=0.1)
    out.append(len(opt.param_groups[0]['params']))
    out.append(dst(L.randn(2, 1, 5, 5)).shape)
    # save / load with map_location, weights_only
    import io
    buf = io.BytesIO(); L.save({'epoch': 3, 'model': src.state_dict(), 'opt': opt.state_dict()}, buf); buf.seek(0)
    ck = L.load(buf, map_location='cpu', weights_only=True)
    out += [ck['epoch'], sorted(ck['opt'].keys()), ck['model']['fc.weight'].sum().item()]
    try:
        src.load_state_dict({'fc.weight': L.zeros(3, 2)}, strict=True)
    except RuntimeError as e:
        out.append(str(e).replace("torch", "L").replace("ember", "L"))
    r = src.load_state_dict({'fc.weight': L.zeros(3, 2), 'extra': L.ones(1)}, strict=False)
    out.append(str(r)); out.append(src.fc.weight.sum().item())
    out.append(src.load_state_dict(src.state_dict(), assign=True).missing_keys)
    return out


def _einsum_reshape(L):
    L.manual_seed(21)
    x = L.randn(2, 3, 4, 5)
    out = []
    out.append(L.einsum('bhid,bhjd->bhij', x, x).sum().item())
    out.append(L.einsum('b h i d, b h j d -> b h i j', x, x).shape)
    out.append(L.einsum('...ij,...jk', x, x.transpose(-1, -2)).shape)
    out.append(L.einsum('ii->i', L.randn(3, 3)).shape)
    out.append(L.einsum('i,j->ij', L.arange(3.), L.arange(2.)).tolist())
    out.append(L.einsum(x, [0, 1, 2, 3], x, [0, 1, 4, 3], [0, 1, 2, 4]).sum().item())
    out.append(L.einsum('bn,anm,bm->ba', L.randn(2, 3), L.randn(4, 3, 5), L.randn(2, 5)).shape)
    # einops-style rearrange 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)'
    img = L.arange(2 * 3 * 4 * 4.).view(2, 3, 4, 4)
    p = 2
    b, c, h, w = img.shape
    y = img.view(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1).reshape(b, (h // p) * (w // p), p * p * c)
    out.append(y[1, 2].tolist())
    y2 = img.unfold(2, p, p).unfold(3, p, p)
    out.append(list(y2.shape)); out.append(y2.stride())
    y3 = L.nn.functional.unfold(img, kernel_size=p, stride=p).transpose(1, 2)
    out.append(y3.shape); out.append(y3[0, 1].tolist())
    back = L.nn.functional.fold(y3.transpose(1, 2), output_size=(4, 4), kernel_size=p, stride=p)
    out.append(L.equal(back, img))
    out.append(img.flatten(2).transpose(1, 2).shape)
    out.append(img.movedim(1, -1).is_contiguous())
    out.append(img.unflatten(1, (1, 3)).shape)
    out.append(L.nn.Unflatten(1, (3, 1))(img).shape)
    q = L.randn(2, 6, 4)
    heads = q.view(2, 6, 2, 2).transpose(1, 2)
    out.append(heads.is_contiguous()); out.append(heads.reshape(2 * 2, 6, 2).stride())
    try:
        heads.view(4, 6, 2)
    except RuntimeError as e:
        out.append(str(e))
    out.append(L.chunk(L.arange(10), 3, dim=0)[-1].tolist())
    out.append([t.shape for t in L.tensor_split(L.arange(10), 3)])
    out.append(L.broadcast_shapes((2, 1), (1, 3)))
    r = L.repeat_interleave(L.tensor([1, 2]), L.tensor([2, 3]))
    out.append(r.tolist())
    out.append(L.arange(6).view(2, 3).repeat(2, 1, 2).shape)
    out.append(L.arange(6).view(2, 3).expand(4, 2, 3).stride())
    return out

def _fft_filter(L):
    L.manual_seed(22)
    n = 64
    t = L.linspace(0, 1, n)
    sig = L.sin(2 * np.pi * 5 * t) + 0.5 * L.sin(2 * np.pi * 20 * t) + 0.1 * L.randn(n)
    out = []
    S = L.fft.rfft(sig)
    freqs = L.fft.rfftfreq(n, d=1 / n)
    S[freqs > 10] = 0
    filt = L.fft.irfft(S, n=n)
    out.append(filt.sum().item()); out.append(filt.dtype)
    out.append(S.abs().max().item()); out.append(S.dtype)
    F2 = L.fft.fft(sig); out.append(L.fft.fftshift(L.fft.fftfreq(8)).tolist())
    out.append(F2.angle()[:3].tolist())
    img = L.randn(1, 1, 8, 8)
    Fi = L.fft.fftshift(L.fft.fft2(img), dim=(-2, -1))
    yy, xx = L.meshgrid(L.arange(8), L.arange(8), indexing='ij')
    mask = ((yy - 4) ** 2 + (xx - 4) ** 2 <= 4).float()
    low = L.fft.ifft2(L.fft.ifftshift(Fi * mask, dim=(-2, -1))).real
    out.append(low.sum().item()); out.append(low.shape)
    # FFT conv vs conv1d
    a = L.randn(16, requires_grad=True); k = L.randn(5)
    m = 16 + 5 - 1
    fc = L.fft.irfft(L.fft.rfft(a, n=m) * L.fft.rfft(k, n=m), n=m)
    dc = L.nn.functional.conv1d(a.view(1, 1, -1), k.flip(0).view(1, 1, -1), padding=4).view(-1)
    out.append((fc - dc).abs().max().item() < 1e-4)
    fc.pow(2).sum().backward(); out.append(a.grad.sum().item())
    out.append(L.fft.rfftn(img, dim=(2, 3), norm='ortho').shape)
    x = L.stft(sig, n_fft=16, hop_length=4, window=L.hann_window(16), return_complex=True)
    out.append(x.shape); out.append(x.abs().sum().item())
    y = L.istft(x, n_fft=16, hop_length=4, window=L.hann_window(16), length=n)
    out.append((y - sig).abs().max().item() < 1e-4)
    out.append(L.fft.hfft(L.randn(5, dtype=L.complex64)).shape)
    return out

def _policy_grad(L):
    nn, F = L.nn, L.nn.functional
    D = L.distributions
    L.manual_seed(23)
    actor = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))
    critic = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
    opt = L.optim.Adam(list(actor.parameters()) + list(critic.parameters()), lr=3e-3)
    out = []
    states = L.randn(5, 4)
    for it in range(3):
        logits = actor(states)
        dist = D.Categorical(logits=logits)
        acts = dist.sample()
        old_lp = dist.log_prob(acts).detach()
        vals = critic(states).squeeze(-1)
        rewards = (acts == 1).float()
        adv = rewards - vals.detach()
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        new_dist = D.Categorical(logits=actor(states))
        ratio = L.exp(new_dist.log_prob(acts) - old_lp)
        s1 = ratio * adv; s2 = L.clamp(ratio, 0.8, 1.2) * adv
        loss = -L.min(s1, s2).mean() + 0.5 * F.mse_loss(vals, rewards) - 0.01 * new_dist.entropy().mean()
        opt.zero_grad(); loss.backward()
        nn.utils.clip_grad_norm_(actor.parameters(), 0.5)
        opt.step()
        out += [acts.tolist(), loss.item(), dist.probs.sum(-1).tolist()]
    # continuous policy
    mu = L.zeros(2, requires_grad=True); log_std = L.zeros(2, requires_grad=True)
    nd = D.Normal(mu, log_std.exp())
    a = nd.rsample((3,))
    lp = nd.log_prob(a).sum(-1)
    ind = D.Independent(D.Normal(mu, log_std.exp()), 1)
    out.append((lp - ind.log_prob(a)).abs().max().item())
    tanh_d = D.TransformedDistribution(D.Normal(mu, log_std.exp()), [D.transforms.TanhTransform(cache_size=1)])
    s = tanh_d.rsample(); out.append(tanh_d.log_prob(s).shape)
    (lp.sum() + ind.entropy()).backward(); out.append(mu.grad.tolist()); out.append(log_std.grad.tolist())
    out.append(D.kl_divergence(D.Categorical(logits=L.tensor([1., 2., 3.])), D.Categorical(probs=L.tensor([0.2, 0.3, 0.5]))).item())
    out.append(D.Categorical(probs=L.tensor([[0.1, 0.9], [0.5, 0.5]])).sample((4,)).shape)
    mv = D.MultivariateNormal(L.zeros(2), scale_tril=L.eye(2) * 0.5)
    out.append(mv.log_prob(L.ones(2)).item()); out.append(mv.sample((2,)).tolist())
    out.append(D.Bernoulli(logits=L.tensor([0.3])).sample((3,)).tolist())
    out.append(D.OneHotCategorical(logits=L.zeros(3)).sample().sum().item())
    return out

def _stn(L):
    nn, F = L.nn, L.nn.functional
    L.manual_seed(24)
    class STN(nn.Module):
        def __init__(s):
            super().__init__()
            s.loc = nn.Sequential(nn.Conv2d(1, 4, 5), nn.MaxPool2d(2, stride=2), nn.ReLU(True))
            s.fc = nn.Sequential(nn.Linear(4 * 4 * 4, 8), nn.ReLU(True), nn.Linear(8, 3 * 2))
            s.fc[2].weight.data.zero_()
            s.fc[2].bias.data.copy_(L.tensor([1, 0, 0, 0, 1, 0], dtype=L.float))
        def forward(s, x):
            xs = s.loc(x).view(-1, 4 * 4 * 4)
            theta = s.fc(xs).view(-1, 2, 3)
            grid = F.affine_grid(theta, x.size(), align_corners=False)
            return F.grid_sample(x, grid, align_corners=False)
    m = STN(); opt = L.optim.SGD(m.parameters(), lr=0.05)
    x = L.rand(2, 1, 12, 12)
    out = []
    for _ in range(3):
        y = m(x); loss = ((y - x.flip(-1)) ** 2).mean()
        opt.zero_grad(); loss.backward(); opt.step(); out.append(loss.item())
    out.append(m.fc[2].bias.tolist())
    # random rotation grid, nearest
    ang = 0.3
    th = L.tensor([[[np.cos(ang), -np.sin(ang), 0.1], [np.sin(ang), np.cos(ang), 0.0]]], dtype=L.float32)
    g = F.affine_grid(th, (1, 1, 6, 6), align_corners=True)
    out.append(F.grid_sample(x[:1], g, mode='nearest', align_corners=True).sum().item())
    # 3-D
    th3 = L.eye(3, 4).unsqueeze(0)
    g3 = F.affine_grid(th3, (1, 1, 2, 3, 4), align_corners=False)
    out.append(F.grid_sample(L.arange(24.).view(1, 1, 2, 3, 4), g3, align_corners=False).tolist())
    # optical-flow warp
    flow = L.randn(1, 2, 6, 6) * 0.5
    H, W = 6, 6
    xx = L.arange(0, W).view(1, -1).repeat(H, 1); yy = L.arange(0, H).view(-1, 1).repeat(1, W)
    grid = L.cat((xx.view(1, 1, H, W), yy.view(1, 1, H, W)), 1).float()
    vgrid = grid + flow
    vgrid[:, 0, :, :] = 2.0 * vgrid[:, 0, :, :].clone() / max(W - 1, 1) - 1.0
    vgrid[:, 1, :, :] = 2.0 * vgrid[:, 1, :, :].clone() / max(H - 1, 1) - 1.0
    o = F.grid_sample(x[:1, :, :6, :6], vgrid.permute(0, 2, 3, 1), align_corners=True, padding_mode='border')
    out.append(o.sum().item())
    return out

def _misc_ops(L):
    L.manual_seed(25)
    x = L.randn(10)
    out = []
    out.append(L.bucketize(x, L.tensor([-1., 0., 1.])).tolist())
    out.append(L.searchsorted(L.tensor([1, 3, 5, 7]), L.tensor([[3, 6], [0, 9]]), right=True).tolist())
    out.append(L.histc(x, bins=4, min=-2, max=2).tolist())
    out.append(L.quantile(x, L.tensor([0.25, 0.5, 0.75])).tolist())
    out.append(L.nanquantile(L.tensor([1., float('nan'), 3.]), 0.5).item())
    u, inv, cnt = L.unique(L.tensor([3, 1, 3, 2, 1]), return_inverse=True, return_counts=True)
    out += [u.tolist(), inv.tolist(), cnt.tolist()]
    out.append(L.unique_consecutive(L.tensor([1, 1, 2, 2, 1]), return_counts=True)[1].tolist())
    out.append(L.cdist(L.randn(3, 2), L.randn(4, 2)).shape)
    v, i = L.sort(L.tensor([2, 1, 2, 1, 0]), stable=True, descending=True); out.append(i.tolist())
    out.append(L.tril_indices(3, 3, -1).tolist())
    out.append(L.scatter_add(L.zeros(3), 0, L.tensor([0, 1, 0, 2]), L.ones(4)).tolist())
    out.append(L.zeros(3).scatter_reduce(0, L.tensor([0, 1, 0]), L.tensor([5., 2., 7.]), reduce='amax', include_self=False).tolist())
    out.append(L.kthvalue(x, 3).values.item())
    out.append(L.mode(L.tensor([1, 2, 2, 3])).values.item())
    out.append(L.topk(x, 3, largest=False).indices.tolist())
    out.append(L.cummax(x, 0).indices.tolist())
    out.append(L.logcumsumexp(x, 0)[-1].item())
    out.append(L.diff(x, n=2).shape)
    out.append(L.trapezoid(x).item())
    out.append(L.cov(L.randn(3, 5)).shape)
    out.append(L.corrcoef(L.randn(2, 5))[0, 1].item())
    out.append(L.nan_to_num(L.tensor([float('nan'), float('inf'), -float('inf')]), posinf=9.0).tolist())
    out.append(L.where(x > 0, x, 0.).sum().item())
    out.append(L.clamp(x, min=L.zeros(10)).sum().item())
    out.append(L.isin(L.tensor([1, 2, 3]), L.tensor([2, 5])).tolist())
    out.append(L.count_nonzero(x > 0).item())
    out.append(L.vander(L.tensor([1, 2, 3]), N=3).tolist())
    out.append(L.block_diag(L.ones(1, 2), L.ones(2, 1)).tolist())
    out.append(L.cartesian_prod(L.tensor([1, 2]), L.tensor([3, 4])).tolist())
    out.append(L.combinations(L.tensor([1, 2, 3]), r=2).tolist())
    out.append(L.rot90(L.arange(4).view(2, 2), 1, [0, 1]).tolist())
    out.append(L.roll(L.arange(5), shifts=2).tolist())
    out.append(L.argwhere(L.tensor([[0, 1], [1, 0]])).tolist())
    out.append(L.aminmax(x).min.item())
    out.append(L.std_mean(x, unbiased=False)[0].item())
    out.append(L.var(x, correction=0).item())
    out.append(L.allclose(x, x + 1e-9))
    out.append(L.signbit(L.tensor([-0.0, 1.0])).tolist())
    out.append(L.frexp(L.tensor([8.0, 3.0]))[1].tolist())
    out.append(L.heaviside(L.tensor([-1., 0., 2.]), L.tensor([0.5])).tolist())
    out.append(L.logit(L.tensor([0.2]), eps=1e-6).item())
    out.append(L.special.erfcx(L.tensor([1.0])).item())
    out.append(L.special.xlogy(L.tensor([0., 2.]), L.tensor([0., 3.])).tolist())
    return out


def _lora(L):
    nn, F = L.nn, L.nn.functional
    L.manual_seed(31)
    class LoRALinear(nn.Module):
        def __init__(s, base, r=2, alpha=4):
            super().__init__()
            s.base = base
            for p in s.base.parameters():
                p.requires_grad_(False)
            s.A = nn.Parameter(L.randn(r, base.in_features) * 0.01)
            s.B = nn.Parameter(L.zeros(base.out_features, r))
            s.scaling = alpha / r
        def forward(s, x):
            return s.base(x) + (x @ s.A.T @ s.B.T) * s.scaling
    model = nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.Linear(8, 3))
    model[0] = LoRALinear(model[0]); model[2] = LoRALinear(model[2])
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    opt = L.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    sched = L.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / 3))
    x = L.randn(10, 6); y = L.randint(0, 3, (10,))
    out = [trainable]
    for _ in range(5):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(); loss.backward(); opt.step(); sched.step()
        out.append(loss.item()); out.append(sched.get_last_lr()[0])
    with L.no_grad():
        for i in (0, 2):
            m = model[i]
            m.base.weight += (m.B @ m.A) * m.scaling
            model[i] = m.base
    out.append(F.cross_entropy(model(x), y).item())
    out.append(sum(p.numel() for p in model.parameters()))
    out.append(list(model.state_dict().keys()))
    # parametrize-based LoRA
    import importlib
    P = importlib.import_module(L.__name__ + ".nn.utils.parametrize")
    class Delta(nn.Module):
        def __init__(s, shape):
            super().__init__(); s.A = nn.Parameter(L.ones(shape[0], 1) * 0.1); s.B = nn.Parameter(L.ones(1, shape[1]) * 0.2)
        def forward(s, W):
            return W + s.A @ s.B
    lin = nn.Linear(3, 2)
    P.register_parametrization(lin, "weight", Delta(lin.weight.shape))
    out.append(lin(L.ones(1, 3)).tolist()); out.append(sorted(lin.state_dict().keys()))
    lin(L.ones(1, 3)).sum().backward()
    out.append(lin.parametrizations.weight[0].A.grad.tolist())
    out.append(lin.parametrizations.weight.original.grad.tolist())
    P.remove_parametrizations(lin, "weight", leave_parametrized=True)
    out.append(sorted(lin.state_dict().keys())); out.append(lin.weight.sum().item())
    return out

def _bilstm_packed(L):
    nn, F = L.nn, L.nn.functional
    U = L.nn.utils.rnn
    L.manual_seed(32)
    emb = nn.Embedding(10, 4, padding_idx=0)
    lstm = nn.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True, dropout=0.0)
    fc = nn.Linear(10, 2)
    seqs = [L.tensor([3, 4, 5, 6]), L.tensor([1, 2]), L.tensor([7, 8, 9])]
    lengths = L.tensor([len(s) for s in seqs])
    padded = U.pad_sequence(seqs, batch_first=True)
    packed = U.pack_padded_sequence(emb(padded), lengths, batch_first=True, enforce_sorted=False)
    out_p, (h, c) = lstm(packed)
    out, out_lens = U.pad_packed_sequence(out_p, batch_first=True, total_length=5)
    feat = L.cat([h[-2], h[-1]], dim=1)
    logits = fc(feat)
    loss = F.cross_entropy(logits, L.tensor([0, 1, 1]))
    loss.backward()
    r = [out.shape, out_lens.tolist(), packed.batch_sizes.tolist(), packed.sorted_indices.tolist(),
         loss.item(), emb.weight.grad[0].tolist(), lstm.weight_hh_l1_reverse.grad.abs().sum().item()]
    # mean-pool over the valid positions
    mask = (L.arange(5)[None, :] < out_lens[:, None]).unsqueeze(-1)
    r.append(((out * mask).sum(1) / out_lens[:, None]).sum().item())
    # packed sequence helpers
    ps = U.pack_sequence([L.ones(3, 1), L.ones(2, 1) * 2], enforce_sorted=True)
    r.append(ps.data.flatten().tolist())
    r.append([t.tolist() for t in U.unpad_sequence(padded, lengths, batch_first=True)])
    r.append([t.flatten().tolist() for t in U.unpack_sequence(ps)])
    gru = nn.GRU(4, 3, batch_first=True)
    o, hn = gru(U.pack_padded_sequence(emb(padded), lengths, batch_first=True, enforce_sorted=False))
    r.append(hn.sum().item()); r.append(type(o).__name__)
    return r

def _grad_accum_amp(L):
    nn, F = L.nn, L.nn.functional
    L.manual_seed(33)
    model = nn.Sequential(nn.Linear(4, 16), nn.LayerNorm(16), nn.SiLU(), nn.Linear(16, 1))
    opt = L.optim.Adam(model.parameters(), lr=1e-2)
    scaler = L.amp.GradScaler("cpu", enabled=False)
    data = [(L.randn(3, 4), L.randn(3, 1)) for _ in range(4)]
    accum = 2
    out = []
    for i, (xb, yb) in enumerate(data):
        with L.autocast(device_type="cpu", dtype=L.bfloat16):
            pred = model(xb)
            loss = F.mse_loss(pred.float(), yb) / accum
        out.append(str(pred.dtype))
        scaler.scale(loss).backward()
        if (i + 1) % accum == 0:
            scaler.unscale_(opt)
            gn = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(opt); scaler.update(); opt.zero_grad(set_to_none=True)
            out.append(round(gn.item(), 2))
        out.append(round(loss.item(), 3))
    with L.autocast("cpu"):
        y = model(L.ones(1, 4))
    out.append(str(y.dtype))
    with L.autocast(device_type="cpu", enabled=False):
        out.append(str(model(L.ones(1, 4)).dtype))
    out.append(L.is_autocast_enabled("cpu"))
    out.append(str(L.get_autocast_dtype("cpu")))
    return out

def _hooks_and_inspect(L):
    nn = L.nn
    L.manual_seed(34)
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    acts, grads = {}, {}
    def fwd(name):
        def hook(mod, inp, out):
            acts[name] = out.detach().shape
        return hook
    def bwd(name):
        def hook(mod, gin, gout):
            grads[name] = [None if g is None else tuple(g.shape) for g in gout]
        return hook
    hs = [m[0].register_forward_hook(fwd("conv")), m[3].register_full_backward_hook(bwd("fc")),
          m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))]
    y = m(L.ones(2, 1, 6, 6)); y.sum().backward()
    out = [acts, grads, y.sum().item()]
    for h in hs:
        h.remove()
    out.append(m(L.ones(2, 1, 6, 6)).sum().item())
    out.append([n for n, _ in m.named_modules()])
    out.append([(n, tuple(b.shape)) for n, b in m.named_buffers()])
    out.append(str(m))
    out.append(repr(m[0].weight.shape)); out.append(m[3].extra_repr())
    out.append(sum(p.numel() for p in m.parameters() if p.requires_grad))
    m.apply(lambda mod: nn.init.zeros_(mod.bias) if getattr(mod, "bias", None) is not None else None)
    out.append(m[0].bias.tolist())
    out.append([type(c).__name__ for c in m.children()])
    m.requires_grad_(False); out.append(any(p.requires_grad for p in m.parameters()))
    out.append(m.training); m.eval(); out.append(m[1].training)
    m2 = m.to(L.float64); out.append(str(m2[0].weight.dtype)); out.append(m2 is m)
    out.append(str(m.half()[0].weight.dtype))
    out.append(m.get_submodule("3").in_features)
    out.append(m.get_parameter("0.weight").shape)
    return out


def _flat(x):
    if isinstance(x, dict):
        return _flat(sorted(x.items(), key=lambda kv: str(kv[0])))
    if isinstance(x, (list, tuple)):
        return [item for part in x for item in _flat(part)]
    return [x]


def _same(a, b, rtol):
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=rtol, abs_tol=1e-5) or (math.isnan(a) and math.isnan(b))
    return a == b or str(a).replace("torch", "ember") == str(b)


_PROGRAMS = [_nanogpt, _makemore, _unet, _losses, _mixup, _ema, _compile, _loader,
             _state_loading, _einsum_reshape, _fft_filter, _policy_grad, _stn, _misc_ops,
             _lora, _bilstm_packed, _grad_accum_amp, _hooks_and_inspect]


@pytest.mark.parametrize("program", _PROGRAMS, ids=lambda f: f.__name__.strip("_"))
def test_program_core(program):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e, t = _flat(program(ember)), _flat(program(torch))
    assert len(e) == len(t)
    bad = [(i, a, b) for i, (a, b) in enumerate(zip(e, t)) if not _same(b, a, 1e-4)]
    assert not bad, bad[:5]
