"""Defects found by the third round of public programs run on ember with bench/script_probe.py
(tutorial snippets and small training scripts, adapted to synthetic data), and two known
gaps (factories' pin_memory, nn.MultiheadAttention's fused inference path); each case is the
defect's core, a few lines run on both libraries and compared: values, dtypes and shapes, or
the exception type and message."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

from tests.program_compare import outcome  # noqa: E402


# ---------------------------------------------------------------------------- pin_memory

_PIN_CALLS = {
    "zeros": lambda m, p: m.zeros(2, pin_memory=p),
    "ones": lambda m, p: m.ones(2, 3, pin_memory=p),
    "empty": lambda m, p: m.empty(2, pin_memory=p).fill_(1),
    "full": lambda m, p: m.full((2,), 1.5, pin_memory=p),
    "tensor": lambda m, p: m.tensor([1.0, 2.0], pin_memory=p),
    "empty_strided": lambda m, p: m.empty_strided((2,), (1,), pin_memory=p).fill_(0),
    "empty_permuted": lambda m, p: m.empty_permuted((2, 3), (1, 0), pin_memory=p).fill_(0),
    "new_empty_strided": lambda m, p: m.ones(2).new_empty_strided((2,), (1,),
                                                                 pin_memory=p).fill_(0),
    "zeros_like": lambda m, p: m.zeros_like(m.ones(2), pin_memory=p),
    "ones_like": lambda m, p: m.ones_like(m.ones(2), pin_memory=p),
    "empty_like": lambda m, p: m.empty_like(m.ones(2), pin_memory=p).fill_(0),
    "full_like": lambda m, p: m.full_like(m.ones(2), 3, pin_memory=p),
    "scalar_tensor": lambda m, p: m.scalar_tensor(2, pin_memory=p),
    "new_zeros": lambda m, p: m.ones(2).new_zeros(3, pin_memory=p),
    "new_ones": lambda m, p: m.ones(2).new_ones((2, 1), pin_memory=p),
    "new_empty": lambda m, p: m.ones(2).new_empty(2, pin_memory=p).fill_(0),
    "new_full": lambda m, p: m.ones(2).new_full((2,), 4, pin_memory=p),
}

# torch's parser names these in an "invalid combination of arguments" message: same type
_PIN_CALLS_TYPE_ONLY = {
    "rand": lambda m, p: m.rand(2, pin_memory=p),
    "randn": lambda m, p: m.randn(2, pin_memory=p),
    "randperm": lambda m, p: m.randperm(3, pin_memory=p),
    "hann_window": lambda m, p: m.hann_window(4, pin_memory=p),
    "sparse_coo_tensor": lambda m, p: m.sparse_coo_tensor([[0]], [1.0], pin_memory=p),
    "eye": lambda m, p: m.eye(2, pin_memory=p),
    "arange": lambda m, p: m.arange(3, pin_memory=p),
    "linspace": lambda m, p: m.linspace(0, 1, 3, pin_memory=p),
    "logspace": lambda m, p: m.logspace(0, 1, 3, pin_memory=p),
}


@pytest.mark.parametrize("value", [1, 0, 1.0, "tensor"])
@pytest.mark.parametrize("name", sorted(_PIN_CALLS))
def test_pin_memory_must_be_bool(name, value):
    """A factory's pin_memory=1 (an int, a float, a tensor) raises PyTorch's TypeError
    ("argument 'pin_memory' must be bool, not int"); ember accepted anything."""
    def program(m):
        return _PIN_CALLS[name](m, m.tensor(True) if value == "tensor" else value)
    got, want = outcome(program, ember), outcome(program, torch)
    assert want[:2] == ("raised", "TypeError")
    assert got == want


@pytest.mark.parametrize("name", sorted(_PIN_CALLS_TYPE_ONLY))
def test_pin_memory_must_be_bool_type(name):
    def program(m):
        return _PIN_CALLS_TYPE_ONLY[name](m, 1)
    got, want = outcome(program, ember), outcome(program, torch)
    assert want[:2] == got[:2] == ("raised", "TypeError")
    assert "pin_memory" in got[2]


@pytest.mark.parametrize("name", sorted(_PIN_CALLS) + sorted(_PIN_CALLS_TYPE_ONLY))
def test_pin_memory_false_none_true(name):
    """False (and None, which tensor() and sparse_coo_tensor() refuse) makes an ordinary
    tensor; True without an accelerator raises PyTorch's RuntimeError."""
    calls = {**_PIN_CALLS, **_PIN_CALLS_TYPE_ONLY}

    def program(m, p):
        m.manual_seed(0)
        t = calls[name](m, p)
        return t.to_dense() if t.is_sparse else t
    for p in (False, None):
        got, want = outcome(lambda m: program(m, p), ember), outcome(lambda m: program(m, p),
                                                                      torch)
        if name in _PIN_CALLS_TYPE_ONLY and want[0] == "raised":
            got, want = got[:2], want[:2]
        assert got == want, p
    if ember.cuda.is_available():
        assert ember.zeros(2, pin_memory=True).is_pinned()
    else:
        got, want = outcome(lambda m: program(m, True), ember), outcome(lambda m: program(m, True),
                                                                         torch)
        assert got == want and want[:2] == ("raised", "RuntimeError")


