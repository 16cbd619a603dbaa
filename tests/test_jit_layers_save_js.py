"""ember.jit.save of the less common layers (LPPool, LocalResponseNorm, FractionalMaxPool,
Bilinear, Fold/Unfold, ChannelShuffle, EmbeddingBag, Softmax2d, RReLU, CosineSimilarity,
PairwiseDistance, LSTM with proj_size): the archive
loads and runs in real torch.jit.load with ember's outputs, and ember.jit.load runs it
too; the same layers scripted by torch load in ember with torch's outputs."""
import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
from tests.jit_roundtrip import save_and_load as _save_and_load, to_torch  # noqa: E402


nn = ember.nn


def save_and_load(model):
    return _save_and_load(model, script=True)


def flat(out):
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in flat(o)]
    return [out.detach().numpy()]


def check(model, *xs, rtol=1e-5, atol=1e-6):
    model.eval()
    theirs, back = save_and_load(model)
    ours = flat(model(*xs))
    got = flat(theirs(*[to_torch(x) for x in xs]))
    again = flat(back(*xs))
    assert len(got) == len(ours) == len(again)
    for g, o, a in zip(got, ours, again):
        assert g.shape == o.shape
        np.testing.assert_allclose(g, o, rtol=rtol, atol=atol)
        np.testing.assert_allclose(a, o, rtol=1e-6, atol=1e-7)


def randn(*shape):
    return ember.randn(*shape)


def samples(*shape):
    return ember.rand(*shape)


