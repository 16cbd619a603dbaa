"""ember.jit.save templates of more layers, read back by real torch.jit.load and by
ember.jit.load: instance norm, the padding layers, conv padding modes, Upsample,
pixel (un)shuffle, adaptive max pooling, feature/alpha dropout, batch norm with a
cumulative average, and activations (LogSigmoid, GLU, shrinks, Softmin, SELU, CELU,
Threshold; SELU/CELU/Threshold were written as calls torch could not compile)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
from tests.jit_roundtrip import save_and_load as _save_and_load  # noqa: E402


nn = ember.nn


def save_and_load(model):
    return _save_and_load(model, script=True)


def check(model, x, rtol=1e-5, atol=1e-6):
    model.eval()
    theirs, back = save_and_load(model)
    ours = model(x).detach().numpy()
    got = theirs(torch.from_numpy(np.array(x.numpy()))).detach().numpy()
    assert got.shape == ours.shape
    np.testing.assert_allclose(got, ours, rtol=rtol, atol=atol)
    np.testing.assert_allclose(back(x).detach().numpy(), ours, rtol=1e-6, atol=1e-7)


LAYERS = {
    "InstanceNorm2d": (lambda: nn.InstanceNorm2d(3), (2, 3, 5, 5)),
    "InstanceNorm2d affine, unbatched": (lambda: nn.InstanceNorm2d(3, affine=True), (3, 5, 5)),
    "InstanceNorm1d tracking stats": (lambda: nn.InstanceNorm1d(3, track_running_stats=True),
                                      (2, 3, 6)),
    "InstanceNorm3d": (lambda: nn.InstanceNorm3d(2), (1, 2, 3, 3, 3)),
    "ReflectionPad2d": (lambda: nn.ReflectionPad2d((1, 2, 0, 1)), (1, 3, 5, 5)),
    "ReflectionPad1d": (lambda: nn.ReflectionPad1d(2), (1, 3, 5)),
    "ReplicationPad2d": (lambda: nn.ReplicationPad2d(2), (1, 3, 4, 4)),
    "ReplicationPad3d": (lambda: nn.ReplicationPad3d(1), (1, 1, 3, 3, 3)),
    "CircularPad2d": (lambda: nn.CircularPad2d(1), (1, 3, 4, 4)),
    "ZeroPad2d": (lambda: nn.ZeroPad2d((1, 0, 2, 1)), (1, 3, 4, 4)),
    "ConstantPad1d": (lambda: nn.ConstantPad1d(2, 0.5), (1, 3, 6)),
    "Conv2d reflect": (lambda: nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"),
                       (1, 3, 6, 6)),
    "Conv2d replicate, asymmetric": (lambda: nn.Conv2d(3, 4, 3, padding=(1, 2),
                                                       padding_mode="replicate"), (1, 3, 6, 6)),
    "Conv1d circular": (lambda: nn.Conv1d(3, 4, 3, padding=2, padding_mode="circular"),
                        (2, 3, 6)),
    "Upsample nearest x2": (lambda: nn.Upsample(scale_factor=2), (1, 3, 4, 4)),
    "Upsample nearest, 1-d size": (lambda: nn.Upsample(size=7), (1, 3, 4)),
    "Upsample nearest-exact": (lambda: nn.Upsample(scale_factor=1.5, mode="nearest-exact"),
                               (1, 2, 4, 4)),
    "Upsample bilinear": (lambda: nn.Upsample(scale_factor=2, mode="bilinear"), (1, 3, 4, 4)),
    "Upsample bilinear align_corners size": (
        lambda: nn.Upsample(size=(5, 7), mode="bilinear", align_corners=True), (1, 3, 4, 4)),
    "Upsample trilinear": (lambda: nn.Upsample(scale_factor=2, mode="trilinear"),
                           (1, 1, 2, 3, 3)),
    "PixelShuffle": (lambda: nn.PixelShuffle(2), (1, 8, 3, 3)),
    "PixelUnshuffle": (lambda: nn.PixelUnshuffle(2), (1, 2, 4, 4)),
    "AdaptiveMaxPool2d": (lambda: nn.AdaptiveMaxPool2d(2), (1, 3, 5, 5)),
    "AdaptiveMaxPool1d": (lambda: nn.AdaptiveMaxPool1d(3), (2, 3, 7)),
    "Dropout2d (eval)": (lambda: nn.Dropout2d(), (1, 2, 3, 3)),
    "AlphaDropout (eval)": (lambda: nn.AlphaDropout(), (2, 3)),
    "LogSigmoid": (lambda: nn.LogSigmoid(), (2, 3)),
    "Unflatten": (lambda: nn.Unflatten(1, (2, 3)), (2, 6)),
    "GLU": (lambda: nn.GLU(), (2, 4)),
    "Hardshrink": (lambda: nn.Hardshrink(), (2, 3)),
    "Softshrink": (lambda: nn.Softshrink(0.3), (2, 3)),
    "Tanhshrink": (lambda: nn.Tanhshrink(), (2, 3)),
    "Softsign": (lambda: nn.Softsign(), (2, 3)),
    "Softmin": (lambda: nn.Softmin(1), (2, 3)),
    "SELU": (lambda: nn.SELU(), (2, 3)),
    "CELU": (lambda: nn.CELU(0.5), (2, 3)),
    "Threshold": (lambda: nn.Threshold(0.1, 20.0), (2, 3)),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_runs_in_torch(name):
    make, shape = LAYERS[name]
    ember.manual_seed(0)
    check(make(), ember.randn(*shape))


def test_style_transfer_generator():
    """The generator block of CycleGAN / fast style transfer: reflection padding, conv,
    instance norm, a residual block, transposed conv, tanh."""
    class Residual(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3),
                                      nn.InstanceNorm2d(c, affine=True), nn.ReLU(True),
                                      nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3),
                                      nn.InstanceNorm2d(c, affine=True))

        def forward(self, x):
            return x + self.body(x)

    ember.manual_seed(1)
    model = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(3, 4, 7),
                          nn.InstanceNorm2d(4, affine=True), nn.ReLU(True),
                          nn.Conv2d(4, 8, 3, stride=2, padding=1), Residual(8),
                          nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1),
                          nn.Upsample(scale_factor=1.0), nn.Conv2d(4, 3, 3, padding=1,
                                                                    padding_mode="reflect"),
                          nn.Tanh())
    check(model, ember.randn(1, 3, 8, 8), rtol=1e-4, atol=1e-5)


def test_batch_norm_cumulative_average_trains_as_torch():
    """momentum=None: the running statistics are the mean over the batches seen."""
    ember.manual_seed(2)
    model = nn.BatchNorm1d(3, momentum=None)
    theirs, _ = save_and_load(model)
    model.train()
    theirs.train()
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.standard_normal((4, 3)).astype(np.float32)
        ours = model(ember.tensor(x)).detach().numpy()
        got = theirs(torch.from_numpy(x)).detach().numpy()
        np.testing.assert_allclose(got, ours, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(theirs.running_mean.numpy(), model.running_mean.detach().numpy(),
                               rtol=1e-6)
    np.testing.assert_allclose(theirs.running_var.numpy(), model.running_var.detach().numpy(),
                               rtol=1e-6)
    assert int(theirs.num_batches_tracked) == int(model.num_batches_tracked) == 3
    model.eval()
    theirs.eval()
    x = rng.standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_allclose(theirs(torch.from_numpy(x)).detach().numpy(),
                               model(ember.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_feature_dropout_drops_whole_channels_in_training():
    model = nn.Dropout2d(0.5)
    theirs, _ = save_and_load(model)
    theirs.train()
    out = theirs(torch.ones(4, 6, 3, 3))
    per_channel = out.reshape(4, 6, 9)
    assert bool(((per_channel == 0).all(-1) | (per_channel == 2).all(-1)).all())


# (Upsample with recompute_scale_factor: tests/test_jit_functions_save_js.py)


class TextTransformer(nn.Module):
    """Embedding, a TransformerEncoder with a final norm, mean pooling, a classifier."""

    def __init__(self, **kw):
        super().__init__()
        self.emb = nn.Embedding(20, 16)
        self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 2, 32, **kw), 2,
                                         norm=nn.LayerNorm(16))
        self.fc = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc(self.enc(self.emb(x)).mean(1))


@pytest.mark.parametrize("kw", [{"batch_first": True, "dropout": 0.0},
                                {"batch_first": True, "norm_first": True,
                                 "activation": nn.GELU()},
                                {"batch_first": True, "activation": "gelu", "dropout": 0.0},
                                {}])
def test_transformer_encoder_without_masks(kw):
    # (activation="gelu": the layer keeps the function F.gelu was when it was built, which
    # ember.fx puts behind the __torch_function__ dispatcher while it traces)
    ember.manual_seed(4)
    model = TextTransformer(**kw)
    check(model, ember.randint(0, 20, (2, 5)), rtol=1e-4, atol=1e-5)


# (an encoder called with masks: tests/test_jit_transformer_save_js.py)


def test_functional_pad_pixel_shuffle_glu_in_a_forward():
    F = ember.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 8, 3)

        def forward(self, x):
            x = F.pad(x, (1, 1, 2, 0), mode="reflect")
            x = F.pad(x, [1, 1], value=0.5)
            y = F.pixel_shuffle(self.conv(F.pad(x, (1, 1, 1, 1))), 2)
            return F.glu(F.logsigmoid(y), dim=1) + 1, F.pixel_unshuffle(y, 2)

    ember.manual_seed(5)
    model = Net().eval()
    x = ember.randn(1, 4, 5, 5)
    theirs, back = save_and_load(model)
    got = theirs(torch.from_numpy(np.array(x.numpy())))
    for a, b, c in zip(model(x), got, back(x)):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(c.detach().numpy(), a.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_functional_interpolate_in_a_forward():
    """F.interpolate by mode, by scale or by size (a traced size too: the decoder of a
    U-Net matching its skip connection); a nearest upsampling by one number gets a branch
    per input rank."""
    F = ember.nn.functional

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 3, padding=1)

        def forward(self, x, skip):
            a = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            b = F.interpolate(self.conv(x), size=skip.shape[2:], mode="nearest") + skip
            c = F.interpolate(x, size=(5, 7), mode="bicubic", align_corners=True)
            d = F.interpolate(x, scale_factor=(2.0, 1.5))
            e = F.interpolate(x, scale_factor=3)
            f = F.interpolate(x.flatten(2), size=9, mode="linear")
            return a, b, c, d, e, f

    ember.manual_seed(6)
    model = Decoder().eval()
    x, skip = ember.randn(1, 3, 4, 4), ember.randn(1, 3, 8, 8)
    theirs, back = save_and_load(model)
    got = theirs(*[torch.from_numpy(np.array(t.numpy())) for t in (x, skip)])
    for a, b, c in zip(model(x, skip), got, back(x, skip)):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(c.detach().numpy(), a.detach().numpy(), rtol=1e-6, atol=1e-7)
    # (antialias and recompute_scale_factor: tests/test_jit_functions_save_js.py)