# ---------------------------------------------------------------- MultiheadAttention fast path

def _attention_program(m, kind="mha", fast=True, attn_mask=None, padding=True, grad=False,
                       train=False, batch_first=True, heads=2, need_weights=False,
                       same=True, float_mask=False, norm_first=False, bias=True,
                       average=True):
    m.backends.mha.set_fastpath_enabled(fast)
    try:
        m.manual_seed(0)
        x = m.randn(3, 4, 8)
        if not batch_first:
            x = x.transpose(0, 1).contiguous()
        pad = m.zeros(3, 4, dtype=m.bool)
        pad[1] = True               # a fully padded batch entry
        pad[2, 2:] = True
        if float_mask:
            pad = m.zeros(3, 4).masked_fill(pad, float("-inf"))
        am = None
        if attn_mask == "2d":       # query 0 may see no key
            am = m.zeros(4, 4, dtype=m.bool)
            am[0] = True
            am[1, 1:] = True
        elif attn_mask == "3d":     # per batch entry and head
            am = m.zeros(3 * heads, 4, 4, dtype=m.bool)
            am[heads + 1, 2] = True
            am[0, 1] = True
        elif attn_mask == "causal":
            am = m.nn.Transformer.generate_square_subsequent_mask(4).isinf()
        with m.set_grad_enabled(grad):
            if kind == "mha":
                mod = m.nn.MultiheadAttention(8, heads, batch_first=batch_first, bias=bias)
                mod.train(train)
                y = x if same else x + 1
                out, w = mod(x, y, y, key_padding_mask=pad if padding else None, attn_mask=am,
                             need_weights=need_weights, is_causal=attn_mask == "causal",
                             average_attn_weights=average)
                return [out.detach(), None if w is None else w.detach()]
            layer = m.nn.TransformerEncoderLayer(8, heads, 16, dropout=0.0, batch_first=True,
                                                 norm_first=norm_first)
            if kind == "layer":
                layer.train(train)
                return layer(x, src_mask=am, src_key_padding_mask=pad).detach()
            enc = m.nn.TransformerEncoder(layer, 2).train(train)
            return enc(x, mask=am, src_key_padding_mask=pad).detach()
    finally:
        m.backends.mha.set_fastpath_enabled(True)


