"""ember.jit.save of a TransformerEncoder (and its layers) called with masks: an
attention mask, a key padding mask, both, bool or float; in eval mode without gradients
PyTorch's encoder runs on a nested tensor and zeroes the padded rows, and the archive
does the same at run time. Checked in real torch.jit.load and in ember.jit.load; a
torch-scripted encoder called with masks loads in ember."""
import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
from tests.jit_roundtrip import save_and_load, to_torch  # noqa: E402

nn = ember.nn


class Masked(nn.Module):
    def __init__(self, **kw):
        super().__init__()
        self.emb = nn.Embedding(20, 8)
        self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, **kw), 2,
                                         norm=nn.LayerNorm(8))

    def forward(self, x, mask, pad):
        return self.enc(self.emb(x), mask=mask, src_key_padding_mask=pad)


class PadOnly(Masked):
    def forward(self, x, pad):
        return self.enc(self.emb(x), src_key_padding_mask=pad)


class MaskOnly(Masked):
    def forward(self, x, mask):
        return self.enc(self.emb(x), mask)


def inputs(kind, batch_first, float_masks=False, aligned=True):
    ember.manual_seed(3)
    x = ember.randint(0, 20, (2, 5) if batch_first else (5, 2))
    pad = ember.tensor([[False] * 5, [False] * 3 + [True] * 2] if aligned else
                       [[False] * 5, [True, False, False, True, False]])
    mask = nn.Transformer.generate_square_subsequent_mask(5)   # float, -inf above
    if not float_masks:
        mask = mask != 0
    else:
        pad = ember.zeros(2, 5).masked_fill(pad, float("-inf"))
    return {"Masked": (x, mask, pad), "PadOnly": (x, pad), "MaskOnly": (x, mask)}[kind]


CASES = [("Masked", {"batch_first": True}, {}),
         ("Masked", {"batch_first": True, "norm_first": True}, {"float_masks": True}),
         ("Masked", {}, {}),
         ("PadOnly", {"batch_first": True}, {}),
         ("PadOnly", {"batch_first": True}, {"aligned": False}),
         ("PadOnly", {"dropout": 0.0}, {"float_masks": True}),
         ("MaskOnly", {"batch_first": True, "activation": nn.GELU()}, {})]


@pytest.mark.parametrize("grad", [True, False])
@pytest.mark.parametrize("kind,kw,how", CASES)
def test_encoder_with_masks(kind, kw, how, grad):
    ember.manual_seed(0)
    model = {"Masked": Masked, "PadOnly": PadOnly, "MaskOnly": MaskOnly}[kind](**kw).eval()
    theirs, back = save_and_load(model)
    args = inputs(kind, kw.get("batch_first", False), **how)
    with ember.set_grad_enabled(grad), torch.set_grad_enabled(grad):
        ours = model(*args).detach().numpy()
        got = theirs(*[to_torch(a) for a in args]).detach().numpy()
        again = back(*args).detach().numpy()
    np.testing.assert_allclose(got, ours, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(again, ours, rtol=1e-5, atol=1e-6)


def test_nested_path_zeroes_padded_rows_in_both():
    # eval, no gradient, a left-aligned padding mask: PyTorch's nested-tensor path
    ember.manual_seed(0)
    model = PadOnly(batch_first=True).eval()
    model.enc.norm = None
    theirs, back = save_and_load(model)
    x, pad = inputs("PadOnly", True)
    with ember.no_grad(), torch.no_grad():
        got = theirs(to_torch(x), to_torch(pad)).numpy()
        again = back(x, pad).numpy()
        ours = model(x, pad).numpy()
    assert (got[1, 3:] == 0).all() and (ours[1, 3:] == 0).all() and (again[1, 3:] == 0).all()
    np.testing.assert_allclose(got, ours, rtol=1e-5, atol=1e-5)
    # in training mode (no nested path) the padded rows are computed
    theirs.train()
    back.train()
    model.train()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    with ember.no_grad(), torch.no_grad():
        assert np.abs(back(x, pad).numpy()[1, 3:]).sum() > 0


def test_layer_called_with_a_mask():
    class OneLayer(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)

        def forward(self, x, mask):
            return self.layer(x, src_mask=mask)

    ember.manual_seed(2)
    model = OneLayer().eval()
    theirs, back = save_and_load(model)
    x = ember.randn(2, 5, 8)
    mask = nn.Transformer.generate_square_subsequent_mask(5)
    ours = model(x, mask).detach().numpy()
    np.testing.assert_allclose(theirs(to_torch(x), to_torch(mask)).detach().numpy(), ours,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(back(x, mask).detach().numpy(), ours, rtol=1e-5, atol=1e-6)


class TorchMasked(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = torch.nn.TransformerEncoder(
            torch.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2)

    def forward(self, x, mask, pad):
        return self.enc(x, mask=mask, src_key_padding_mask=pad)


def test_torch_scripted_encoder_with_masks_loads_in_ember():
    torch.manual_seed(0)
    model = torch.jit.script(TorchMasked().eval())
    buf = io.BytesIO()
    torch.jit.save(model, buf)
    buf.seek(0)
    back = ember.jit.load(buf)
    x = torch.randn(2, 5, 8)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5)
    pad = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    want = model(x, mask, pad).detach().numpy()
    got = back(*[ember.tensor(a.numpy()) for a in (x, mask, pad)]).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


class TorchPadOnly(torch.nn.Module):
    def __init__(self, **kw):
        super().__init__()
        self.enc = torch.nn.TransformerEncoder(
            torch.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, **kw), 2)

    def forward(self, x, pad):
        return self.enc(x, src_key_padding_mask=pad)


@pytest.mark.parametrize("kw", [{}, {"activation": "gelu"}])
@pytest.mark.parametrize("grad", [True, False])
def test_torch_scripted_encoder_nested_path_runs_in_ember(grad, kw):
    # eval, no gradient, a padding mask: torch's script takes the nested-tensor path
    # (torch._nested_tensor_from_mask, the fused layer on nested input, to_padded_tensor)
    torch.manual_seed(0)
    model = torch.jit.script(TorchPadOnly(**kw).eval())
    buf = io.BytesIO()
    torch.jit.save(model, buf)
    buf.seek(0)
    back = ember.jit.load(buf)
    x = torch.randn(3, 5, 8)
    pad = torch.tensor([[False] * 5, [False] * 3 + [True] * 2, [False] + [True] * 4])
    with torch.set_grad_enabled(grad), ember.set_grad_enabled(grad):
        want = model(x, pad).detach().numpy()
        got = back(ember.tensor(x.numpy()), ember.tensor(pad.numpy())).detach().numpy()
    assert (want[1, 3:] == 0).all() != grad
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


class Decoder(nn.Module):
    def __init__(self, **kw):
        super().__init__()
        self.dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, **kw), 2,
                                         norm=nn.LayerNorm(8))

    def forward(self, tgt, memory, tgt_mask, memory_pad):
        return self.dec(tgt, memory, tgt_mask=tgt_mask, memory_key_padding_mask=memory_pad)


