"""Differential probe of ember.jit.load: models traced and scripted by real torch, saved
with torch.jit.save, loaded by torch.jit.load and by ember.jit.load, and run on the same
inputs (under no_grad, where scripted transformers take their fused fast path, and with
grad enabled). Prints the largest output difference per model and archive kind, or the
exception ember raised (an unsupported op names itself).

A probe for finding defects, not a test (each defect found gets a regression test in
tests/test_jit_archive.py):

    nice -n 5 python -m bench.jit_archive_sweep [model names...]
    nice -n 5 python -m bench.jit_archive_sweep --save [ember.vision model names...]

"TORCH FAILS" marks models torch itself cannot script or trace.
"""
import io
import sys
import traceback
import types
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import ember

warnings.simplefilter("ignore")
# torchvision's compiled extension cannot load on the CPU-only oracle (tests/vision/_tv.py)
sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("x"))
import torchvision  # noqa: E402


class Upsampling(nn.Module):
    """Transposed and 1-d convolution, interpolation, pooling, activations."""

    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1)
        self.conv1d = nn.Conv1d(4, 4, 3, padding=1)

    def forward(self, x):
        y = F.interpolate(self.up(x), scale_factor=2, mode="nearest")
        y2 = F.interpolate(x, size=(5, 5), mode="bilinear", align_corners=False)
        z = self.conv1d(y.flatten(2)[..., :10])
        acts = (F.gelu(x), F.silu(x), F.hardtanh(x), F.leaky_relu(x, 0.2), F.elu(x),
                x.clamp(-0.5, 0.5), torch.sigmoid(x) * torch.tanh(x))
        return (y.mean(), y2, z, F.adaptive_max_pool2d(x, 2), F.avg_pool2d(x, 2)) + acts


