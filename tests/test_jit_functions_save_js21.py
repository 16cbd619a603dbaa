"""ember.jit.save of forwards calling functions outside the writer's tables whose ember
body is made of functions inside them (F.poisson_nll_loss, F.multilabel_soft_margin_loss,
F.margin_ranking_loss: the trace records the calls their bodies make), of more tabled
ATen forms (soft margin, hinge and cosine embedding losses, xlogy, pdist, hypot ...,
F.grid_sample/F.affine_grid of a spatial transformer), and
calls recorded with keyword arguments ATen names otherwise (torch.where(c, input=..)).
Each archive runs in real torch.jit.load with the values of real PyTorch's functions,
and in ember.jit.load; functions whose bodies do not trace are still refused by name."""
import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402

nn = ember.nn


class Call(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x, y, z):
        return self.fn(x, y, z)


def cases(lib):
    F = lib.nn.functional
    return {
        "poisson_nll_loss full": lambda x, y, z: F.poisson_nll_loss(x, y.abs(), full=True),
        "poisson_nll_loss probabilities": lambda x, y, z: F.poisson_nll_loss(
            x.abs(), y.abs(), log_input=False, reduction="sum"),
        "multilabel_soft_margin_loss": lambda x, y, z: F.multilabel_soft_margin_loss(
            x, (y > 0).float()),
        "margin_ranking_loss": lambda x, y, z: F.margin_ranking_loss(x, y, z.sign(),
                                                                     margin=0.2),
        "soft_margin_loss": lambda x, y, z: F.soft_margin_loss(x, y.sign(), reduction="none"),
        "hinge_embedding_loss": lambda x, y, z: F.hinge_embedding_loss(x, y.sign(),
                                                                       margin=0.5),
        "cosine_embedding_loss": lambda x, y, z: F.cosine_embedding_loss(
            x[0], y[0], z[0, :, 0].sign(), margin=0.1),
        "xlogy": lambda x, y, z: lib.xlogy(x.abs(), y.abs()),
        "pdist": lambda x, y, z: lib.pdist(x[0]),
        "hypot": lambda x, y, z: lib.hypot(x, y),
        "where by keyword": lambda x, y, z: lib.where(x > 0, input=y, other=z),
        "logaddexp": lambda x, y, z: lib.logaddexp(x, y),
    }


@pytest.mark.parametrize("name", list(cases(ember)))
def test_function_saves_and_matches_torch(name):
    ember.manual_seed(0)
    x, y, z = (ember.randn(2, 3, 4) for _ in range(3))
    model = Call(cases(ember)[name])
    buf = io.BytesIO()
    ember.jit.save(model, buf)
    buf.seek(0)
    theirs = torch.jit.load(buf)
    buf.seek(0)
    back = ember.jit.load(buf)
    tx, ty, tz = (torch.from_numpy(v.numpy()) for v in (x, y, z))
    oracle = cases(torch)[name](tx, ty, tz).numpy()
    want = model(x, y, z).numpy()
    np.testing.assert_allclose(want, oracle, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(theirs(tx, ty, tz).numpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(back(x, y, z).numpy(), want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("fn,name", [
    # (fractional_max_pool2d saves now: tests/test_jit_packed_functions_save_js23.py)
    (lambda x, y, z: nn.functional.multi_head_attention_forward(
        x, x, x, 4, 2, ember.ones(12, 4), ember.zeros(12), None, None, False, 0.0,
        ember.ones(4, 4), ember.zeros(4))[0], "multi_head_attention_forward"),
])
def test_functions_whose_bodies_do_not_trace_are_refused_by_name(fn, name):
    with pytest.raises(NotImplementedError, match=f"no TorchScript form for the function "
                                                  f"ember.*{name}"):
        ember.jit.save(Call(fn), io.BytesIO())


def spatial_transformer(lib):
    """The spatial transformer of PyTorch's tutorial: a small localisation net predicts
    an affine map, F.affine_grid + F.grid_sample resample the input with it."""
    nn, F = lib.nn, lib.nn.functional

    class STN(nn.Module):
        def __init__(self):
            super().__init__()
            self.loc = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
                                     nn.Flatten(), nn.Linear(16, 6))

        def forward(self, x):
            theta = self.loc(x).view(-1, 2, 3)
            grid = F.affine_grid(theta, x.size(), align_corners=False)
            a = F.grid_sample(x, grid, align_corners=False)
            b = F.grid_sample(x, grid, mode="nearest", padding_mode="border",
                              align_corners=True)
            c = F.grid_sample(x, grid, mode="bicubic", padding_mode="reflection",
                              align_corners=False)
            return a + b + c
    return STN()


def test_spatial_transformer_grid_sample_and_affine_grid():
    torch.manual_seed(0)
    theirs_eager = spatial_transformer(torch).eval()
    ours = spatial_transformer(ember)
    ours.load_state_dict({k: ember.tensor(v.numpy())
                          for k, v in theirs_eager.state_dict().items()})
    ours.eval()
    buf = io.BytesIO()
    ember.jit.save(ours, buf)
    buf.seek(0)
    loaded = torch.jit.load(buf)
    buf.seek(0)
    back = ember.jit.load(buf)
    assert "torch.grid_sampler(" in loaded.code and "affine_grid_generator" in loaded.code
    x = torch.randn(2, 1, 6, 6)
    with torch.no_grad():
        want = theirs_eager(x).numpy()
        np.testing.assert_allclose(loaded(x).numpy(), want, rtol=1e-5, atol=1e-5)
    ex = ember.tensor(x.numpy())
    np.testing.assert_allclose(back(ex).detach().numpy(), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours(ex).detach().numpy(), want, rtol=1e-4, atol=1e-5)
