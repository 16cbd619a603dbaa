"""ember.jit.save of forwards calling nn.functional functions that have no ATen op
(F.gaussian_nll_loss, F.lp_pool1d/2d/3d, F.local_response_norm): written as statements
(_codegen_inline.py); and of losses with an ATen op of their own (multi margin, multilabel
margin, CTC) and F.rrelu. Each archive runs in real torch.jit.load with the values of real
PyTorch's functions, and in ember.jit.load; bad input raises PyTorch's exception there."""
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
        "gaussian_nll_loss": lambda x, y, z: F.gaussian_nll_loss(x, y, z.abs() + 0.1),
        "gaussian_nll_loss full sum eps": lambda x, y, z: F.gaussian_nll_loss(
            x, y, z.abs(), full=True, eps=0.3, reduction="sum"),
        "gaussian_nll_loss none": lambda x, y, z: F.gaussian_nll_loss(x, y, z.abs(),
                                                                      reduction="none"),
        "gaussian_nll_loss one var per sample": lambda x, y, z: F.gaussian_nll_loss(
            x, y, z[..., 0].abs() + 0.5),
        "gaussian_nll_loss var broadcast in a dim": lambda x, y, z: F.gaussian_nll_loss(
            x, y, z[:, :1].abs() + 0.5, reduction="none"),
        "lp_pool2d": lambda x, y, z: F.lp_pool2d(x.unsqueeze(0), 2, 2),
        "lp_pool2d odd p stride ceil": lambda x, y, z: F.lp_pool2d(
            x.unsqueeze(0), 3, (2, 3), stride=1, ceil_mode=True),
        "lp_pool2d inf": lambda x, y, z: F.lp_pool2d(x, float("inf"), 2),
        "lp_pool1d": lambda x, y, z: F.lp_pool1d(x, 2, 3, stride=1),
        "lp_pool1d ceil float p": lambda x, y, z: F.lp_pool1d(x.abs(), 1.5, 3, ceil_mode=True),
        "lp_pool3d": lambda x, y, z: F.lp_pool3d(x.unsqueeze(0), 2, 2, stride=1),
        "local_response_norm 3d": lambda x, y, z: F.local_response_norm(x, 2),
        "local_response_norm 4d": lambda x, y, z: F.local_response_norm(
            x.unsqueeze(0), 3, alpha=0.1, beta=0.5, k=2.0),
        "local_response_norm 5d": lambda x, y, z: F.local_response_norm(
            x.reshape(1, 2, 3, 2, 2), 4),
        "multi_margin_loss": lambda x, y, z: F.multi_margin_loss(x[0], (y[0, :, 0] > 0).long()),
        "multi_margin_loss p weight sum": lambda x, y, z: F.multi_margin_loss(
            x[0], (y[0, :, 0] > 0).long(), p=2, margin=0.5, weight=z[0, 0].abs(),
            reduction="sum"),
        "multilabel_margin_loss": lambda x, y, z: F.multilabel_margin_loss(
            x[0], (y[0] > 0).long()),
        "ctc_loss lists": lambda x, y, z: F.ctc_loss(
            x.log_softmax(2), (y[0, :, :2].abs() * 3 + 1).clamp(max=3).long(), [2, 2, 2],
            [1, 1, 2]),
        "ctc_loss tensors sum zero_infinity": lambda x, y, z: F.ctc_loss(
            x.log_softmax(2), (y[0, :, :2].abs() * 3 + 1).clamp(max=3).long(),
            lib.tensor([2, 2, 2]), lib.tensor([2, 1, 1]), reduction="sum",
            zero_infinity=True),
        "rrelu eval": lambda x, y, z: F.rrelu(x, 0.1, 0.2),
        "twice in one forward": lambda x, y, z: (
            F.lp_pool1d(x, 2, 2) + F.lp_pool1d(y, 2, 2),
            F.local_response_norm(x, 2) * F.local_response_norm(y, 3),
            F.gaussian_nll_loss(x, y, z.abs()) + F.gaussian_nll_loss(y, x, z.abs())),
    }


def _run(name, inputs):
    model = Call(cases(ember)[name])
    buf = io.BytesIO()
    ember.jit.save(model, buf)
    buf.seek(0)
    theirs = torch.jit.load(buf)
    buf.seek(0)
    return model, theirs, ember.jit.load(buf)


def _flat(out):
    return out if isinstance(out, tuple) else (out,)


