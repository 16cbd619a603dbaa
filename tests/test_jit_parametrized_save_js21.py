"""ember.jit.save of layers under nn.utils.parametrizations.weight_norm (Linear, Conv1d/2d
with zero or reflect padding, ConvTranspose1d, as a HiFi-GAN-style vocoder stacks them):
the weight is computed in the archive by torch._weight_norm from the parametrization's
original0 (g) and original1 (v), which keep their state_dict names. Real torch.jit.load
and ember.jit.load run it with the outputs of real PyTorch's weight-normed modules."""
import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402


def build(lib):
    nn = lib.nn
    wn = nn.utils.parametrizations.weight_norm

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = wn(nn.Conv1d(2, 3, 3, padding=1))
            self.r = wn(nn.Conv1d(3, 3, 3, padding=1, padding_mode="reflect"))
            self.u = wn(nn.ConvTranspose1d(3, 2, 4, stride=2, padding=1))
            self.d = wn(nn.Conv2d(2, 2, 1), dim=1)
            self.l = wn(nn.Linear(6, 2), dim=None)

        def forward(self, x):
            y = self.u(self.r(self.c(x)))
            y = self.d(y.unsqueeze(-1)).squeeze(-1)
            return self.l(y.flatten(1)[:, :6])
    return Net()


def test_weight_norm_layers_save_and_match_torch():
    torch.manual_seed(0)
    theirs_eager = build(torch).eval()
    ours = build(ember)
    ours.load_state_dict({k: ember.tensor(v.detach().numpy())
                          for k, v in theirs_eager.state_dict().items()})
    buf = io.BytesIO()
    ember.jit.save(ours, buf)
    buf.seek(0)
    loaded = torch.jit.load(buf)
    buf.seek(0)
    back = ember.jit.load(buf)
    assert sorted(loaded.state_dict()) == sorted(theirs_eager.state_dict())
    assert "torch._weight_norm" in getattr(loaded.l.parametrizations.weight, "0").code
    x = torch.randn(2, 2, 4)
    want = theirs_eager(x).detach().numpy()
    np.testing.assert_allclose(ours(ember.tensor(x.numpy())).detach().numpy(), want,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loaded(x).detach().numpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(back(ember.tensor(x.numpy())).detach().numpy(), want,
                               rtol=1e-5, atol=1e-6)
    # the weights follow g: a new norm loaded into the archive changes its output
    with torch.no_grad():
        loaded.c.parametrizations.weight.original0.mul_(2)
        theirs_eager.c.parametrizations.weight.original0.mul_(2)
        np.testing.assert_allclose(loaded(x).numpy(), theirs_eager(x).numpy(), rtol=1e-5,
                                   atol=1e-6)


def test_spectral_norm_parametrization_in_eval():
    torch.manual_seed(0)
    theirs_eager = torch.nn.utils.parametrizations.spectral_norm(torch.nn.Linear(3, 2)).eval()
    ours = ember.nn.utils.parametrizations.spectral_norm(ember.nn.Linear(3, 2))
    ours.load_state_dict({k: ember.tensor(v.detach().numpy())
                          for k, v in theirs_eager.state_dict().items()})
    ours.eval()
    buf = io.BytesIO()
    ember.jit.save(ours, buf)
    buf.seek(0)
    loaded = torch.jit.load(buf)
    x = torch.randn(4, 3)
    want = theirs_eager(x).detach().numpy()
    np.testing.assert_allclose(loaded(x).detach().numpy(), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make,kind", [
    (lambda: ember.nn.utils.spectral_norm(ember.nn.Linear(3, 2)), "SpectralNorm"),
    (lambda: ember.nn.Sequential(ember.nn.ReLU(),
                                 ember.nn.utils.weight_norm(ember.nn.Linear(3, 2))),
     "WeightNorm"),
])
def test_modules_with_forward_hooks_are_refused(make, kind):
    # the trace does not run hooks: the archive would read a weight nothing computes
    with pytest.raises(NotImplementedError, match=f"forward hooks \\['{kind}'\\]"):
        ember.jit.save(make().eval(), io.BytesIO())
    model = ember.nn.Linear(2, 2)
    model.register_forward_hook(lambda mod, args, out: out * 2)
    with pytest.raises(NotImplementedError, match="module '' \\(Linear\\) has forward hooks"):
        ember.jit.save(model, io.BytesIO())