_ATTENTION_CASES = {
    "padding": {},
    "padding_weights": dict(need_weights=True),
    "padding_weights_per_head": dict(need_weights=True, average=False),
    "attn_mask_2d": dict(attn_mask="2d", padding=False),
    "both_masks": dict(attn_mask="2d"),
    "attn_mask_3d": dict(attn_mask="3d"),
    "causal": dict(attn_mask="causal"),
    # the slow path (0 where every key is masked): each blocks the fast path
    "fastpath_disabled": dict(fast=False),
    "grad": dict(grad=True),
    "training": dict(train=True),
    "seq_first": dict(batch_first=False),
    "odd_heads": dict(heads=1),
    "not_self_attention": dict(same=False),
    "float_mask": dict(float_mask=True),
    "no_bias": dict(bias=False),
    # the encoder layer's own fused kernel, and the encoder over it
    "layer": dict(kind="layer"),
    "layer_norm_first": dict(kind="layer", norm_first=True),
    "layer_attn_mask": dict(kind="layer", attn_mask="2d", padding=False),
    "layer_training": dict(kind="layer", train=True),
    "layer_disabled": dict(kind="layer", fast=False),
    "encoder_nested": dict(kind="encoder"),
    "encoder_norm_first": dict(kind="encoder", norm_first=True),
    "encoder_disabled": dict(kind="encoder", fast=False, norm_first=True),
}


@pytest.mark.parametrize("name", sorted(_ATTENTION_CASES))
def test_multihead_attention_fully_masked_rows(name):
    """nn.MultiheadAttention in eval mode, without autograd, batch-first self-attention with
    a boolean key_padding_mask (or attn_mask) runs PyTorch's fused kernel, which gives NaN
    for a query whose every key is masked; the slow path gives 0 attention there (so the
    output is out_proj's bias). ember always took the slow path's answer. The same holds for
    nn.TransformerEncoderLayer's fused kernel; torch.backends.mha.set_fastpath_enabled
    (missing in ember) switches both off."""
    kw = _ATTENTION_CASES[name]
    got = outcome(lambda m: _attention_program(m, **kw), ember)
    want = outcome(lambda m: _attention_program(m, **kw), torch)
    got = got if isinstance(got, list) and got[0] != "T" else [got]
    want = want if isinstance(want, list) and want[0] != "T" else [want]
    for a, b in zip(got, want):
        if b is None:
            assert a is None
            continue
        a, b = np.array(a[1], dtype=float), np.array(b[1], dtype=float)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_mha_fastpath_switch():
    assert ember.backends.mha.get_fastpath_enabled() is True
    ember.backends.mha.set_fastpath_enabled(False)
    try:
        assert ember.backends.mha.get_fastpath_enabled() is False
    finally:
        ember.backends.mha.set_fastpath_enabled(True)


def test_encoder_layer_activation_after_a_front():
    """Importing ember.nested rebinds F.relu to a wrapper (a process-wide front), so the
    layer's default activation (the original F.relu) no longer was F.relu: the layer counted
    as a custom activation and TransformerEncoder warned that it could not use nested
    tensors, and skipped PyTorch's padding path."""
    import warnings
    import ember.nested  # noqa: F401
    F = ember.nn.functional
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer = ember.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)
        ember.nn.TransformerEncoder(layer, 1)
    assert layer.activation_relu_or_gelu == 1
    assert ember.nn.TransformerEncoderLayer(8, 2, 16, activation=F.gelu).activation_relu_or_gelu \
        == 2
    assert ember.nn.TransformerEncoderLayer(8, 2, 16, activation="gelu").activation_relu_or_gelu \
        == 2


# ---------------------------------------------------------------------------- resize_

_RESIZE_CASES = {
    # chenyuntc/pytorch-book chapter 3: b = a.view(2, 3); b.resize_(1, 3); b.resize_(3, 3)
    "regrow_view": lambda m: _regrow(m),
    "offset_view_grows": lambda m: _offset_grow(m),
    "offset_view_fits_shares": lambda m: _offset_fits(m),
    "transposed_reads_storage": lambda m: _transposed(m),
    "strided_grows": lambda m: m.arange(6.)[::2].resize_(4)[:3],
    "empty_grows": lambda m: m.empty(0).resize_(3).zero_(),
}


def _regrow(m):
    a = m.arange(0, 6)
    b = a.view(2, 3)
    first = b.resize_(1, 3).clone()
    return [first, b.resize_(3, 3)[:2], b.storage_offset()]


def _offset_grow(m):
    y = m.arange(6.)[2:]
    y.resize_(6)
    return [y[:4], y.storage_offset()]


