"""Training end to end on each device: the CUDA run of a model starts from the CPU run's
weights and data and must end with the CPU run's parameters (CUDA results equal CPU
results), with everything it made (parameters, gradients, optimizer state) on the device.
Also: checkpoints of CUDA models, mixed precision with GradScaler, pinned DataLoader batches.
The CUDA cases skip without a GPU (EMBER_FAKE_CUDA=1 runs them on tests/fakecupy.py)."""
import io

import numpy as np
import pytest

import ember
from ember import nn

RTOL, ATOL = 1e-4, 1e-5


def _mlp():
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3))


def _cnn():
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


class _Encoder(nn.Module):
    """One Transformer encoder layer over a (batch, 5, 8) sequence, mean-pooled to 3 classes."""

    def __init__(self):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                                batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.layer(x).mean(1))


MODELS = {"mlp": (_mlp, (8, 6)), "cnn": (_cnn, (8, 2, 8, 8)), "encoder": (_Encoder, (8, 5, 8))}
# Adam's eps is raised from 1e-8: a conv bias before BatchNorm and the attention's key bias
# have zero gradient in exact arithmetic, and Adam turns their rounding noise (which differs
# between CPU and GPU summation orders) into full-size steps of either sign
OPTIMIZERS = {
    "sgd": lambda ps: ember.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4),
    "adam": lambda ps: ember.optim.Adam(ps, lr=1e-2, eps=1e-3),
    "adamw": lambda ps: ember.optim.AdamW(ps, lr=1e-2, eps=1e-3, weight_decay=0.1, amsgrad=True),
}
STATE_KEYS = {"sgd": ["momentum_buffer"], "adam": ["exp_avg", "exp_avg_sq"],
              "adamw": ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]}


def _train(model_name, opt_name, device, steps=4):
    """Build the model on the CPU from seed 0, move it to `device`, train `steps` steps;
    return the model, the optimizer and the losses."""
    make, in_shape = MODELS[model_name]
    ember.manual_seed(0)
    model = make()
    if model_name == "mlp":
        model.eval()   # Dropout is the identity in eval mode
    params = list(model.parameters())
    assert model.to(device) is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal(in_shape).astype(np.float32)).to(device)
    y = ember.tensor(rng.integers(0, 3, in_shape[0])).to(device)
    opt = OPTIMIZERS[opt_name](model.parameters())
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return model, opt, losses


def _host(t):
    return t.detach().cpu().numpy()


@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("model_name", sorted(MODELS))
def test_training_matches_cpu(device, model_name, opt_name):
    model, opt, losses = _train(model_name, opt_name, device)
    assert all(isinstance(v, float) for v in losses)
    assert losses[-1] < losses[0]
    for p in model.parameters():
        assert p.device.type == device and p.grad.device.type == device
        for key in STATE_KEYS[opt_name]:
            assert opt.state[p][key].device.type == device
    for b in model.buffers():
        assert b.device.type == device
    ref, _, ref_losses = _train(model_name, opt_name, "cpu")
    np.testing.assert_allclose(losses, ref_losses, rtol=RTOL, atol=ATOL)
    got, want = model.state_dict(), ref.state_dict()
    assert list(got) == list(want)
    for k in want:
        np.testing.assert_allclose(_host(got[k]), _host(want[k]), rtol=RTOL, atol=ATOL,
                                   err_msg=k)


def test_optimizer_state_dict_round_trip(device):
    """An optimizer's state saved from the device and loaded back continues identically."""
    model, opt, _ = _train("mlp", "adam", device, steps=2)
    buf = io.BytesIO()
    ember.save({"model": model.state_dict(), "opt": opt.state_dict()}, buf)
    buf.seek(0)
    ck = ember.load(buf, weights_only=True)
    state = ck["opt"]["state"][0]
    assert state["exp_avg"].device.type == device
    opt2 = ember.optim.Adam(model.parameters(), lr=1e-2)
    opt2.load_state_dict(ck["opt"])
    for p in model.parameters():
        assert opt2.state[p]["exp_avg"].device.type == device