LAYERS = {
    "LPPool2d": (lambda: nn.LPPool2d(2, 2), [(1, 3, 4, 4)]),
    "LPPool2d p=3 stride ceil": (lambda: nn.LPPool2d(3, (2, 3), stride=1, ceil_mode=True),
                                 [(2, 2, 5, 6)]),
    "LPPool1d": (lambda: nn.LPPool1d(1.5, 3, stride=2), [(2, 3, 7)]),
    "LPPool3d": (lambda: nn.LPPool3d(2, 2), [(1, 2, 4, 4, 4)]),
    "LocalResponseNorm 4-d": (lambda: nn.LocalResponseNorm(3), [(2, 5, 4, 4)]),
    "LocalResponseNorm 3-d": (lambda: nn.LocalResponseNorm(2, alpha=0.1, beta=0.5, k=2.0),
                              [(2, 6, 5)]),
    "LocalResponseNorm 5-d": (lambda: nn.LocalResponseNorm(4), [(1, 5, 2, 3, 3)]),
    "FractionalMaxPool2d given samples": (
        lambda: nn.FractionalMaxPool2d(2, output_size=3, _random_samples=samples(2, 3, 2)),
        [(2, 3, 7, 7)]),
    "FractionalMaxPool2d ratio, indices": (
        lambda: nn.FractionalMaxPool2d((2, 3), output_ratio=(0.5, 0.6), return_indices=True,
                                       _random_samples=samples(1, 2, 2)), [(1, 2, 8, 9)]),
    "FractionalMaxPool3d": (
        lambda: nn.FractionalMaxPool3d(2, output_size=(2, 3, 2),
                                       _random_samples=samples(1, 2, 3)), [(1, 2, 5, 6, 5)]),
    "Bilinear": (lambda: nn.Bilinear(3, 4, 5), [(2, 3), (2, 4)]),
    "Bilinear no bias": (lambda: nn.Bilinear(2, 2, 3, bias=False), [(4, 2), (4, 2)]),
    "Fold": (lambda: nn.Fold((4, 5), 2), [(1, 12, 12)]),
    "Fold stride padding": (lambda: nn.Fold((5, 5), (2, 3), stride=2, padding=1),
                            [(2, 6, 9)]),
    "Unfold": (lambda: nn.Unfold(2, dilation=1, padding=1, stride=2), [(1, 3, 4, 4)]),
    "ChannelShuffle": (lambda: nn.ChannelShuffle(2), [(1, 4, 2, 2)]),
    "Softmax2d": (lambda: nn.Softmax2d(), [(2, 3, 2, 2)]),
    "Softmax2d unbatched": (lambda: nn.Softmax2d(), [(3, 2, 2)]),
    "RReLU (eval)": (lambda: nn.RReLU(0.1, 0.3), [(2, 5)]),
    "CosineSimilarity": (lambda: nn.CosineSimilarity(dim=0, eps=1e-6), [(3, 4), (3, 4)]),
    "PairwiseDistance": (lambda: nn.PairwiseDistance(p=1.0, keepdim=True), [(3, 4), (3, 4)]),
    "LSTM proj_size": (lambda: nn.LSTM(3, 5, proj_size=2), [(4, 1, 3)]),
    "LSTM proj_size 2 layers bidirectional batch_first": (
        lambda: nn.LSTM(3, 6, num_layers=2, proj_size=4, bidirectional=True, batch_first=True),
        [(2, 5, 3)]),
    "LSTM proj_size unbatched": (lambda: nn.LSTM(3, 5, proj_size=2), [(4, 3)]),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_runs_in_torch(name):
    make, shapes = LAYERS[name]
    ember.manual_seed(0)
    model = make()
    check(model, *[randn(*s) for s in shapes])


def bags():
    return nn.EmbeddingBag(10, 3, mode="sum")


@pytest.mark.parametrize("kw", [{}, {"mode": "sum"}, {"mode": "max"},
                                {"mode": "mean", "padding_idx": 2},
                                {"mode": "sum", "include_last_offset": True}])
def test_embedding_bag_with_offsets_and_without(kw):
    ember.manual_seed(0)
    model = nn.EmbeddingBag(10, 3, **kw).eval()
    theirs, back = save_and_load(model)
    idx = ember.tensor([1, 2, 4, 5, 4, 3, 2, 9])
    offsets = ember.tensor([0, 3, 5])
    ours = model(idx, offsets).detach().numpy()
    np.testing.assert_allclose(theirs(to_torch(idx), to_torch(offsets)).detach().numpy(), ours,
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(back(idx, offsets).detach().numpy(), ours)
    if not kw.get("include_last_offset"):
        two_d = ember.tensor([[1, 2, 4], [4, 3, 2]])
        ours = model(two_d).detach().numpy()
        np.testing.assert_allclose(theirs(to_torch(two_d)).detach().numpy(), ours, rtol=1e-6,
                                   atol=1e-7)
        np.testing.assert_allclose(back(two_d).detach().numpy(), ours)


def test_embedding_bag_per_sample_weights_and_errors():
    model = nn.EmbeddingBag(10, 3, mode="sum").eval()
    theirs, back = save_and_load(model)
    idx = ember.tensor([[1, 2, 4], [4, 3, 2]])
    w = ember.rand(2, 3)
    ours = model(idx, per_sample_weights=w).detach().numpy()
    got = theirs(to_torch(idx), per_sample_weights=to_torch(w)).detach().numpy()
    np.testing.assert_allclose(got, ours, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(back(idx, None, w).detach().numpy(), ours, rtol=1e-6)
    # a 1-D input without offsets: torch.jit.Error naming the ValueError, in both
    with pytest.raises(torch.jit.Error, match="ValueError: offsets has to be a 1D Tensor"):
        theirs(to_torch(idx[0]))
    with pytest.raises(ember.jit.Error, match="ValueError: offsets has to be a 1D Tensor"):
        back(idx[0])


def test_embedding_bag_in_a_model():
    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.bag = nn.EmbeddingBag(20, 4)
            self.fc = nn.Linear(4, 2)

        def forward(self, text, offsets):
            return self.fc(self.bag(text, offsets))

    ember.manual_seed(1)
    model = Classifier().eval()
    theirs, back = save_and_load(model)
    text, offsets = ember.tensor([3, 1, 4, 1, 5, 9, 2]), ember.tensor([0, 2, 6])
    ours = model(text, offsets).detach().numpy()
    np.testing.assert_allclose(theirs(to_torch(text), to_torch(offsets)).detach().numpy(), ours,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(back(text, offsets).detach().numpy(), ours, rtol=1e-6)


def test_fractional_max_pool_without_samples_draws_per_call():
    model = nn.FractionalMaxPool2d(2, output_size=(3, 4)).eval()
    theirs, back = save_and_load(model)
    x = ember.randn(2, 3, 7, 8)
    for out in (theirs(to_torch(x)).numpy(), back(x).numpy()):
        assert out.shape == (2, 3, 3, 4)
        # every output is a maximum over a window: a value of the plane it came from
        planes = x.numpy().reshape(2, 3, -1)
        assert all(np.isin(out[n, c], planes[n, c]).all() for n in range(2) for c in range(3))


def test_rrelu_in_training_draws_slopes_in_its_range():
    model = nn.RReLU(0.1, 0.3).train()
    theirs, back = save_and_load(model)
    x = -ember.ones(1000)
    for out in (theirs.train()(to_torch(x)).numpy(), back.train()(x).numpy()):
        assert (out <= -0.1 + 1e-6).all() and (out >= -0.3 - 1e-6).all() and out.std() > 0.01


def test_softmax2d_of_a_2d_input_raises_in_both():
    theirs, back = save_and_load(nn.Softmax2d())
    with pytest.raises(torch.jit.Error, match="ValueError: Softmax2d: expected input to be 3D"):
        theirs(torch.ones(2, 2))
    with pytest.raises(ember.jit.Error, match="ValueError: Softmax2d: expected input to be 3D"):
        back(ember.ones(2, 2))


# (LPPool with p = inf / -inf / 0 and EmbeddingBag with max_norm: tests/test_jit_layers_save_js21.py)


TORCH_LAYERS = {
    "LPPool2d": (lambda: torch.nn.LPPool2d(2, 2), [(1, 3, 4, 4)]),
    "LPPool1d": (lambda: torch.nn.LPPool1d(3, 2, stride=1), [(2, 3, 6)]),
    "LocalResponseNorm": (lambda: torch.nn.LocalResponseNorm(3), [(2, 5, 4, 4)]),
    "LocalResponseNorm 3-d": (lambda: torch.nn.LocalResponseNorm(2), [(2, 5, 4)]),
    "Fold": (lambda: torch.nn.Fold((4, 5), 2), [(1, 12, 12)]),
    "Unfold": (lambda: torch.nn.Unfold(2, padding=1), [(1, 3, 4, 4)]),
    "ChannelShuffle": (lambda: torch.nn.ChannelShuffle(2), [(1, 4, 2, 2)]),
    "Bilinear": (lambda: torch.nn.Bilinear(3, 4, 5), [(2, 3), (2, 4)]),
    "FractionalMaxPool2d given samples": (
        lambda: torch.nn.FractionalMaxPool2d(2, output_size=3,
                                             _random_samples=torch.rand(2, 3, 2)),
        [(2, 3, 7, 7)]),
    "LSTM proj_size": (lambda: _TorchProjected(), [(4, 2, 3)]),
}


class _TorchProjected(torch.nn.Module):
    """An LSTM with projections inside a model (torch scripts a bare LSTM without a
    forward)."""

    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(3, 5, proj_size=2)

    def forward(self, x):
        out, (h, c) = self.rnn(x)
        return out, h, c


@pytest.mark.parametrize("name", list(TORCH_LAYERS))
def test_torch_scripted_layer_loads_in_ember(name):
    make, shapes = TORCH_LAYERS[name]
    torch.manual_seed(0)
    model = torch.jit.script(make().eval())
    buf = io.BytesIO()
    torch.jit.save(model, buf)
    buf.seek(0)
    back = ember.jit.load(buf)
    xs = [torch.randn(*s) for s in shapes]
    want = flat(model(*xs))
    got = flat(back(*[ember.tensor(x.numpy()) for x in xs]))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_torch_scripted_embedding_bag_loads_in_ember():
    torch.manual_seed(0)
    model = torch.jit.script(torch.nn.EmbeddingBag(10, 3, mode="max").eval())
    buf = io.BytesIO()
    torch.jit.save(model, buf)
    buf.seek(0)
    back = ember.jit.load(buf)
    idx, offsets = torch.tensor([1, 2, 4, 5, 4, 3, 2, 9]), torch.tensor([0, 3, 5])
    np.testing.assert_allclose(back(ember.tensor(idx.numpy()), ember.tensor(offsets.numpy()))
                               .detach().numpy(), model(idx, offsets).detach().numpy())
    two_d = torch.tensor([[1, 2, 4], [4, 3, 2]])
    np.testing.assert_allclose(back(ember.tensor(two_d.numpy())).detach().numpy(),
                               model(two_d).detach().numpy())


class PoolUnpool(nn.Module):
    """MaxPool with indices, then MaxUnpool back (by default size, or a given one)."""

    def __init__(self, n, kernel=2, stride=None, padding=0, size=None):
        super().__init__()
        pool, unpool = {1: (nn.MaxPool1d, nn.MaxUnpool1d), 2: (nn.MaxPool2d, nn.MaxUnpool2d),
                        3: (nn.MaxPool3d, nn.MaxUnpool3d)}[n]
        self.pool = pool(kernel, stride, padding, return_indices=True)
        self.unpool = unpool(kernel, stride, padding)
        self.size = size

    def forward(self, x):
        y, i = self.pool(x)
        if self.size is None:
            return self.unpool(y, i), i
        return self.unpool(y, i, self.size), i


@pytest.mark.parametrize("n,kw,shape", [
    (2, {}, (1, 2, 4, 4)),
    (2, {"kernel": 3, "stride": 2, "padding": 1}, (2, 3, 5, 5)),
    (2, {"size": [5, 5]}, (1, 2, 5, 5)),
    (2, {}, (2, 4, 4)),
    (1, {"kernel": 2}, (2, 3, 6)),
    (3, {}, (1, 1, 4, 4, 4)),
])
def test_max_pool_indices_and_unpool(n, kw, shape):
    ember.manual_seed(0)
    check(PoolUnpool(n, **kw), randn(*shape))


@pytest.mark.parametrize("make,shape", [
    (lambda: nn.AdaptiveAvgPool2d((None, 2)), (1, 2, 5, 4)),
    (lambda: nn.AdaptiveMaxPool2d((3, None)), (1, 2, 5, 4)),
    (lambda: nn.AdaptiveAvgPool3d((None, 2, None)), (1, 1, 3, 4, 2)),
])
def test_adaptive_pool_keeping_a_size(make, shape):
    check(make(), randn(*shape))


@pytest.mark.parametrize("make,shape", [
    (lambda: nn.Conv2d(2, 3, 3, padding="same", padding_mode="reflect"), (1, 2, 6, 6)),
    (lambda: nn.Conv2d(2, 3, (2, 4), padding="same", padding_mode="replicate"), (1, 2, 5, 6)),
    (lambda: nn.Conv1d(2, 3, 4, padding="same", dilation=2, padding_mode="circular"),
     (2, 2, 9)),
    (lambda: nn.Conv2d(2, 3, 3, padding="valid", padding_mode="reflect"), (1, 2, 6, 6)),
])
def test_conv_string_padding_with_a_padding_mode(make, shape):
    ember.manual_seed(0)
    check(make(), randn(*shape), rtol=1e-5, atol=1e-5)


class Renormed(nn.Module):
    """Embedding and F.embedding with max_norm: the looked-up rows are renormed in place."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4, max_norm=1.0)
        self.table = nn.Parameter(ember.randn(10, 4) * 3)

    def forward(self, x):
        return self.emb(x).sum(1) + F.embedding(x, self.table, max_norm=0.5, norm_type=1.0).sum(1)


F = ember.nn.functional


def test_embedding_max_norm_renorms_in_torch_as_in_ember():
    x = ember.tensor([[1, 2, 3], [3, 4, 5]])
    results = []
    for where in ("ember", "torch", "ember.jit.load"):
        ember.manual_seed(0)
        model = Renormed()
        model.emb.weight.data.mul_(3)
        theirs, back = save_and_load(model)
        runner = {"ember": model, "torch": theirs, "ember.jit.load": back}[where]
        arg = to_torch(x) if where == "torch" else x
        out = runner(arg).detach().numpy()
        weights = [runner.emb.weight.detach().numpy().copy(),
                   runner.table.detach().numpy().copy()]
        results.append((out, weights))
    (ours, our_w), *others = results
    assert np.allclose(np.linalg.norm(our_w[0][1:6], axis=1), 1.0, atol=1e-5)   # renormed
    for out, weights in others:
        np.testing.assert_allclose(out, ours, rtol=1e-5, atol=1e-6)
        for w, o in zip(weights, our_w):
            np.testing.assert_allclose(w, o, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make,shape", [(lambda: nn.Softmax(), (2, 3)),
                                        (lambda: nn.LogSoftmax(), (2, 3, 4)),
                                        (lambda: nn.Softmin(), (3,)),
                                        (lambda: nn.Softmax(), (2, 3, 4, 5))])
def test_softmax_without_dim_takes_pytorchs_implicit_dim(make, shape):
    check(make(), randn(*shape))


def test_instance_norm_momentum_none_keeps_running_stats_as_torch():
    # PyTorch's InstanceNorm hands momentum=None on as 0: its running statistics stay put
    model = nn.InstanceNorm1d(3, track_running_stats=True, momentum=None)
    theirs, back = save_and_load(model)
    x = randn(2, 3, 5)
    theirs.train()(to_torch(x))
    np.testing.assert_array_equal(theirs.running_mean.numpy(), np.zeros(3))
    mirror = torch.nn.InstanceNorm1d(3, track_running_stats=True, momentum=None)
    mirror(to_torch(x))
    np.testing.assert_array_equal(mirror.running_mean.numpy(), np.zeros(3))
    back.train()(x)
    np.testing.assert_array_equal(back.running_mean.numpy(), np.zeros(3))
    check(model.eval(), randn(2, 3, 5))