def _offset_fits(m):
    x = m.arange(6.)
    y = x[2:].resize_(2, 2)
    y[0, 0] = 50
    return [y, x, y.storage_offset()]


def _transposed(m):
    x = m.arange(12.).view(3, 4)
    z = x.t().resize_(2, 3)
    z[0, 0] = -1
    return [z, x, z.stride()]


@pytest.mark.parametrize("name", sorted(_RESIZE_CASES))
def test_resize_lays_out_over_the_storage(name):
    """Tensor.resize_ lays the new shape out contiguously from the storage offset over the
    whole storage, as PyTorch: a view regrown after shrinking reads its base's later
    elements back (ember zero-filled them, pytorch-book printed [[0,1,2],[0,0,0]]), an offset
    view keeps its offset, and a non-contiguous tensor reads the storage in memory order.
    Where the new shape fits the storage, the tensor stays a view of it."""
    got, want = outcome(_RESIZE_CASES[name], ember), outcome(_RESIZE_CASES[name], torch)
    assert got == want


# ---------------------------------------------------------------------------- Tensor.data =

_DATA_SET_CASES = {
    # chenyuntc/pytorch-book chapter 4: embedding.weight.data = t.arange(0, 20).view(4, 5)
    "parameter_int": lambda m: _set_data(m.nn.Parameter(m.ones(2)), m.arange(3)),
    "leaf_bool": lambda m: _set_data(m.ones(2, requires_grad=True), m.tensor([True])),
    "non_leaf_int": lambda m: _set_data(m.ones(2, requires_grad=True) * 2, m.arange(2)),
    "no_grad_int": lambda m: _set_data(m.ones(2), m.arange(3)),
    "double": lambda m: _set_data(m.ones(2, requires_grad=True), m.arange(3.).double()),
    "complex": lambda m: _set_data(m.ones(2, requires_grad=True), m.zeros(2, dtype=m.complex64)),
    "list": lambda m: _set_data(m.ones(2, requires_grad=True), [1]),
}


def _set_data(t, value):
    t.data = value
    return [t.detach(), t.requires_grad, str(t.dtype).split(".")[1]]


@pytest.mark.parametrize("name", sorted(_DATA_SET_CASES))
def test_set_data_checks_dtype(name):
    """`t.data = value` on a tensor that requires grad refuses an integer or bool value
    with PyTorch's RuntimeError; ember took it (a Parameter holding int64)."""
    got, want = outcome(_DATA_SET_CASES[name], ember), outcome(_DATA_SET_CASES[name], torch)
    assert got == want


# ---------------------------------------------------------------------------- copy_ shapes

@pytest.mark.parametrize("shapes", [((0,), (2, 4)), ((3,), (2, 4)), ((2, 3), (4,)),
                                    ((5, 3), (2, 1, 3)), ((3, 1), (2, 4, 5)), ((), (2,)),
                                    ((2, 1), (3,)), ((2, 3), (1, 3)), ((), (1, 1))])
def test_copy_shape_errors(shapes):
    """copy_ from a source that does not broadcast to the destination raises PyTorch's
    message: the dim counted in the broadcast shape (pytorch-book chapter 4's forward hook
    copying a (2, 4) output into torch.Tensor() read "dimension 0" for torch's 1), and
    "output with shape [5, 3] doesn't match the broadcast shape [2, 5, 3]" where the shapes
    broadcast to a larger one."""
    dst, src = shapes
    got = outcome(lambda m: m.ones(dst).copy_(m.ones(src)), ember)
    want = outcome(lambda m: m.ones(dst).copy_(m.ones(src)), torch)
    assert got == want


# ---------------------------------------------------------------------------- default seed

