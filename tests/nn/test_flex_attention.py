"""nn.attention.flex_attention against torch: outputs, log-sum-exp and max scores, the
gradients of q, k, v and of tensors a score_mod captures, BlockMask fields (block counts
and index lists, to_dense, sparsity, str/repr, slicing, _adjust), create_mask, errors.

torch runs flex_attention uncompiled here (_FLEX_ATTENTION_DISABLE_COMPILE_DEBUG): the same
eager implementation its default path compiles with dynamo's eager backend (the same
values, checked in test_torch_debug_path_is_the_default_path), without a dynamo trace per
mod. torch's CPU front end refuses inputs that require grad; the gradient oracle is its
own flex attention operator (torch._higher_order_ops.flex_attention, the autograd
function that its CUDA eager path runs), with captured tensors passed as its buffers.
tests/nn/conftest.py runs every test on the CPU and on CUDA (ember's inputs on the GPU,
compared with torch's CPU results)."""
import math
import re
import warnings

import numpy as np
import pytest
import torch
import torch.nn.attention.flex_attention as TFA

import ember
import ember.nn.attention.flex_attention as EFA
from tests.oracle import harness
from tests.oracle.harness import Grad, T, assert_same

rng = np.random.default_rng(0)
LN2 = math.log(2.0)


@pytest.fixture(autouse=True)
def torch_uncompiled(monkeypatch):
    monkeypatch.setattr(TFA, "_FLEX_ATTENTION_DISABLE_COMPILE_DEBUG", True)
    warnings.filterwarnings("ignore", message="return_lse is deprecated", category=FutureWarning)
    yield


def FA(lib):
    return TFA if lib is torch else EFA


def dev():
    return harness.DEVICE[0]