@pytest.mark.parametrize("map_location", [None, "cpu", "cuda"])
def test_save_load_map_location(device, map_location):
    """Tensors come back on the device they were saved from unless map_location says
    otherwise (as in PyTorch)."""
    if map_location == "cuda" and not ember.cuda.is_available():
        pytest.skip("no CUDA device")
    ember.manual_seed(0)
    model = _cnn().to(device)
    sd = model.state_dict()
    buf = io.BytesIO()
    ember.save(sd, buf)
    buf.seek(0)
    back = ember.load(buf, map_location=map_location, weights_only=True)
    expect = device if map_location is None else map_location
    assert list(back) == list(sd)
    for k, v in sd.items():
        assert back[k].device.type == expect, k
        assert back[k].dtype is v.dtype
        np.testing.assert_array_equal(_host(back[k]), _host(v))
    fresh = _cnn().to(device)
    fresh.load_state_dict(back)
    for p in fresh.parameters():
        assert p.device.type == device


def test_save_load_views_share_storage(device):
    """Views of one device tensor are saved as one storage and stay views after loading."""
    base = ember.arange(12.0, device=device).reshape(3, 4)
    buf = io.BytesIO()
    ember.save({"base": base, "row": base[1], "col": base[:, 2]}, buf)
    buf.seek(0)
    back = ember.load(buf)
    assert back["row"].device.type == device
    np.testing.assert_array_equal(_host(back["col"]), [2.0, 6.0, 10.0])
    back["base"].add_(1)
    np.testing.assert_array_equal(_host(back["row"]), [5.0, 6.0, 7.0, 8.0])


def test_grad_scaler_autocast(device):
    """Mixed-precision steps run on the device; a step with an inf gradient is skipped and
    halves the scale."""
    dtype = ember.float16 if device == "cuda" else ember.bfloat16
    ember.manual_seed(0)
    model = _mlp().to(device).eval()
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    scaler = ember.amp.GradScaler(device, init_scale=2.0 ** 10)
    x = ember.randn(8, 6, device=device)
    y = ember.randint(0, 3, (8,), device=device)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        with ember.autocast(device_type=device, dtype=dtype):
            out = model(x)
            assert out.dtype is dtype and out.device.type == device
            loss = nn.functional.cross_entropy(out.float(), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert scaler.get_scale() == 2.0 ** 10

    before = [_host(p).copy() for p in model.parameters()]
    opt.zero_grad()
    with ember.autocast(device_type=device, dtype=dtype):
        loss = nn.functional.cross_entropy(model(x).float(), y)
    scaler.scale(loss).backward()
    next(model.parameters()).grad.fill_(float("inf"))
    scaler.step(opt)
    scaler.update()
    assert scaler.get_scale() == 2.0 ** 9
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(_host(p), b)


def test_dataloader_pin_memory(device):
    """pin_memory=True gives page-locked CPU batches where CUDA exists; they copy to the
    device with non_blocking=True."""
    xs = ember.arange(40.0).reshape(10, 4)
    ys = ember.arange(10)
    loader = ember.utils.data.DataLoader(ember.utils.data.TensorDataset(xs, ys), batch_size=4,
                                         pin_memory=ember.cuda.is_available())
    seen = []
    for xb, yb in loader:
        assert xb.device.type == "cpu"
        assert xb.is_pinned() == ember.cuda.is_available()
        xd, yd = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
        assert xd.device.type == device
        seen.append(_host(xd * 2))
    np.testing.assert_array_equal(np.concatenate(seen), _host(xs) * 2)


def test_autograd_on_device(device):
    """The engine, autograd.grad with create_graph, and gradcheck in float64 on the device."""
    x = ember.randn(4, 3, dtype=ember.float64, device=device, requires_grad=True)
    y = (x.sin() * x).sum()
    (g,) = ember.autograd.grad(y, x, create_graph=True)
    assert g.device.type == device
    g.sum().backward()
    assert x.grad.device.type == device
    expect = 2 * np.cos(_host(x)) - _host(x) * np.sin(_host(x))
    np.testing.assert_allclose(_host(x.grad), expect, rtol=1e-10)
    w = ember.randn(3, 2, dtype=ember.float64, device=device, requires_grad=True)
    assert ember.autograd.gradcheck(lambda a, b: (a @ b).tanh(), (x, w))
    assert ember.autograd.gradgradcheck(lambda a, b: (a @ b).tanh(), (x, w))