class Tokens(nn.Module):
    """Embedding, LayerNorm, GRU, GroupNorm and shape ops on a token batch."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 8)
        self.ln = nn.LayerNorm(8)
        self.gru = nn.GRU(8, 8, batch_first=True)
        self.gn = nn.GroupNorm(2, 8)

    def forward(self, idx):
        out, _ = self.gru(self.ln(self.emb(idx)))
        flat = out.reshape(-1, 4)
        return (self.gn(out.permute(0, 2, 1)).softmax(1).log_softmax(-1), out.max(1)[0],
                torch.stack([out.sum(), out.mean()]), flat.t().matmul(flat),
                torch.chunk(out, 2, -1)[1], out.unsqueeze(1).squeeze(1).expand(2, 3, 8))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)

    def forward(self, x):
        return self.layer(x)


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x):
        return self.mha(x, x, x)[0]


class Misc(nn.Module):
    """Factories, dtype conversions, boolean-mask indexing, reductions, arithmetic."""

    def forward(self, x):
        made = (x.new_zeros(3), torch.zeros_like(x), torch.ones(2, dtype=torch.float64),
                torch.arange(4))
        converted = (x.to(torch.float64), x.double().float(), x.int().float())
        picked = (x[x > 0].sum(), torch.where(x > 0, x, torch.zeros_like(x)),
                  x.masked_fill(x < 0, 0.0), x.split(1, 0)[0])
        reduced = (x.norm(), x.argmax(1), x.cumsum(0), torch.cat([x, x], 0).view(-1))
        arith = (x.abs().sqrt(), (x ** 2).exp().log(), x // 0.3, x % 0.3,
                 torch.bmm(x.unsqueeze(0), x.t().unsqueeze(0)), torch.einsum("ij,kj->ik", x, x))
        return made + converted + picked + reduced + arith


def _tv(name, size, **kwargs):
    return (lambda: getattr(torchvision.models, name)(num_classes=5, **kwargs),
            (torch.randn(1, 3, size, size),))


CASES = {
    "upsampling": (Upsampling, (torch.randn(1, 3, 5, 5),)),
    "tokens": (Tokens, (torch.randint(0, 10, (2, 3)),)),
    "encoder": (Encoder, (torch.randn(2, 3, 8),)),
    "attention": (Attention, (torch.randn(2, 3, 8),)),
    "misc": (Misc, (torch.randn(3, 4),)),
    "mobilenet_v2": _tv("mobilenet_v2", 32),
    "squeezenet1_0": _tv("squeezenet1_0", 64),
    "densenet121": _tv("densenet121", 32),
    "vgg11": _tv("vgg11", 32),
    "efficientnet_b0": _tv("efficientnet_b0", 32),
    "shufflenet_v2_x0_5": _tv("shufflenet_v2_x0_5", 32),
    "googlenet": _tv("googlenet", 64, aux_logits=False, init_weights=True),
    "regnet_y_400mf": _tv("regnet_y_400mf", 32),
    "convnext_tiny": _tv("convnext_tiny", 32),
    "vit": (lambda: torchvision.models.VisionTransformer(32, 8, 2, 2, 16, 32, num_classes=5),
            (torch.randn(1, 3, 32, 32),)),
}


def to_ember(args):
    return tuple(ember.tensor(v.numpy()) if isinstance(v, torch.Tensor) else v for v in args)


def max_diff(e, t):
    """The largest |ember - torch| over matching outputs (shapes and dtypes must agree)."""
    if isinstance(t, (tuple, list)):
        return max([max_diff(a, b) for a, b in zip(e, t)] + [0.0])
    if isinstance(t, torch.Tensor):
        assert tuple(e.shape) == tuple(t.shape), (e.shape, t.shape)
        assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], (e.dtype, t.dtype)
        if not t.numel():
            return 0.0
        a = e.detach().numpy().astype(np.float64)
        return float(np.abs(a - t.detach().numpy().astype(np.float64)).max())
    assert e == t, (e, t)
    return 0.0


def probe(name, make, args):
    torch.manual_seed(0)
    model = make().eval()
    for how in ("trace", "script"):
        try:
            if how == "trace":
                compiled = torch.jit.trace(model, args, check_trace=False)
            else:
                compiled = torch.jit.script(model)
        except Exception as ex:
            print(f"{name:20s} {how:6s} TORCH FAILS {type(ex).__name__}")
            continue
        buf = io.BytesIO()
        torch.jit.save(compiled, buf)
        buf.seek(0)
        try:
            loaded = ember.jit.load(buf)
            with torch.no_grad():
                expected = compiled(*args)
            with ember.no_grad():
                diff = max_diff(loaded(*to_ember(args)), expected)
            diff = max(diff, max_diff(loaded(*to_ember(args)), compiled(*args)))
            print(f"{name:20s} {how:6s} max diff {diff:.2e}")
        except Exception as ex:
            frame = traceback.extract_tb(ex.__traceback__)[-1]
            print(f"{name:20s} {how:6s} FAIL {type(ex).__name__}: {str(ex)[:200]} "
                  f"@{frame.name}:{frame.lineno}")


SAVED = ["resnet18", "mobilenet_v2", "vgg11", "squeezenet1_0", "densenet121",
         "efficientnet_b0", "shufflenet_v2_x0_5", "regnet_y_400mf", "convnext_tiny",
         "mobilenet_v3_small", "vit_b_16", "swin_t"]


def probe_save(name):
    """ember.jit.save of an ember.vision model, read back by torch.jit.load."""
    from ember.vision import models
    ember.manual_seed(0)
    model = getattr(models, name)(num_classes=5).eval()
    size = 224 if name in ("vit_b_16", "swin_t") else 32
    x = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)
    buf = io.BytesIO()
    try:
        ember.jit.save(model, buf)
        buf.seek(0)
        loaded = torch.jit.load(buf)
        with ember.no_grad():
            expected = model(ember.tensor(x))
        with torch.no_grad():
            diff = max_diff(expected, loaded(torch.tensor(x)))
        print(f"{name:20s} save   max diff {diff:.2e}")
    except Exception as ex:
        print(f"{name:20s} save   FAIL {type(ex).__name__}: {str(ex)[:200]}")


def main(names):
    if names[:1] == ["--save"]:
        for name in names[1:] or SAVED:
            probe_save(name)
        return
    for name, (make, args) in CASES.items():
        if not names or name in names:
            probe(name, make, args)


if __name__ == "__main__":
    main(sys.argv[1:])