class Seq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 8)
        self.t = nn.Transformer(8, 2, 2, 2, 16, batch_first=True)
        self.out = nn.Linear(8, 20)

    def forward(self, src, tgt, tgt_mask, src_pad):
        h = self.t(self.emb(src), self.emb(tgt), tgt_mask=tgt_mask, src_key_padding_mask=src_pad,
                   memory_key_padding_mask=src_pad)
        return self.out(h)


@pytest.mark.parametrize("kw", [{"batch_first": True}, {"norm_first": True, "batch_first": True},
                                {}])
def test_decoder_with_masks(kw):
    ember.manual_seed(5)
    model = Decoder(**kw).eval()
    theirs, back = save_and_load(model)
    first = kw.get("batch_first", False)
    tgt = ember.randn(2, 4, 8) if first else ember.randn(4, 2, 8)
    memory = ember.randn(2, 6, 8) if first else ember.randn(6, 2, 8)
    args = (tgt, memory, nn.Transformer.generate_square_subsequent_mask(4),
            ember.tensor([[False] * 6, [False] * 4 + [True] * 2]))
    ours = model(*args).detach().numpy()
    np.testing.assert_allclose(theirs(*[to_torch(a) for a in args]).detach().numpy(), ours,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(back(*args).detach().numpy(), ours, rtol=1e-5, atol=1e-6)


def test_seq2seq_transformer():
    ember.manual_seed(6)
    model = Seq2Seq().eval()
    theirs, back = save_and_load(model)
    src, tgt = ember.randint(0, 20, (2, 6)), ember.randint(0, 20, (2, 4))
    args = (src, tgt, nn.Transformer.generate_square_subsequent_mask(4),
            ember.tensor([[False] * 6, [False] * 5 + [True]]))
    for grad in (True, False):
        with ember.set_grad_enabled(grad), torch.set_grad_enabled(grad):
            ours = model(*args).detach().numpy()
            got = theirs(*[to_torch(a) for a in args]).detach().numpy()
            again = back(*args).detach().numpy()
        np.testing.assert_allclose(got, ours, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(again, ours, rtol=1e-5, atol=1e-6)


class Attention(nn.Module):
    def __init__(self, **kw):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, **kw)

    def forward(self, q, k, v, mask, pad):
        return self.attn(q, k, v, attn_mask=mask, key_padding_mask=pad)


@pytest.mark.parametrize("kw", [
    {"kdim": 5, "vdim": 3, "batch_first": True},
    {"kdim": 4, "vdim": 6, "bias": False},
    {"add_bias_kv": True},
    {"add_zero_attn": True, "batch_first": True},
    {"kdim": 5, "vdim": 3, "add_bias_kv": True, "add_zero_attn": True},
])
@pytest.mark.parametrize("float_masks", [False, True])
def test_multihead_attention_variants(kw, float_masks):
    ember.manual_seed(7)
    model = Attention(**kw).eval()
    theirs, back = save_and_load(model)
    first = kw.get("batch_first", False)
    kdim, vdim = kw.get("kdim", 8), kw.get("vdim", 8)

    def seq(length, width):
        return ember.randn(2, length, width) if first else ember.randn(length, 2, width)
    pad = ember.tensor([[False] * 4, [False, False, False, True]])
    mask = ember.tensor([[False, True, False, False]] * 3)
    if float_masks:
        pad = ember.zeros(2, 4).masked_fill(pad, float("-inf"))
        mask = ember.zeros(3, 4).masked_fill(mask, float("-inf"))
    args = (seq(3, 8), seq(4, kdim), seq(4, vdim), mask, pad)
    ours = model(*args)
    got = theirs(*[to_torch(a) for a in args])
    again = back(*args)
    for o, g, a in zip(ours, got, again):
        np.testing.assert_allclose(g.detach().numpy(), o.detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(a.detach().numpy(), o.detach().numpy(), rtol=1e-6, atol=1e-7)
