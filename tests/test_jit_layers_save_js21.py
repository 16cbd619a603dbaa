"""ember.jit.save of forms it refused before: LPPool with p = inf (max of |x|), -inf (min
of |x|) and 0 (PyTorch's ZeroDivisionError when run), EmbeddingBag with max_norm (the
rows looked up renormed in place), losses called with the legacy size_average/reduce
pair, and the nuclear norm. The archive runs in real torch.jit.load with ember's
outputs (and weights after the renorm), and in ember.jit.load."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
from tests.jit_roundtrip import save_and_load, to_torch  # noqa: E402

nn = ember.nn
F = ember.nn.functional


def flat(out):
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in flat(o)]
    return [out.detach().numpy()]


@pytest.mark.parametrize("n,shape", [(1, (2, 3, 7)), (2, (1, 2, 5, 5)), (3, (1, 2, 4, 4, 5))])
@pytest.mark.parametrize("p", [math.inf, -math.inf])
def test_lppool_infinite_norm(n, shape, p):
    model = getattr(nn, f"LPPool{n}d")(p, 2, ceil_mode=True)
    theirs, back = save_and_load(model)
    x = ember.randn(*shape)
    want = model(x).numpy()
    torch_model = getattr(torch.nn, f"LPPool{n}d")(p, 2, ceil_mode=True)
    np.testing.assert_allclose(torch_model(to_torch(x)).numpy(), want)   # ember is torch
    np.testing.assert_allclose(theirs(to_torch(x)).numpy(), want)
    np.testing.assert_allclose(back(x).numpy(), want)


def test_lppool_zero_norm_raises_when_run_as_in_torch():
    model = nn.LPPool2d(0, 2)
    theirs, back = save_and_load(model)
    with pytest.raises(ZeroDivisionError):
        model(ember.randn(1, 1, 4, 4))
    with pytest.raises(ZeroDivisionError):
        torch.nn.LPPool2d(0, 2)(torch.randn(1, 1, 4, 4))
    with pytest.raises(torch.jit.Error, match="ZeroDivisionError: float division by zero"):
        theirs(torch.randn(1, 1, 4, 4))
    with pytest.raises(ember.jit.Error, match="ZeroDivisionError"):
        back(ember.randn(1, 1, 4, 4))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_max_norm_renorms_in_torch_as_in_ember(mode):
    ember.manual_seed(0)
    model = nn.EmbeddingBag(10, 4, max_norm=1.0, norm_type=1.5, mode=mode)
    with ember.no_grad():
        model.weight.mul_(3)   # every row longer than max_norm
    theirs, back = save_and_load(model)
    before = model.weight.detach().numpy().copy()
    x = ember.tensor([[1, 2, 3], [4, 1, 7]])
    want = model(x).detach().numpy()
    after = model.weight.detach().numpy()
    assert not np.allclose(before[[1, 2, 3, 4, 7]], after[[1, 2, 3, 4, 7]])
    np.testing.assert_array_equal(before[[0, 5, 6, 8, 9]], after[[0, 5, 6, 8, 9]])
    np.testing.assert_allclose(theirs(to_torch(x)).detach().numpy(), want, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(theirs.weight.detach().numpy(), after, rtol=1e-6, atol=1e-7)
    flat_ids, offsets = ember.tensor([1, 2, 3, 4, 1, 7]), ember.tensor([0, 3])
    np.testing.assert_allclose(back(flat_ids, offsets).detach().numpy(), want, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(back.weight.detach().numpy(), after, rtol=1e-6, atol=1e-7)


class LegacyLosses(nn.Module):
    def forward(self, x, y):
        labels = (y > 0).long().sum(1).clamp(max=3)
        return (F.mse_loss(x, y, size_average=False), F.l1_loss(x, y, reduce=False),
                F.smooth_l1_loss(x, y, size_average=False, reduce=True),
                F.nll_loss(x.log_softmax(1), labels, size_average=True),
                F.cross_entropy(x, labels, reduce=False, size_average=False),
                F.binary_cross_entropy(x.sigmoid(), y.sigmoid(), size_average=False))


def test_losses_with_size_average_and_reduce():
    model = LegacyLosses()
    theirs, back = save_and_load(model)
    x, y = ember.randn(3, 4), ember.randn(3, 4)
    with pytest.warns(UserWarning, match="size_average and reduce"):
        want = flat(model(x, y))
    got = flat(theirs(to_torch(x), to_torch(y)))
    again = flat(back(x, y))
    assert [w.shape for w in want] == [(), (3, 4), (), (), (3,), ()]
    for w, g, a in zip(want, got, again):
        assert g.shape == w.shape == a.shape
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(a, w, rtol=1e-6, atol=1e-7)


class Nuclear(nn.Module):
    def forward(self, x, batch):
        return (ember.norm(x, p="nuc"), x.norm(p="nuc", dim=(0, 1), keepdim=True),
                ember.norm(batch, "nuc", dim=(1, 2)))


def test_nuclear_norm():
    model = Nuclear()
    theirs, back = save_and_load(model)
    x, batch = ember.randn(3, 4), ember.randn(2, 3, 5)
    want = flat(model(x, batch))
    oracle = [torch.norm(to_torch(x), p="nuc").numpy(),
              to_torch(x).norm(p="nuc", dim=(0, 1), keepdim=True).numpy(),
              torch.norm(to_torch(batch), "nuc", dim=(1, 2)).numpy()]
    for w, o, g, a in zip(want, oracle, flat(theirs(to_torch(x), to_torch(batch))),
                          flat(back(x, batch))):
        np.testing.assert_allclose(w, o, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(a, w, rtol=1e-6, atol=1e-7)