def test_default_generator_seeded_from_entropy():
    """PyTorch seeds its default CPU generator from the OS's entropy at start-up: a program
    that never calls manual_seed (d2l's anchor-box chapter) draws other numbers on each run,
    while a new Generator() starts from the fixed default seed. ember's default generator
    always started from that fixed seed."""
    import os
    import subprocess
    import sys
    code = ("import ember, json; print(json.dumps([ember.initial_seed(), ember.rand(3).tolist(), "
            "ember.Generator().initial_seed()]))")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root)
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                           check=True).stdout for _ in range(2)]
    import json
    (seed1, draws1, fresh1), (seed2, draws2, fresh2) = (json.loads(r) for r in runs)
    assert seed1 != seed2 and draws1 != draws2
    assert 0 <= seed1 < 2 ** 64 and 0 <= seed2 < 2 ** 64
    assert fresh1 == fresh2 == torch.Generator().initial_seed() == 67280421310721


# ---------------------------------------------------------------------------- addmm family

_BETA_FIRST = {
    "addmm_fn5": lambda m: m.addmm(0.5, m.ones(2, 2), 2, m.ones(2, 3), m.ones(3, 2)),
    "addmm_fn4": lambda m: m.addmm(0.5, m.ones(2, 2), m.ones(2, 3), m.ones(3, 2)),
    "addmm_method4": lambda m: m.ones(2, 2).addmm(0.5, 2, m.ones(2, 3), m.ones(3, 2)),
    "addmm_method3": lambda m: m.ones(2, 2).addmm(0.5, m.ones(2, 3), m.ones(3, 2)),
    "addmm_inplace": lambda m: m.ones(2, 2).addmm_(0.5, 2, m.ones(2, 3), m.ones(3, 2)),
    "addmm_out": lambda m: m.addmm(0.5, m.ones(2, 2), m.ones(2, 3), m.ones(3, 2),
                                   out=m.empty(2, 2)),
    "addmm_grad": lambda m: m.addmm(0.5, m.ones(2, 2, requires_grad=True), 2, m.ones(2, 3),
                                    m.ones(3, 2)).grad_fn.name(),
    "addmv_fn": lambda m: m.addmv(0.5, m.ones(2), 2, m.ones(2, 3), m.ones(3)),
    "addmv_inplace": lambda m: m.ones(2).addmv_(0.5, 2, m.ones(2, 3), m.ones(3)),
    "addr_fn": lambda m: m.addr(0.5, m.ones(2, 2), 2, m.ones(2), m.ones(2)),
    "addr_inplace": lambda m: m.ones(2, 2).addr_(0.5, 2, m.ones(2), m.ones(2)),
    "baddbmm_fn": lambda m: m.baddbmm(0.5, m.ones(1, 2, 2), 2, m.ones(1, 2, 3),
                                      m.ones(1, 3, 2)),
    "baddbmm_inplace": lambda m: m.ones(1, 2, 2).baddbmm_(0.5, 2, m.ones(1, 2, 3),
                                                           m.ones(1, 3, 2)),
    "addbmm_method": lambda m: m.ones(2, 2).addbmm(0.5, 2, m.ones(1, 2, 3), m.ones(1, 3, 2)),
    # refused as PyTorch's parser refuses them
    "method_form_as_function": lambda m: m.addmm(m.ones(2, 2), 0.5, m.ones(2, 3),
                                                 m.ones(3, 2)),
    "beta_twice": lambda m: m.addmm(0.5, m.ones(2, 2), 2, m.ones(2, 3), m.ones(3, 2), beta=3),
    "missing_tensor": lambda m: m.addmm(0.5, m.ones(2, 2), 2, m.ones(2, 3)),
    "trailing_scalar": lambda m: m.addmm(m.ones(2, 2), m.ones(2, 3), m.ones(3, 2), 0.5),
}


@pytest.mark.parametrize("name", sorted(_BETA_FIRST))
def test_addmm_family_scalars_first(name):
    """PyTorch still takes the deprecated scalars-first overloads of addmm, addmv, addr,
    addbmm and baddbmm (addmm(beta, M, alpha, mat1, mat2), M.addmm_(beta, alpha, mat1,
    mat2)) that old code uses; ember raised TypeError."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got, want = outcome(_BETA_FIRST[name], ember), outcome(_BETA_FIRST[name], torch)
    if want[0] == "raised":
        assert got[:2] == want[:2]
    else:
        assert got == want