def arr(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------------------------------
# mods: each a factory lib -> (score_mod or None, mask_mod or None); the tensors a mod
# captures are built from fixed arrays with harness.T (on ember's device)

BIAS = arr(8, 8)
SLOPES = np.array([0.5, 0.25, 0.125, 0.0625], dtype=np.float32)
DOCS = np.array([[0, 0, 0, 1, 1, 2, 2, 2], [0, 1, 1, 1, 1, 1, 2, 2]])
TRIL = np.tril(np.ones((8, 8), dtype=bool))
HEAD_WEIGHTS = arr(4, 3)


def causal(lib):
    return None, lambda b, h, q, k: q >= k


def sliding_window(lib):
    return None, lambda b, h, q, k: (q >= k) & (q - k <= 2)


def prefix_lm(lib):
    return None, lambda b, h, q, k: (k <= 3) | (q >= k)


def document(lib):
    docs = T(lib, DOCS)
    return None, lambda b, h, q, k: docs[b, q] == docs[b, k]


def alibi(lib):
    slopes = T(lib, SLOPES)
    return (lambda s, b, h, q, k: s + slopes[h] * (k - q)), None


def soft_cap(lib):
    return (lambda s, b, h, q, k: lib.tanh(s / 2.0) * 2.0), causal(lib)[1]


def rel_bias_table(lib):
    table = T(lib, BIAS)
    return (lambda s, b, h, q, k: s + table[q, k]), None


def rel_position(lib):
    return (lambda s, b, h, q, k: s + (q - k) * 0.1), None


def causal_by_where(lib):
    return (lambda s, b, h, q, k: lib.where(q >= k, s, -float("inf"))), None


def dead_rows(lib):   # queries 0..2 attend nowhere: zero output, lse -inf
    return None, lambda b, h, q, k: (q > 2) & (q >= k)


def scalar_only(lib):   # table[q][k] works on 0-d indices only: ember falls back to vmap
    table = T(lib, TRIL)
    return (lambda s, b, h, q, k: s * 0.5), lambda b, h, q, k: table[q][k]


def head_reduction(lib):   # runs on broadcast indices but means a per-head sum: vmap
    weights = T(lib, HEAD_WEIGHTS)
    return (lambda s, b, h, q, k: s * weights[h].sum() * 0.3), None


def combined(lib):
    fa = FA(lib)
    return None, fa.and_masks(causal(lib)[1], fa.or_masks(sliding_window(lib)[1],
                                                          lambda b, h, q, k: k == 0))


def no_mod(lib):
    return None, None


MODS = {f.__name__: f for f in (causal, sliding_window, prefix_lm, document, alibi, soft_cap,
                                rel_bias_table, rel_position, causal_by_where, dead_rows,
                                scalar_only, head_reduction, combined, no_mod)}


def run_flex(lib, q, k, v, mods, block=4, B=2, H=2, **kw):
    score_mod, mask_mod = mods(lib)
    block_mask = None
    if mask_mod is not None:
        block_mask = FA(lib).create_block_mask(mask_mod, B, H, q.shape[-2], k.shape[-2],
                                               device="cpu" if lib is torch else dev(),
                                               BLOCK_SIZE=block)
    return FA(lib).flex_attention(q, k, v, score_mod=score_mod, block_mask=block_mask, **kw)


@pytest.mark.parametrize("name", sorted(MODS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_and_lse(name, dtype):
    q, k, v = arr(2, 4, 8, 4, dtype=dtype), arr(2, 4, 8, 4, dtype=dtype), arr(2, 4, 8, 6,
                                                                                dtype=dtype)
    res = {}
    for lib in (torch, ember):
        res[lib] = run_flex(lib, T(lib, q), T(lib, k), T(lib, v), MODS[name], H=4,
                            return_lse=True)
    assert_same(res[ember], res[torch])


@pytest.mark.parametrize("name", ["causal", "alibi", "document", "no_mod"])
def test_gqa_and_rectangular(name):
    """4 query heads share 2 key/value heads; L=8 queries, S=8 keys in blocks of (4, 2)."""
    q, k, v = arr(2, 4, 8, 4), arr(2, 2, 8, 4), arr(2, 2, 8, 4)
    res = {lib: run_flex(lib, T(lib, q), T(lib, k), T(lib, v), MODS[name], H=4, block=(4, 2),
                         enable_gqa=True, return_lse=True) for lib in (torch, ember)}
    assert_same(res[ember], res[torch])


def test_rectangular_lengths_not_multiple_of_block():
    q, k, v = arr(1, 2, 6, 4), arr(1, 2, 10, 4), arr(1, 2, 10, 4)
    res = {lib: run_flex(lib, T(lib, q), T(lib, k), T(lib, v), causal, B=1, block=4,
                         return_lse=True, scale=0.3) for lib in (torch, ember)}
    assert_same(res[ember], res[torch])


def test_low_precision_inputs():
    """bfloat16 q/k/v: scores, softmax and lse in float32, output bfloat16; float32 query
    with bfloat16 key/value (allowed) gives float32."""
    q, k, v = arr(1, 2, 8, 4), arr(1, 2, 8, 4), arr(1, 2, 8, 4)
    for kv_dtype, q_dtype in ((torch.bfloat16, torch.bfloat16), (torch.bfloat16, torch.float32)):
        res = {}
        for lib in (torch, ember):
            qd, kvd = (q_dtype, kv_dtype) if lib is torch else \
                (getattr(ember, str(q_dtype)[6:]), getattr(ember, str(kv_dtype)[6:]))
            res[lib] = run_flex(lib, T(lib, q).to(qd), T(lib, k).to(kvd), T(lib, v).to(kvd),
                                soft_cap, B=1, return_lse=True)
        assert_same(res[ember], res[torch], rtol=2e-2, atol=2e-2)


def test_autocast():
    """Under autocast q, k, v are cast to its dtype and the math runs as for such inputs
    (float32 scores), as torch's operator."""
    q = arr(1, 2, 8, 4)
    res = {}
    for lib in (torch, ember):
        with lib.autocast(dev() if lib is ember else "cpu", dtype=lib.bfloat16):
            x = T(lib, q)
            res[lib] = run_flex(lib, x, x, x, soft_cap, B=1, return_lse=True)
    assert_same(res[ember], res[torch], rtol=2e-2, atol=2e-2)


def test_batch_broadcast_of_key_value():
    """A key/value batch of 1 serves a query batch of 2 given a BlockMask of batch 2."""
    q, k, v = arr(2, 2, 8, 4), arr(1, 2, 8, 4), arr(1, 2, 8, 4)
    res = {lib: run_flex(lib, T(lib, q), T(lib, k), T(lib, v), document, B=2)
           for lib in (torch, ember)}
    assert_same(res[ember], res[torch])


def test_empty_and_options():
    """An empty batch gives an empty output and lse None; no keys raises torch's
    IndexError; kernel_options change nothing; a float64 captured bias makes lse float64."""
    x = arr(1, 2, 4, 4)
    cases = [(lambda lib: dict(q=T(lib, arr(0, 2, 8, 4)), return_lse=True)),
             (lambda lib: dict(q=T(lib, arr(1, 2, 0, 4)), return_lse=True)),
             (lambda lib: dict(q=T(lib, x), kernel_options={"BLOCK_M": 64, "PRESCALE_QK": True,
                                                             "BACKEND": "TRITON"})),
             (lambda lib: dict(q=T(lib, x), return_lse=True,
                               score_mod=lambda s, b, h, q, k, t=T(lib, BIAS[:4, :4].astype(
                                   np.float64)): s + t[q, k]))]
    for case in cases:
        res = {}
        for lib in (torch, ember):
            kw = case(lib)
            q = kw.pop("q")
            try:
                res[lib] = FA(lib).flex_attention(q, q, q, **kw)
            except IndexError as e:
                res[lib] = str(e)
        if isinstance(res[torch], tuple) and res[torch][1] is None:
            assert res[ember][1] is None
            res = {lib: r[0] for lib, r in res.items()}
        assert_same(res[ember], res[torch])


def test_return_aux():
    q, k, v = arr(2, 2, 8, 4), arr(2, 2, 8, 4), arr(2, 2, 8, 4)
    for lse in (False, True):
        res = {}
        for lib in (torch, ember):
            res[lib] = run_flex(lib, T(lib, q), T(lib, k), T(lib, v), dead_rows,
                                return_aux=FA(lib).AuxRequest(lse=lse))
        assert type(res[ember][1]).__name__ == "AuxOutput"
        assert_same(tuple(res[ember][0:1]) + tuple(res[ember][1]),
                    tuple(res[torch][0:1]) + tuple(res[torch][1]))


def test_torch_debug_path_is_the_default_path(monkeypatch):
    """The oracle's uncompiled path gives the bits of torch's default (dynamo) path."""
    q, k, v = (torch.from_numpy(arr(1, 2, 8, 4)) for _ in range(3))
    debug = run_flex(torch, q, k, v, soft_cap, B=1, return_lse=True)
    monkeypatch.setattr(TFA, "_FLEX_ATTENTION_DISABLE_COMPILE_DEBUG", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        default = run_flex(torch, q, k, v, soft_cap, B=1, return_lse=True)
    assert torch.equal(debug[0], default[0]) and torch.equal(debug[1], default[1])


def test_output_layout_follows_query():
    """The output has the query's memory order: heads split from a (B, L, H, E) projection
    give a (B, L, H, Ev)-ordered output, which merges back with .transpose(1, 2).view()."""
    x = arr(2, 8, 2, 4)
    res = {}
    for lib in (torch, ember):
        q = T(lib, x).transpose(1, 2)
        out = FA(lib).flex_attention(q, q, q)
        res[lib] = (out.stride(), out.transpose(1, 2).view(2, 8, 8))
    assert res[ember][0] == res[torch][0]
    assert_same(res[ember][1], res[torch][1])


# ---------------------------------------------------------------------------------------
# gradients, against torch's flex attention operator

def torch_operator_grads(q, k, v, score_mod, mask_mod, buffers, scale, H, B, cot, cot_lse):
    """torch's outputs and gradients (q, k, v, buffers) through its flex attention
    operator: score_mod(score, b, h, q, k, *buffers)."""
    from torch._higher_order_ops.flex_attention import flex_attention as flex_op
    leaves = [torch.from_numpy(a.copy()).requires_grad_() for a in (q, k, v)]
    bufs = [torch.from_numpy(a.copy()).requires_grad_() for a in buffers]
    if mask_mod is None:
        bm = TFA._create_empty_block_mask(leaves[0], leaves[1])
    else:
        bm = TFA.create_block_mask(mask_mod, B, H, q.shape[-2], k.shape[-2], device="cpu",
                                   BLOCK_SIZE=4)
    if score_mod is None:
        def score_mod(s, b, h, qi, ki, *rest):
            return s
    options = TFA._apply_kernel_options(leaves[0], leaves[1], leaves[2], True, None)
    out, lse2, _ = flex_op(*leaves, score_mod, bm.as_tuple(), scale, options, tuple(bufs), ())
    lse = lse2 * LN2
    loss = (out * torch.from_numpy(cot)).sum() + (lse * torch.from_numpy(cot_lse)).sum()
    grads = torch.autograd.grad(loss, leaves + bufs)
    return out, lse, grads


# (score_mod with the captured tensors as trailing arguments, mask_mod, captured arrays)
GRAD_CASES = {
    "causal": (None, lambda lib: lambda b, h, q, k: q >= k, []),
    "soft_cap_window": (lambda lib: lambda s, b, h, q, k: lib.tanh(s / 2.0) * 2.0,
                        lambda lib: lambda b, h, q, k: (q >= k) & (q - k <= 2), []),
    "learnable_bias": (lambda lib: lambda s, b, h, q, k, table: s + table[q, k], None, [BIAS]),
    "learnable_alibi_slopes": (lambda lib: lambda s, b, h, q, k, sl: s + sl[h] * (k - q),
                               lambda lib: lambda b, h, q, k: q >= k, [SLOPES]),
    # ember's table[q][k] runs through vmap; torch's operator is given table[q, k]: its
    # backward of the chained form gives the bias a wrong gradient (every row the sum of
    # the columns; its forward is right)
    "scalar_style_table": (lambda lib: (lambda s, b, h, q, k, table: s + table[q][k])
                           if lib is ember else
                           (lambda s, b, h, q, k, table: s + table[q, k]), None, [BIAS]),
    "per_head_bias_dead_rows": (lambda lib: lambda s, b, h, q, k, t: s * t[h, q],
                                lambda lib: lambda b, h, q, k: (q > 2) & (q >= k),
                                [arr(4, 8)]),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradients(name, dtype):
    smod, mmod, captured = GRAD_CASES[name]
    captured = [c.astype(dtype) for c in captured]
    q, k, v = arr(2, 4, 8, 4, dtype=dtype), arr(2, 4, 8, 4, dtype=dtype), arr(2, 4, 8, 6,
                                                                                dtype=dtype)
    cot, cot_lse = arr(2, 4, 8, 6, dtype=dtype), arr(2, 4, 8, dtype=dtype)
    t_out, t_lse, t_grads = torch_operator_grads(
        q, k, v, None if smod is None else smod(torch), None if mmod is None else mmod(torch),
        captured, 0.5, 4, 2, cot, cot_lse)

    leaves = [T(ember, Grad(a)) for a in [q, k, v] + captured]
    score_mod, block_mask = None, None
    if smod is not None:
        fn = smod(ember)
        # the captured tensors reached by closure
        score_mod = lambda s, b, h, qi, ki: fn(s, b, h, qi, ki, *leaves[3:])  # noqa: E731
    if mmod is not None:
        block_mask = EFA.create_block_mask(mmod(ember), 2, 4, 8, 8, device=dev(), BLOCK_SIZE=4)
    out, aux = EFA.flex_attention(*leaves[:3], score_mod=score_mod, block_mask=block_mask,
                                  scale=0.5, return_aux=EFA.AuxRequest(lse=True))
    loss = (out * T(ember, cot)).sum() + (aux.lse * T(ember, cot_lse)).sum()
    grads = ember.autograd.grad(loss, leaves)
    tol = 1e-4 if dtype == np.float32 else 1e-9
    assert_same([out, aux.lse], [t_out, t_lse], rtol=tol, atol=tol)
    assert_same(list(grads), list(t_grads), rtol=tol, atol=tol, what="gradients")


def test_max_scores():
    """AuxRequest(max_scores=True): torch's CPU front end raises NotImplementedError; ember
    returns its operator's max scores (-inf on dead rows), not differentiable."""
    q, k, v = arr(1, 2, 8, 4), arr(1, 2, 8, 4), arr(1, 2, 8, 4)
    with pytest.raises(NotImplementedError):
        run_flex(torch, *(T(torch, a) for a in (q, k, v)), dead_rows, B=1,
                 return_aux=TFA.AuxRequest(max_scores=True))
    from torch._higher_order_ops.flex_attention import flex_attention as flex_op
    tq, tk, tv = (T(torch, a) for a in (q, k, v))
    bm = TFA.create_block_mask(dead_rows(torch)[1], 1, 2, 8, 8, device="cpu", BLOCK_SIZE=4)
    options = TFA._apply_kernel_options(tq, tk, tv, True, None)
    _, _, t_max = flex_op(tq, tk, tv, TFA._identity, bm.as_tuple(), 0.5, options, (), ())
    eq = T(ember, Grad(q))
    out, aux = run_flex(ember, eq, T(ember, k), T(ember, v), dead_rows, B=1, scale=0.5,
                        return_aux=EFA.AuxRequest(max_scores=True))
    assert aux.lse is None and not aux.max_scores.requires_grad
    assert_same(aux.max_scores, t_max * LN2)


# ---------------------------------------------------------------------------------------
# BlockMask

def block_fields(bm):
    return [getattr(bm, a) for a in ("kv_num_blocks", "kv_indices", "full_kv_num_blocks",
                                     "full_kv_indices", "q_num_blocks", "q_indices",
                                     "full_q_num_blocks", "full_q_indices")]


def same_block_mask(e, t):
    fields_e, fields_t = block_fields(e), block_fields(t)
    for a, b in zip(fields_e, fields_t):
        assert (a is None) == (b is None)
    assert_same([a for a in fields_e if a is not None], [b for b in fields_t if b is not None])
    assert e.shape == t.shape and e.seq_lengths == t.seq_lengths
    assert tuple(e.BLOCK_SIZE) == tuple(t.BLOCK_SIZE)
    assert e.sparsity() == t.sparsity() and e.numel() == t.numel()
    assert_same(e.to_dense(), t.to_dense())
    assert str(e) == str(t)
    assert repr(e) == repr(t).replace("torch.", "ember.")


BLOCK_CASES = [   # (mask name, B, H, Q_LEN, KV_LEN, BLOCK_SIZE, separate_full_blocks)
    ("causal", 1, 1, 16, 16, 4, True),
    ("causal", None, None, 16, 16, 4, True),
    ("causal", 2, 3, 10, 13, (4, 2), True),
    ("sliding_window", 1, 2, 16, 16, 2, True),
    ("prefix_lm", 1, 1, 16, 16, 4, False),
    ("document", 2, 1, 8, 8, 2, True),
    ("dead_rows", 1, 1, 8, 8, 2, True),
    ("combined", 2, 2, 8, 8, (2, 4), True),
    ("scalar_only", 1, 1, 8, 8, 4, True),
    ("causal", 6, 1, 40, 40, 4, True),   # more than to_string's limit of pictures
]


@pytest.mark.parametrize("case", BLOCK_CASES, ids=lambda c: "-".join(map(str, c)))
def test_create_block_mask(case):
    name, B, H, L, S, block, separate = case
    # (the keyword only where it is not the default: older oracles have no such argument)
    extra = {} if separate else {"separate_full_blocks": False}
    res = {lib: FA(lib).create_block_mask(MODS[name](lib)[1], B, H, L, S,
                                          device="cpu" if lib is torch else dev(),
                                          BLOCK_SIZE=block, **extra)
           for lib in (torch, ember)}
    same_block_mask(res[ember], res[torch])
    assert res[ember].to_string(grid_size=2) == res[torch].to_string(grid_size=2)
    assert res[ember].to_string(grid_size=-1, limit=1) == res[torch].to_string(grid_size=-1,
                                                                                limit=1)


def test_default_block_size_and_device():
    res = {lib: FA(lib).create_block_mask(causal(lib)[1], 1, 1, 300, 300)
           for lib in (torch, ember)}
    expected = "cuda" if ember.cuda.is_available() else "cpu"
    assert res[ember].kv_num_blocks.device.type == expected
    same_block_mask(res[ember].to(dev()), res[torch])
    assert res[ember].BLOCK_SIZE == (128, 128)


@pytest.mark.parametrize("index", [0, -1, (1, slice(0, 2)), (slice(None), 1, 2),
                                   (0, 0, "tensor")], ids=str)
def test_block_mask_getitem(index):
    res = {}
    for lib in (torch, ember):
        bm = FA(lib).create_block_mask(sliding_window(lib)[1], 2, 3, 16, 16,
                                       device="cpu" if lib is torch else dev(), BLOCK_SIZE=4)
        idx = index
        if isinstance(idx, tuple) and "tensor" in idx:
            idx = (0, 0, lib.tensor([1, 3], dtype=lib.int32,
                                    device="cpu" if lib is torch else dev()))
        res[lib] = bm[idx]
    same_block_mask(res[ember], res[torch])
    q = arr(1, 1, 16, 4)
    for lib in (torch, ember):   # the sliced mask's mask_mod is gone: attention refuses it
        x = T(lib, q)
        with pytest.raises(RuntimeError, match="sliced BlockMask"):
            FA(lib).flex_attention(x, x, x, block_mask=res[lib])


@pytest.mark.parametrize("lengths", [(8, 8), (5, 16), (12, 12), (16, 16)])
def test_block_mask_adjust(lengths):
    res = {lib: FA(lib).create_block_mask(prefix_lm(lib)[1], 1, 2, 16, 16,
                                          device="cpu" if lib is torch else dev(),
                                          BLOCK_SIZE=4)._adjust(*lengths)
           for lib in (torch, ember)}
    same_block_mask(res[ember], res[torch])
    q, k = arr(1, 2, lengths[0], 4), arr(1, 2, lengths[1], 4)
    out = {lib: FA(lib).flex_attention(T(lib, q), T(lib, k), T(lib, k), block_mask=res[lib])
           for lib in (torch, ember)}
    assert_same(out[ember], out[torch])


def test_from_kv_blocks_and_as_tuple():
    """A hand-built BlockMask: q lists generated, seq_lengths from the blocks; attention
    applies only its mask_mod (the block lists are for compiled kernels), as torch's."""
    counts = np.array([[[1, 2]]], dtype=np.int32)
    indices = np.array([[[[0, 1], [1, 0]]]], dtype=np.int32)
    full_counts = np.array([[[0, 1]]], dtype=np.int32)
    full_indices = np.array([[[[1, 0], [0, 1]]]], dtype=np.int32)
    res = {}
    for lib in (torch, ember):
        bm = FA(lib).BlockMask.from_kv_blocks(T(lib, counts), T(lib, indices),
                                              T(lib, full_counts), T(lib, full_indices),
                                              BLOCK_SIZE=4, mask_mod=causal(lib)[1])
        bare = FA(lib).BlockMask.from_kv_blocks(T(lib, counts), T(lib, indices), BLOCK_SIZE=(4, 2),
                                                compute_q_blocks=False)
        res[lib] = (bm, bare)
        tup = bm.as_tuple()
        assert tup[:2] == (8, 8) and tup[-3:-1] == (4, 4) and tup[-1] is bm.mask_mod
        assert len(tup) == 17 and len(bm.as_tuple(flatten=False)) == 15
    same_block_mask(res[ember][0], res[torch][0])
    assert res[ember][1].q_indices is None and res[ember][1].shape == res[torch][1].shape
    assert res[ember][1].sparsity() == res[torch][1].sparsity()
    assert repr(res[ember][1]) == repr(res[torch][1]).replace("torch.", "ember.")
    q = arr(1, 1, 8, 4)
    out = {lib: FA(lib).flex_attention(T(lib, q), T(lib, q), T(lib, q), block_mask=res[lib][0])
           for lib in (torch, ember)}
    assert_same(out[ember], out[torch])


def test_block_mask_to():
    bm = EFA.create_block_mask(causal(ember)[1], 1, 1, 8, 8, device=dev(), BLOCK_SIZE=4)
    moved = bm.to("cpu")
    assert moved is not bm and moved.mask_mod is bm.mask_mod
    for f in block_fields(moved):
        assert f.device.type == "cpu"
    assert_same(moved.to(dev()).to_dense(), TFA.create_block_mask(causal(torch)[1], 1, 1, 8, 8,
                                                        device="cpu", BLOCK_SIZE=4).to_dense())


@pytest.mark.parametrize("name", ["causal", "document", "scalar_only", "alibi", "soft_cap"])
def test_create_mask(name):
    """create_mask of a mask_mod (its values), or of a score_mod (where the mod keeps a
    zero score finite)."""
    res = {}
    for lib in (torch, ember):
        score_mod, mask_mod = MODS[name](lib)
        fn = mask_mod if name != "alibi" else score_mod
        if name == "soft_cap":
            fn = causal_by_where(lib)[0]
        res[lib] = FA(lib).create_mask(fn, 2, 4, 8, 8, device="cpu" if lib is torch else dev())
    assert_same(res[ember], res[torch])


def test_noop_and_combinators():
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="callable"):
            FA(lib).and_masks(causal(lib)[1], 3)
        with pytest.raises(RuntimeError, match="callable"):
            FA(lib).or_masks(None)
    res = {lib: FA(lib).create_mask(FA(lib).noop_mask, 1, 2, 3, 5,
                                    device="cpu" if lib is torch else dev())
           for lib in (torch, ember)}
    assert_same(res[ember], res[torch])
    res = {lib: FA(lib).create_mask(FA(lib).or_masks(), 1, 1, 2, 2,
                                    device="cpu" if lib is torch else dev())
           for lib in (torch, ember)}
    assert_same(res[ember], res[torch])


# ---------------------------------------------------------------------------------------
# errors

def _blk(lib, L, S, B=1, H=2, block=4):
    return FA(lib).create_block_mask(causal(lib)[1], B, H, L, S,
                                     device="cpu" if lib is torch else dev(), BLOCK_SIZE=block)


ERRORS = {
    "embed_dim": (lambda lib, fa: fa.flex_attention(*_qkv(lib, (1, 2, 8, 4), (1, 2, 8, 3)))),
    "3d": (lambda lib, fa: fa.flex_attention(*_qkv(lib, (2, 8, 4), (2, 8, 4)))),
    "1d": (lambda lib, fa: fa.flex_attention(*_qkv(lib, (4,), (4,)))),
    "heads": (lambda lib, fa: fa.flex_attention(*_qkv(lib, (1, 4, 8, 4), (1, 2, 8, 4)))),
    "gqa_not_multiple": (lambda lib, fa: fa.flex_attention(*_qkv(lib, (1, 3, 8, 4),
                                                                 (1, 2, 8, 4)),
                                                           enable_gqa=True)),
    "batch_no_mask": (lambda lib, fa: fa.flex_attention(*_qkv(lib, (2, 2, 8, 4),
                                                              (1, 2, 8, 4)))),
    "batch_mask_mismatch": (lambda lib, fa: fa.flex_attention(*_qkv(lib, (2, 2, 8, 4),
                                                                    (1, 2, 8, 4)),
                                                              block_mask=_blk(lib, 8, 8))),
    "batch_not_broadcast": (lambda lib, fa: fa.flex_attention(*_qkv(lib, (2, 2, 8, 4),
                                                                    (3, 2, 8, 4)),
                                                              block_mask=_blk(lib, 8, 8, B=2))),
    "mask_too_small": (lambda lib, fa: fa.flex_attention(*_qkv(lib, (1, 2, 16, 4),
                                                               (1, 2, 16, 4)),
                                                         block_mask=_blk(lib, 8, 8))),
    "mask_too_large": (lambda lib, fa: fa.flex_attention(*_qkv(lib, (1, 2, 8, 4),
                                                               (1, 2, 8, 4)),
                                                         block_mask=_blk(lib, 8, 16))),
    "lse_and_aux": (lambda lib, fa: fa.flex_attention(*_qkv(lib, (1, 2, 8, 4), (1, 2, 8, 4)),
                                                      return_lse=True,
                                                      return_aux=fa.AuxRequest(lse=True))),
    "bad_backend": (lambda lib, fa: fa.flex_attention(*_qkv(lib, (1, 2, 8, 4), (1, 2, 8, 4)),
                                                      kernel_options={"BACKEND": "CUTE"})),
    "backend_and_force": (lambda lib, fa: fa.flex_attention(
        *_qkv(lib, (1, 2, 8, 4), (1, 2, 8, 4)),
        kernel_options={"BACKEND": "TRITON", "FORCE_USE_FLEX_ATTENTION": True})),
    "output_lse_option": (lambda lib, fa: fa.flex_attention(
        *_qkv(lib, (1, 2, 8, 4), (1, 2, 8, 4)), kernel_options={"OUTPUT_LOGSUMEXP": True})),
    "block_mask_of_score_mod": (lambda lib, fa: fa.create_block_mask(
        lambda s, b, h, q, k: s, 1, 1, 8, 8, device="cpu")),
    "mod_of_three_args": (lambda lib, fa: fa.create_mask(lambda b, q, k: q >= k, 1, 1, 8, 8,
                                                         device="cpu")),
    "mask_mod_not_bool": (lambda lib, fa: fa.create_block_mask(
        lambda b, h, q, k: q - k, 1, 1, 8, 8, device="cpu")),
    "dq_kv_order_not_bool": (lambda lib, fa: fa.create_block_mask(
        causal(lib)[1], 1, 1, 8, 8, device="cpu", dq_kv_order=1)),
    "block_mask_1d": (lambda lib, fa: fa.BlockMask.from_kv_blocks(
        lib.ones(2, dtype=lib.int32), lib.zeros(2, dtype=lib.int32))),
    "full_without_indices": (lambda lib, fa: fa.BlockMask.from_kv_blocks(
        lib.ones(1, 1, 2, dtype=lib.int32), lib.zeros(1, 1, 2, 2, dtype=lib.int32),
        full_kv_num_blocks=lib.ones(1, 1, 2, dtype=lib.int32))),
}


def _qkv(lib, qshape, kshape):
    return T(lib, arr(*qshape)), T(lib, arr(*kshape)), T(lib, arr(*kshape))


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors(name):
    fn = ERRORS[name]
    with pytest.raises(Exception) as te:
        fn(torch, TFA)
    with pytest.raises(type(te.value)) as ee:
        fn(ember, EFA)
    def first_line(e):   # the addresses of the lambdas named differ
        return re.sub(r"0x[0-9a-f]+", "0x", str(e.value).split("\n")[0])
    assert first_line(ee) == first_line(te).replace("torch.", "ember.")


def test_backward_where_torch_cpu_refuses():
    """torch's CPU front end raises NotImplementedError for inputs that require grad;
    ember computes (the gradients are test_gradients')."""
    q = arr(1, 2, 8, 4)
    with pytest.raises(NotImplementedError, match="backward on CPU"):
        x = torch.from_numpy(q).requires_grad_()
        TFA.flex_attention(x, x, x)
    x = T(ember, Grad(q))
    EFA.flex_attention(x, x, x).sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape


def test_return_lse_warns_once(monkeypatch):
    monkeypatch.setattr(EFA, "_WARNINGS_SHOWN", set())
    x = T(ember, arr(1, 1, 4, 4))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        EFA.flex_attention(x, x, x, return_lse=True)
        EFA.flex_attention(x, x, x, return_lse=True)
    assert [w.category for w in caught] == [FutureWarning]


def test_create_block_mask_compile_flag_warns():
    with pytest.warns(DeprecationWarning, match="_compile flag"):
        bm = EFA.create_block_mask(causal(ember)[1], 1, 1, 8, 8, device=dev(), BLOCK_SIZE=4,
                                   _compile=True)
    assert bm.kv_num_blocks.tolist() == [[[1, 1]]]


def test_public_names():
    assert EFA.__all__ == TFA.__all__
    for name in ("_mask_mod_signature", "_score_mod_signature", "_DEFAULT_SPARSE_BLOCK_SIZE",
                 "_LARGE_SPARSE_BLOCK_SIZE", "_vmap_for_bhqkv", "_create_empty_block_mask",
                 "_identity", "FlexKernelOptions", "_FLEX_ATTENTION_DISABLE_COMPILE_DEBUG"):
        assert hasattr(EFA, name)
    assert EFA._DEFAULT_SPARSE_BLOCK_SIZE == TFA._DEFAULT_SPARSE_BLOCK_SIZE
    assert EFA._LARGE_SPARSE_BLOCK_SIZE == TFA._LARGE_SPARSE_BLOCK_SIZE


def test_gradcheck_second_order():
    """Numeric first and second derivatives (float64) through a soft-capped, causally
    masked flex attention with a learnable bias table and lse in the loss."""
    q, k, v = (T(ember, Grad(arr(1, 2, 4, 3, dtype=np.float64))) for _ in range(3))
    table = T(ember, Grad(arr(4, 4, dtype=np.float64)))
    mask = EFA.create_block_mask(causal(ember)[1], 1, 2, 4, 4, device=dev(), BLOCK_SIZE=2)

    def f(q, k, v, table):
        out, aux = EFA.flex_attention(
            q, k, v, block_mask=mask, return_aux=EFA.AuxRequest(lse=True),
            score_mod=lambda s, b, h, qi, ki: ember.tanh(s / 2.0) * 2.0 + table[qi, ki])
        return out, aux.lse

    assert ember.autograd.gradcheck(f, (q, k, v, table))
    assert ember.autograd.gradgradcheck(f, (q, k, v, table))


def test_device_mismatch_errors():
    """q, k, v on different devices: ValueError; a BlockMask on another device than q:
    RuntimeError (torch's words; its CPU-only oracle cannot run these)."""
    if dev() == "cpu":
        pytest.skip("needs a second device (the CUDA case)")
    x = T(ember, arr(1, 2, 8, 4))
    y = x.cpu()
    with pytest.raises(ValueError, match="same device type"):
        EFA.flex_attention(x, y, y)
    mask = EFA.create_block_mask(causal(ember)[1], 1, 2, 8, 8, device="cpu", BLOCK_SIZE=4)
    with pytest.raises(RuntimeError, match="Expect q/k/v and block_mask to be on the same "
                                           "device but got cuda:0 and cpu"):
        EFA.flex_attention(x, x, x, block_mask=mask)
    assert_same(EFA.flex_attention(x, x, x, block_mask=mask.to(dev())),
                TFA.flex_attention(*(T(torch, arr_) for arr_ in [x.cpu().numpy()] * 3),
                                   block_mask=TFA.create_block_mask(
                                       causal(torch)[1], 1, 2, 8, 8, device="cpu",
                                       BLOCK_SIZE=4)))