@pytest.mark.parametrize("name", list(cases(ember)))
def test_function_saves_and_matches_torch(name):
    ember.manual_seed(0)
    x, y, z = (ember.randn(2, 3, 4) for _ in range(3))
    model, theirs, back = _run(name, (x, y, z))
    tx, ty, tz = (torch.from_numpy(v.numpy()) for v in (x, y, z))
    oracle = _flat(cases(torch)[name](tx, ty, tz))
    want = _flat(model(x, y, z))
    loaded = _flat(theirs(tx, ty, tz))
    again = _flat(back(x, y, z))
    assert len(oracle) == len(want) == len(loaded) == len(again)
    for o, w, t, e in zip(oracle, want, loaded, again):
        assert tuple(o.shape) == tuple(w.shape)
        np.testing.assert_allclose(w.numpy(), o.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(t.numpy(), o.numpy(), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(e.numpy(), w.numpy(), rtol=1e-6, atol=1e-7)


def test_gaussian_nll_loss_gradient_passes_the_clamp_as_torch():
    """PyTorch clamps var at eps without recording it: var's gradient below eps is the
    unclamped formula's, in the loaded archive as in torch's function."""
    x, y = torch.randn(5), torch.randn(5)
    var = torch.tensor([0.01, 0.5, 1.0, 0.02, 2.0], requires_grad=True)
    model = Call(lambda a, b, c: nn.functional.gaussian_nll_loss(a, b, c, eps=0.1))
    buf = io.BytesIO()
    ember.jit.save(model, buf)
    buf.seek(0)
    loaded = torch.jit.load(buf)
    loaded(x, y, var).backward()
    got = var.grad.clone()
    var.grad = None
    torch.nn.functional.gaussian_nll_loss(x, y, var, eps=0.1).backward()
    np.testing.assert_allclose(got.numpy(), var.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("var,match", [
    (lambda z: -z.abs(), "var has negative entry/entries"),
    (lambda z: z[:1, :1].abs(), "var is of incorrect size"),
    (lambda z: z[0].abs(), "var is of incorrect size"),
])
def test_gaussian_nll_loss_bad_var_raises_value_error_when_loaded(var, match):
    model = Call(lambda a, b, c: nn.functional.gaussian_nll_loss(a, b, c))
    buf = io.BytesIO()
    ember.jit.save(model, buf)
    buf.seek(0)
    loaded = torch.jit.load(buf)
    buf.seek(0)
    back = ember.jit.load(buf)
    x = torch.randn(2, 3, 4)
    with pytest.raises(ValueError, match=match):
        torch.nn.functional.gaussian_nll_loss(x, x, var(x))
    with pytest.raises(torch.jit.Error, match=f"ValueError: {match}"):
        loaded(x, x, var(x))
    e = ember.tensor(x.numpy())
    with pytest.raises(ember.jit.Error, match=f"ValueError: {match}"):
        back(e, e, var(e))


def test_local_response_norm_of_a_2d_input_raises_value_error_when_loaded():
    model = Call(lambda a, b, c: nn.functional.local_response_norm(a, 2))
    buf = io.BytesIO()
    ember.jit.save(model, buf)
    buf.seek(0)
    back = ember.jit.load(buf)
    with pytest.raises(ember.jit.Error, match="ValueError: Expected 3D or higher dim"):
        back(ember.randn(2, 3), None, None)


def test_traced_settings_are_refused_by_name():
    model = Call(lambda a, b, c: nn.functional.lp_pool1d(a, 2, a.shape[-1]))
    with pytest.raises(NotImplementedError, match="lp_pool1d with a traced kernel_size"):
        ember.jit.save(model, io.BytesIO())


def test_rrelu_in_training_draws_slopes_in_its_bounds():
    model = Call(lambda a, b, c: nn.functional.rrelu(a, 0.1, 0.3, training=True))
    buf = io.BytesIO()
    ember.jit.save(model, buf)
    buf.seek(0)
    loaded = torch.jit.load(buf)
    buf.seek(0)
    back = ember.jit.load(buf)
    x = -torch.rand(50) - 0.5
    for out in (loaded(x, None, None), back(ember.tensor(x.numpy()), None, None)):
        slope = np.asarray(out.numpy()) / x.numpy()
        assert (slope >= 0.1 - 1e-6).all() and (slope <= 0.3 + 1e-6).all()
        assert slope.std() > 0.01
