"""ember.jit.save of transformer modules saved on their own (TransformerEncoderLayer,
TransformerEncoder as the root) and of attention where a query's every key is masked:
PyTorch gives that query zero attention on its op-by-op path (scaled_dot_product_attention,
taken with a gradient to record or in training) and NaN on its fused fast path (eval, no
gradient, self-attention); the archive, in real torch.jit.load and in ember.jit.load,
does the same as real PyTorch's module with the same weights, in both modes. Also the
nn.RMSNorm / F.kl_div (batchmean) / F.triplet_margin_loss forms."""
import contextlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
from tests.jit_roundtrip import save_and_load, to_torch  # noqa: E402

nn = ember.nn


def twin(make_torch, make_ember):
    """A torch module and an ember one with the same weights, both in eval mode."""
    theirs = make_torch().eval()
    ours = make_ember()
    ours.load_state_dict({k: ember.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})
    return theirs, ours.eval()


def first(out):
    return (out[0] if isinstance(out, tuple) else out).detach().numpy()


MASK = [[False, False, True], [True, True, True]]   # the second sequence: every key barred


def run_both_modes(torch_model, archive_t, archive_e, x, **masks):
    for grad in (True, False):
        t_ctx = contextlib.nullcontext() if grad else torch.no_grad()
        e_ctx = contextlib.nullcontext() if grad else ember.no_grad()
        tm = {k: to_torch(v) for k, v in masks.items()}
        with t_ctx:
            want = first(torch_model(to_torch(x), **tm))
            got = first(archive_t(to_torch(x), **tm))
        with e_ctx:
            again = first(archive_e(x, **masks))
        # no gradient: PyTorch's fused path, NaN for the fully masked sequence
        assert np.isnan(want[1]).all() != grad
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(again, want, rtol=1e-5, atol=1e-5)


def test_encoder_layer_as_root_with_a_fully_masked_sequence():
    torch.manual_seed(0)
    tm, em = twin(lambda: torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0,
                                                           batch_first=True),
                  lambda: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True))
    archive_t, archive_e = save_and_load(em)
    x = ember.randn(2, 3, 8)
    run_both_modes(tm, archive_t, archive_e, x,
                   src_key_padding_mask=ember.tensor(MASK))
    with torch.no_grad():   # no mask: the root's forward without one
        np.testing.assert_allclose(archive_t(to_torch(x)).numpy(), tm(to_torch(x)).numpy(),
                                   rtol=1e-5, atol=1e-5)


def test_encoder_as_root():
    torch.manual_seed(0)

    def make(lib):
        layer = lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
        return lib.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    tm, em = twin(lambda: make(torch), lambda: make(ember))
    archive_t, archive_e = save_and_load(em)
    run_both_modes(tm, archive_t, archive_e, ember.randn(2, 3, 8),
                   src_key_padding_mask=ember.tensor(MASK))


def test_self_attention_with_a_fully_masked_query():
    torch.manual_seed(0)
    tm, em = twin(lambda: torch.nn.MultiheadAttention(8, 2, batch_first=True),
                  lambda: nn.MultiheadAttention(8, 2, batch_first=True))
    archive_t, archive_e = save_and_load(em)
    x = ember.randn(2, 3, 8)
    pad = ember.tensor(MASK)
    for grad in (True, False):
        for need in (False, True):
            t_ctx = contextlib.nullcontext() if grad else torch.no_grad()
            e_ctx = contextlib.nullcontext() if grad else ember.no_grad()
            with t_ctx:
                xt = to_torch(x)
                want = tm(xt, xt, xt, key_padding_mask=to_torch(pad), need_weights=need)
                got = archive_t(xt, xt, xt, key_padding_mask=to_torch(pad), need_weights=need)
            with e_ctx:
                again = archive_e(x, x, x, key_padding_mask=pad, need_weights=need)
            for w, g, a in zip(want, got, again):
                if w is None:
                    assert g is None and a is None
                    continue
                w, g, a = (v.detach().numpy() for v in (w, g, a))
                np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
                np.testing.assert_allclose(a, w, rtol=1e-5, atol=1e-5)


def test_cross_attention_never_takes_the_fast_path():
    torch.manual_seed(0)
    tm, em = twin(lambda: torch.nn.MultiheadAttention(8, 2, batch_first=True),
                  lambda: nn.MultiheadAttention(8, 2, batch_first=True))
    archive_t, archive_e = save_and_load(em)
    q, kv = ember.randn(2, 2, 8), ember.randn(2, 3, 8)
    pad = ember.tensor(MASK)
    with torch.no_grad():
        want = tm(to_torch(q), to_torch(kv), to_torch(kv), key_padding_mask=to_torch(pad),
                  need_weights=False)[0].numpy()
        got = archive_t(to_torch(q), to_torch(kv), to_torch(kv),
                        key_padding_mask=to_torch(pad), need_weights=False)[0].numpy()
    assert not np.isnan(want).any()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    with ember.no_grad():
        again = archive_e(q, kv, kv, key_padding_mask=pad, need_weights=False)[0].numpy()
    np.testing.assert_allclose(again, want, rtol=1e-5, atol=1e-5)


class Norms(nn.Module):
    def __init__(self):
        super().__init__()
        self.rms = nn.RMSNorm([3, 4], eps=1e-3)
        self.plain = nn.RMSNorm(4, elementwise_affine=False)

    def forward(self, x, p, q):
        F = nn.functional
        return (self.rms(x), self.plain(x), F.rms_norm(x, (4,), eps=0.5),
                F.kl_div(p, q, reduction="batchmean"),
                F.kl_div(p, p, reduction="sum", log_target=True),
                F.triplet_margin_loss(x, p, q, margin=0.5, p=1.0, swap=True))


def test_rms_norm_kl_div_and_triplet_loss():
    model = Norms()
    with ember.no_grad():
        model.rms.weight.uniform_()
    theirs, back = save_and_load(model)
    x = ember.randn(2, 3, 4)
    p, q = ember.randn(2, 3, 4).log_softmax(-1), ember.randn(2, 3, 4).softmax(-1)
    want = [w.detach().numpy() for w in model(x, p, q)]
    got = [g.detach().numpy() for g in theirs(to_torch(x), to_torch(p), to_torch(q))]
    again = [a.detach().numpy() for a in back(x, p, q)]
    tf = torch.nn.functional
    oracle = [tf.rms_norm(to_torch(x), [3, 4], to_torch(model.rms.weight.detach()), 1e-3),
              tf.rms_norm(to_torch(x), [4]), tf.rms_norm(to_torch(x), (4,), eps=0.5),
              tf.kl_div(to_torch(p), to_torch(q), reduction="batchmean"),
              tf.kl_div(to_torch(p), to_torch(p), reduction="sum", log_target=True),
              tf.triplet_margin_loss(to_torch(x), to_torch(p), to_torch(q), margin=0.5, p=1.0,
                                     swap=True)]
    for w, g, a, o in zip(want, got, again, oracle):
        np.testing.assert_allclose(w, o.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(a, w, rtol=1e-6, atol=1e-7)
