"""ember.jit.load / ember.jit.save of TorchScript archives, against real torch.

Every archive is written in the test by torch.jit.save (of torch.jit.trace or
torch.jit.script); ember.jit.load must give torch.jit.load's outputs, gradients,
parameters, buffers, state_dict keys and .code. Archives that ember.jit.save writes are
read back by ember and by torch. Crafted archives check that loading runs nothing from
the file."""
import functools
import inspect
import io
import os
import pickle
import zipfile
from typing import Dict, List, Optional, Tuple

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn as tnn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import ember  # noqa: E402

RNG = np.random.default_rng(0)


def E(a):
    return ember.tensor(np.asarray(a))


def close(e, t, tol=1e-5):
    """ember value `e` equals torch value `t` (tensors, numbers, tuples/lists of them)."""
    if isinstance(t, (tuple, list)):
        assert type(e) in (tuple, list) and len(e) == len(t)
        for a, b in zip(e, t):
            close(a, b, tol)
        return
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), type(e)
        assert tuple(e.shape) == tuple(t.shape)
        assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=tol, atol=tol)
        return
    assert e == t


def same(a, b):
    """Two ember results are equal (tensors, numbers, tuples/lists of them)."""
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for p, q in zip(a, b):
            same(p, q)
    elif isinstance(a, ember.Tensor):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    else:
        assert a == b


def roundtrip(tmp_path, name, module):
    """Save a torch ScriptModule; load it with torch and with ember."""
    path = str(tmp_path / f"{name}.pt")
    torch.jit.save(module, path)
    return torch.jit.load(path), ember.jit.load(path), path


# ----------------------------------------------------------------------------- models

class MLP(tnn.Module):
    def __init__(self):
        super().__init__()
        self.l1, self.l2 = tnn.Linear(4, 8), tnn.Linear(8, 3)

    def forward(self, x):
        return self.l2(torch.relu(self.l1(x)))


class CNN(tnn.Module):
    def __init__(self):
        super().__init__()
        self.c = tnn.Conv2d(3, 4, 3, padding=1)
        self.bn = tnn.BatchNorm2d(4)
        self.p = tnn.MaxPool2d(2)
        self.d = tnn.Dropout(0.5)
        self.a = tnn.AvgPool2d(2)
        self.fc = tnn.Linear(4 * 2 * 2, 2)

    def forward(self, x):
        x = self.p(torch.relu(self.bn(self.c(x))))
        x = self.a(self.d(x))
        return self.fc(torch.flatten(x, 1))


class ControlFlow(tnn.Module):
    def __init__(self):
        super().__init__()
        self.l = tnn.Linear(4, 4)

    def forward(self, x, n: int = 2):
        for _ in range(n):
            x = self.l(x)
        if x.sum() > 0:
            return x * 2
        else:
            return -x


class LSTMHead(tnn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = tnn.LSTM(4, 5, num_layers=2, batch_first=True)
        self.fc = tnn.Linear(5, 2)

    def forward(self, x):
        o, (h, c) = self.lstm(x)
        return self.fc(o[:, -1]) + h.sum(0).mean() - c[-1].mean()


class Containers(tnn.Module):
    """Lists, dicts, enumerate over a ModuleList, while, Optional arguments, slicing,
    in-place writes into a view, tuple returns with ints."""

    def __init__(self):
        super().__init__()
        self.layers = tnn.ModuleList([tnn.Linear(4, 4) for _ in range(3)])
        self.scale = 2.5
        self.names: List[str] = ["a", "b"]

    def forward(self, x, y: Optional[torch.Tensor] = None):
        outs: List[torch.Tensor] = []
        d: Dict[str, torch.Tensor] = {}
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i % 2 == 0:
                outs.append(x.relu())
            d[self.names[i % 2]] = x
        i = 0
        while i < 3 and x.sum() > -100:
            x = x * 0.5
            i += 1
        if y is not None:
            x = x + y
        z = x[:, 1:3]
        x[0, 0] = 7.0
        return torch.cat(outs, 1) * self.scale, d["a"] - d["b"], z.max(dim=1)[0], len(outs), x


class Traced(tnn.Module):
    """What tracing turns into size arithmetic, a tensor constant and views."""

    def __init__(self):
        super().__init__()
        self.l = tnn.Linear(4, 3)
        self.register_buffer("b", torch.arange(3.0))

    def forward(self, x):
        y = self.l(x.view(x.size(0), -1)) + torch.tensor([1.0, 2.0, 3.0])
        return y.softmax(-1) * self.b, x.shape[1] * y.mean(0), y.transpose(0, 1).contiguous()


def scaled_sin(x, y: float):
    return x * y + torch.sin(x)


def _models():
    torch.manual_seed(0)
    x2 = torch.randn(2, 4)
    img = torch.randn(2, 3, 8, 8)
    seq = torch.randn(2, 5, 4)
    cnn = CNN().eval()
    with torch.no_grad():
        cnn.bn.running_mean.uniform_(-0.5, 0.5)
        cnn.bn.running_var.uniform_(0.5, 2.0)
    return {
        "mlp_traced": (lambda: torch.jit.trace(MLP(), x2), (x2,)),
        "mlp_scripted": (lambda: torch.jit.script(MLP()), (x2,)),
        "cnn_traced": (lambda: torch.jit.trace(cnn, img), (img,)),
        "cnn_scripted": (lambda: torch.jit.script(cnn), (img,)),
        "control_flow_scripted": (lambda: torch.jit.script(ControlFlow()), (x2,)),
        "lstm_scripted": (lambda: torch.jit.script(LSTMHead()), (seq,)),
        "containers_scripted": (lambda: torch.jit.script(Containers()), (x2,)),
        "traced_sizes": (lambda: torch.jit.trace(Traced(), x2), (x2,)),
        "function_scripted": (lambda: torch.jit.script(scaled_sin), (x2, 1.5)),
    }


MODELS = _models()


def _ember_args(args):
    return tuple(E(a.numpy()) if isinstance(a, torch.Tensor) else a for a in args)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_outputs_parameters_and_code_match_torch(tmp_path, name):
    make, args = MODELS[name]
    t, e, _ = roundtrip(tmp_path, name, make())
    assert isinstance(e, ember.jit.RecursiveScriptModule)
    assert isinstance(e, ember.nn.Module)
    with torch.no_grad():
        expected = t(*args)
    close(e(*_ember_args(args)), expected)
    assert list(e.state_dict()) == list(t.state_dict())
    for (ne, pe), (nt, pt) in zip(e.named_parameters(), t.named_parameters()):
        assert ne == nt and pe.requires_grad == pt.requires_grad
        assert isinstance(pe, ember.nn.Parameter)
        close(pe, pt)
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    for (_, be), (_, bt) in zip(e.named_buffers(), t.named_buffers()):
        close(be, bt)
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    assert e.original_name == t.original_name
    assert e.training == t.training
    # torch.jit.load prints .code again from its graph (the archive's text of a scripted
    # module may name one more temporary): the signature is the same, traced code all
    assert e.code.splitlines()[:2] == t.code.splitlines()[:2]
    if "traced" in name:
        assert e.code == t.code


@pytest.mark.parametrize("name", ["mlp_scripted", "cnn_traced", "lstm_scripted",
                                  "containers_scripted", "control_flow_scripted"])
def test_gradients_match_torch(tmp_path, name):
    make, args = MODELS[name]
    t, e, _ = roundtrip(tmp_path, name, make())
    xt = args[0].clone().requires_grad_(True)
    xe = E(args[0].numpy()).requires_grad_(True)
    out_t = t(xt, *args[1:])
    out_e = e(xe, *_ember_args(args[1:]))
    if isinstance(out_t, tuple):
        out_t, out_e = out_t[0], out_e[0]
    (out_t * torch.arange(out_t.numel()).reshape(out_t.shape)).sum().backward()
    (out_e * ember.arange(out_e.numel()).reshape(out_e.shape)).sum().backward()
    close(xe.grad, xt.grad, 1e-4)
    for (ne, pe), (nt, pt) in zip(e.named_parameters(), t.named_parameters()):
        assert ne == nt
        if pt.grad is None:
            assert pe.grad is None
        else:
            close(pe.grad, pt.grad, 1e-4)


def test_control_flow_takes_both_branches_and_loop_counts(tmp_path):
    t, e, _ = roundtrip(tmp_path, "cf", torch.jit.script(ControlFlow()))
    for n in (0, 1, 3):
        for sign in (1.0, -1.0):
            x = torch.full((2, 4), sign) * torch.arange(1.0, 5.0)
            close(e(E(x.numpy()), n), t(x, n))
            close(e(E(x.numpy()), n=n), t(x, n=n))


def test_containers_with_optional_argument(tmp_path):
    t, e, _ = roundtrip(tmp_path, "cont", torch.jit.script(Containers()))
    x, y = torch.randn(2, 4), torch.randn(2, 4)
    with torch.no_grad():
        close(e(E(x.numpy()), E(y.numpy())), t(x, y))


def test_function_archive(tmp_path):
    t, e, _ = roundtrip(tmp_path, "fn", torch.jit.script(scaled_sin))
    x = torch.randn(3)
    close(e(E(x.numpy()), 2.0), t(x, 2.0))
    close(e.forward(E(x.numpy()), y=-1.0), t.forward(x, y=-1.0))


def test_wrong_argument_count_raises_runtime_error(tmp_path):
    t, e, _ = roundtrip(tmp_path, "mlp", torch.jit.script(MLP()))
    x = torch.randn(2, 4)
    with pytest.raises(RuntimeError):
        t(x, x)
    with pytest.raises(RuntimeError, match="argument"):
        e(E(x.numpy()), E(x.numpy()))


def test_raise_in_script_is_jit_error_as_torch(tmp_path):
    t, e, _ = roundtrip(tmp_path, "cnn", torch.jit.script(CNN().eval()))
    bad = torch.randn(1, 3, 2, 8, 8)   # BatchNorm2d's _check_input_dim raises ValueError
    with pytest.raises(torch.jit.Error, match="expected 4D input"):
        t.bn(bad)
    with pytest.raises(ember.jit.Error, match="builtins.ValueError: expected 4D input"):
        e.bn(E(bad.numpy()))
    assert ember.jit.Error.__mro__[1:] == (Exception, BaseException, object)


def test_train_mode_batchnorm_updates_running_stats(tmp_path):
    model = tnn.Sequential(tnn.Conv2d(3, 4, 3), tnn.BatchNorm2d(4), tnn.ReLU())
    t, e, _ = roundtrip(tmp_path, "bn", torch.jit.script(model))
    assert e.training and getattr(e, "1").training
    x = torch.randn(4, 3, 6, 6)
    for _ in range(2):
        close(e(E(x.numpy())), t(x).detach())
    bn_e, bn_t = getattr(e, "1"), getattr(t, "1")
    close(bn_e.running_mean, bn_t.running_mean)
    close(bn_e.running_var, bn_t.running_var)
    close(bn_e.num_batches_tracked, bn_t.num_batches_tracked)
    e.eval()
    t.eval()
    assert not bn_e.training
    close(e(E(x.numpy())), t(x).detach())


def test_to_double_and_map_location(tmp_path):
    t, e, path = roundtrip(tmp_path, "lstm", torch.jit.script(LSTMHead()))
    x = torch.randn(2, 3, 4)
    e.double()
    t.double()
    close(e(E(x.double().numpy())), t(x.double()).detach())
    assert e.lstm._flat_weights[0] is e.lstm.weight_ih_l0
    e2 = ember.jit.load(path, map_location="cpu")
    close(e2(E(x.numpy())), torch.jit.load(path)(x).detach())


def test_extra_files_and_file_objects(tmp_path):
    m = torch.jit.script(MLP())
    buf = io.BytesIO()
    torch.jit.save(m, buf, _extra_files={"meta.json": b'{"a": 1}'})
    buf.seek(0)
    extra = {"meta.json": "", "missing.txt": ""}
    e = ember.jit.load(buf, _extra_files=extra)
    buf.seek(0)
    extra_t = {"meta.json": "", "missing.txt": ""}
    torch.jit.load(buf, _extra_files=extra_t)
    assert extra == extra_t
    x = torch.randn(2, 4)
    close(e(E(x.numpy())), m(x).detach())


def test_not_a_zip_raises_runtime_error_as_torch(tmp_path):
    path = tmp_path / "plain.txt"
    path.write_bytes(b"not an archive")
    with pytest.raises(RuntimeError, match="zip archive"):
        torch.jit.load(str(path))
    with pytest.raises(RuntimeError, match="zip archive"):
        ember.jit.load(str(path))


def test_missing_file_raises_value_error_as_torch(tmp_path):
    missing = str(tmp_path / "nope.pt")
    with pytest.raises(ValueError):
        torch.jit.load(missing)
    with pytest.raises(ValueError, match="does not exist"):
        ember.jit.load(missing)


# ----------------------------------------------------------------------------- more ops

class Tokens(tnn.Module):
    """Embedding, LayerNorm, GRU, GroupNorm and shape ops on a token batch."""

    def __init__(self):
        super().__init__()
        self.emb = tnn.Embedding(10, 8)
        self.ln = tnn.LayerNorm(8)
        self.gru = tnn.GRU(8, 8, batch_first=True)
        self.gn = tnn.GroupNorm(2, 8)

    def forward(self, idx):
        out, _ = self.gru(self.ln(self.emb(idx)))
        flat = out.reshape(-1, 4)
        return (self.gn(out.permute(0, 2, 1)).softmax(1).log_softmax(-1), out.max(1)[0],
                torch.stack([out.sum(), out.mean()]), flat.t().matmul(flat),
                torch.chunk(out, 2, -1)[1], out.unsqueeze(1).squeeze(1).expand(2, 3, 8))


class Misc(tnn.Module):
    """Factories, dtype conversions, boolean-mask indexing (aten::index), norms."""

    def forward(self, x):
        made = (x.new_zeros(3), torch.zeros_like(x), torch.ones(2, dtype=torch.float64),
                torch.arange(4))
        converted = (x.to(torch.float64), x.double().float(), x.int().float())
        picked = (x[x > 0].sum(), torch.where(x > 0, x, torch.zeros_like(x)),
                  x.masked_fill(x < 0, 0.0), x.split(1, 0)[0])
        reduced = (x.norm(), x.argmax(1), x.cumsum(0), torch.cat([x, x], 0).view(-1))
        arith = (x.abs().sqrt(), x // 0.3, x % 0.3, torch.einsum("ij,kj->ik", x, x))
        return made + converted + picked + reduced + arith


class Encoder(tnn.Module):
    """A transformer layer and attention: under no_grad their scripted code takes the
    fused fast path (aten::_transformer_encoder_layer_fwd, _native_multi_head_attention)."""

    def __init__(self):
        super().__init__()
        self.layer = tnn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
        self.mha = tnn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x, pad: Optional[torch.Tensor] = None):
        y = self.layer(x, src_key_padding_mask=pad)
        return y, self.mha(y, x, x, need_weights=True)[1]


MORE = {"tokens": (Tokens, (torch.randint(0, 10, (2, 3)),)),
        "misc": (Misc, (torch.randn(3, 4),)),
        "encoder": (Encoder, (torch.randn(2, 3, 8),))}


@pytest.mark.parametrize("how", ["trace", "script"])
@pytest.mark.parametrize("name", sorted(MORE))
def test_more_ops_match_torch(tmp_path, name, how):
    make, args = MORE[name]
    torch.manual_seed(0)
    model = make().eval()
    compiled = torch.jit.trace(model, args, check_trace=False) if how == "trace" else \
        torch.jit.script(model)
    t, e, _ = roundtrip(tmp_path, name, compiled)
    with torch.no_grad():
        expected = t(*args)
    with ember.no_grad():
        close(e(*_ember_args(args)), expected, 1e-5)
    close(e(*_ember_args(args)), t(*args), 1e-5)   # grad enabled: the modules' slow path


def test_encoder_fast_path_with_padding_mask(tmp_path):
    t, e, _ = roundtrip(tmp_path, "enc", torch.jit.script(Encoder().eval()))
    x = torch.randn(2, 3, 8)
    pad = torch.tensor([[False, False, True], [False, False, False]])
    with torch.no_grad():
        expected = t(x, pad)
    with ember.no_grad():
        close(e(E(x.numpy()), E(pad.numpy())), expected, 1e-5)


class Blocks(tnn.Module):
    """ModuleDict iteration, a None submodule, a dict attribute, an exported method,
    strings, tuples and a list comprehension."""

    def __init__(self):
        super().__init__()
        self.d = tnn.ModuleDict({"a": tnn.Linear(4, 4), "b": tnn.Linear(4, 4)})
        self.opt: Optional[tnn.Module] = None
        self.table: Dict[str, int] = {"x": 1}

    @torch.jit.export
    def extra(self, x: torch.Tensor, k: int) -> List[torch.Tensor]:
        return [x * k, x.sum(dim=[0], keepdim=True)]

    def forward(self, x):
        for _, m in self.d.items():
            x = m(x) + self.table["x"]
        shape = (x.shape[0], x.shape[1])
        y = x.new_full([shape[0], shape[1]], 3.0)
        s = str(shape[0]) + "a"
        if self.opt is not None:
            x = self.opt(x)
        z = [i * 2 for i in range(3)]
        return x + y + len(s) + z[2], x.max(), x.min(dim=0).values


class Conversions(tnn.Module):
    """aten::to's overloads (dtype, device with or without dtype, other tensor), type_as,
    dtype casts."""

    def forward(self, x, y):
        d: Optional[torch.device] = None
        return (x.to(torch.float64), x.to(y), x.to(dtype=torch.float16), x.to(d, torch.int32),
                x.to("cpu"), x.type_as(y), x.long(), x.to(torch.device("cpu"), torch.int16))


def test_to_overloads(tmp_path):
    t, e, _ = roundtrip(tmp_path, "conv", torch.jit.script(Conversions()))
    x = torch.randn(2, 3) * 4
    y = torch.ones(2, dtype=torch.int64)
    close(e(E(x.numpy()), E(y.numpy())), t(x, y))


class WithState(tnn.Module):
    """A module pickled through its own TorchScript __getstate__/__setstate__."""

    def __init__(self):
        super().__init__()
        self.k = 3

    @torch.jit.export
    def __getstate__(self):
        return (self.k, self.training)

    @torch.jit.export
    def __setstate__(self, state: Tuple[int, bool]):
        self.k = state[0] + 1
        self.training = state[1]

    def forward(self, x):
        return x * self.k


def test_custom_setstate_runs_on_load(tmp_path):
    t, e, _ = roundtrip(tmp_path, "state", torch.jit.script(WithState().eval()))
    assert e.k == t.k == 4 and e.training == t.training
    x = torch.randn(3)
    close(e(E(x.numpy())), t(x))
    path = str(tmp_path / "state_ember.pt")
    ember.jit.save(e, path)   # written through __getstate__: loading adds 1 again
    assert torch.jit.load(path).k == ember.jit.load(path).k == 5


@torch.jit.script
class Accumulator:
    """A TorchScript class: built in forward (__new__ then __init__) and held as an
    attribute (pickled as an object)."""

    def __init__(self, scale: float):
        self.scale = scale
        self.items: List[torch.Tensor] = []

    def add(self, x: torch.Tensor) -> int:
        self.items.append(x * self.scale)
        return len(self.items)

    def total(self) -> torch.Tensor:
        return torch.stack(self.items).sum(0)


class UsesClass(tnn.Module):
    def __init__(self):
        super().__init__()
        self.acc = Accumulator(2.0)
        self.name = "abc"

    def forward(self, x):
        a = Accumulator(0.5)
        n = a.add(x) + a.add(x + 1)
        s = self.name.upper() + "-" + ",".join(["x", "y"])
        return a.total() * n, self.acc.scale, s.startswith("ABC"), s, s.split("-")


def test_torchscript_class_and_string_ops(tmp_path):
    t, e, _ = roundtrip(tmp_path, "cls", torch.jit.script(UsesClass()))
    x = torch.randn(3)
    close(e(E(x.numpy())), t(x))
    assert e.acc.scale == 2.0


def many_ops(x, y):
    """About 125 torch functions, methods and F calls (each a table entry)."""
    i02, i00 = torch.tensor([2, 0]), torch.tensor([0, 0])
    labels = torch.tensor([0, 1, 2])
    linalg = (torch.addmm(y[0], x, x.t()),
              torch.baddbmm(x.unsqueeze(0), x.unsqueeze(0), x.t().unsqueeze(0), beta=0.5,
                            alpha=2.0),
              torch.einsum("ij,ij->i", x, y), torch.matmul(x, y.t()), torch.mm(x, y.t()),
              torch.mv(x, y[0]), torch.dot(x[0], y[0]), torch.outer(x[0], x[1]),
              torch.cdist(x, y), torch.trace(x), torch.diag(x[0]), x.T, x.mT)
    reductions = (torch.std(x, 0), torch.var(x, [1], unbiased=False), torch.norm(x, 2, 1),
                  x.std(unbiased=True), torch.prod(x, 1), torch.logsumexp(x, 1),
                  torch.cumsum(x, 1), x.sum(-1, keepdim=True), x.mean(dtype=torch.float64),
                  x.max(), x.min(), x.argmax(), x.argmin(1, keepdim=True), x.sum(),
                  torch.median(x), torch.kthvalue(x, 2, 1)[0], torch.numel(x), x.dim(),
                  torch.allclose(x, x), torch.isnan(x).any(), torch.isfinite(x).all())
    ordering = (torch.sort(x, 1, True)[0], torch.topk(x, 2, 1)[1], torch.argsort(x, 1),
                torch.unique_consecutive(torch.tensor([1, 1, 2])),
                torch.bucketize(x, torch.tensor([-0.5, 0.5])))
    indexing = (torch.gather(x, 1, torch.zeros(3, 2, dtype=torch.long)),
                torch.index_select(x, 0, i02), torch.narrow(x, 1, 1, 2), torch.roll(x, 1, 0),
                torch.flip(x, [0]), torch.tril(x), torch.triu(x, 1), torch.where(x > y, x, y),
                torch.masked_select(x, x > 0), torch.nonzero(x > 0), x.unbind(0)[1],
                torch.chunk(x, 3, 1)[2], torch.split(x, [1, 2], 1)[1])
    shapes = (torch.repeat_interleave(x, 2, 0), x.repeat(2, 1), x.expand_as(x), x.view_as(x),
              torch.stack([x, y], 2), torch.tile(x, [2]), torch.movedim(x, 0, 1),
              torch.squeeze(x.unsqueeze(2), 2), torch.unflatten(x.flatten(), 0, [3, 3]))
    pointwise = (torch.clamp_min(x, 0.1), torch.clamp(x, max=0.2), torch.maximum(x, y),
                 torch.minimum(x, y), torch.lerp(x, y, 0.3), torch.erf(x),
                 torch.rsqrt(x.abs() + 1), torch.reciprocal(x + 3), torch.sign(x),
                 torch.atan2(x, y), torch.square(x), torch.floor_divide(x, 0.4),
                 torch.fmod(x, 0.3), torch.remainder(x, 0.3), torch.true_divide(x, 2),
                 torch.div(x, 0.7, rounding_mode="trunc"), torch.pow(x.abs(), y), x.abs(),
                 torch.softmax(x, 1, dtype=torch.float64), torch.max(x, y))
    functional = (F.pad(x, [1, 1]), F.normalize(x, dim=1), F.one_hot(torch.tensor([0, 2]), 3),
                  F.softplus(x), F.hardswish(x), F.mish(x), F.glu(torch.cat([x, x], 1), 1),
                  F.cosine_similarity(x, y), F.pairwise_distance(x, y), F.mse_loss(x, y),
                  F.l1_loss(x, y), F.smooth_l1_loss(x, y), F.cross_entropy(x, labels),
                  F.nll_loss(F.log_softmax(x, 1), labels),
                  F.binary_cross_entropy_with_logits(x, torch.sigmoid(y)),
                  F.kl_div(F.log_softmax(x, 1), F.softmax(y, 1), reduction="batchmean"))
    factories = (x.new_ones([2]), x.new_full([2], 2.0), x.new_empty([0]).shape[0],
                 torch.full_like(x, 3.0), torch.empty_like(x).shape[0], torch.eye(3),
                 torch.linspace(0.0, 1.0, 5), torch.arange(0, 6, 2),
                 torch.tensor([1, 2]).float().mean())
    in_place = (x.float().double().half().float(), x.to(torch.int64).float(),
                x.clone().fill_(2.0), x.clone().zero_(), x.clone().add_(y, alpha=2),
                x.clone().mul_(y), x.clone().clamp_(-0.1, 0.1),
                x.clone().masked_fill_(x > 0, 0.0), x.clone().index_fill_(1, i00[:1], -1.0),
                torch.zeros(3).scatter_(0, i02, torch.tensor([1.0, 2.0])),
                torch.zeros(3).index_add_(0, i00, torch.tensor([1.0, 2.0])))
    a, b = torch.broadcast_tensors(x, y[0])
    g1, g2 = torch.meshgrid(x[0], y[0], indexing="ij")
    tensor_lists = (a + b, torch.block_diag(x, y), torch.cartesian_prod(x[0], y[0]), g1 * g2,
                    torch.tensordot(x, y, dims=([1], [0])),
                    torch.cdist(x, y, compute_mode="use_mm_for_euclid_dist"))
    return (linalg + reductions + ordering + indexing + shapes + pointwise + functional +
            factories + in_place + tensor_lists)


def test_op_table_sample_matches_torch(tmp_path):
    t, e, _ = roundtrip(tmp_path, "ops", torch.jit.script(many_ops))
    torch.manual_seed(0)
    x, y = torch.randn(3, 3), torch.randn(3, 3)
    expected = t(x, y)
    got = e(E(x.numpy()), E(y.numpy()))
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        close(a, b, 1e-5)


def test_exported_method_module_dict_and_comprehension(tmp_path):
    t, e, _ = roundtrip(tmp_path, "blocks", torch.jit.script(Blocks()))
    x = torch.randn(2, 4)
    close(e(E(x.numpy())), t(x))
    close(e.extra(E(x.numpy()), 3), t.extra(x, 3))
    assert e.opt is None and e.table == {"x": 1}


def test_frozen_module(tmp_path):
    model = tnn.Sequential(tnn.Conv2d(3, 4, 3), tnn.BatchNorm2d(4), tnn.ReLU(),
                           tnn.Flatten(), tnn.Linear(64, 2)).eval()
    frozen = torch.jit.freeze(torch.jit.script(model))   # weights become CONSTANTS
    t, e, _ = roundtrip(tmp_path, "frozen", frozen)
    x = torch.randn(2, 3, 6, 6)
    close(e(E(x.numpy())), t(x), 1e-5)
    assert "CONSTANTS.c0" in e.code


# ----------------------------------------------------------------------------- resnet18

@pytest.fixture(scope="module")
def resnet_archives(tmp_path_factory):
    from tests.vision._tv import tv
    torchvision = tv()
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10).eval()
    with torch.no_grad():   # running statistics that are not the identity
        for m in model.modules():
            if isinstance(m, tnn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    x = torch.randn(1, 3, 32, 32)
    d = tmp_path_factory.mktemp("resnet")
    paths = {"traced": str(d / "r18_traced.pt"), "scripted": str(d / "r18_scripted.pt")}
    torch.jit.save(torch.jit.trace(model, x), paths["traced"])
    torch.jit.save(torch.jit.script(model), paths["scripted"])
    return paths, x


@pytest.mark.parametrize("kind", ["traced", "scripted"])
def test_resnet18(resnet_archives, kind):
    paths, x = resnet_archives
    t, e = torch.jit.load(paths[kind]), ember.jit.load(paths[kind])
    with torch.no_grad():
        close(e(E(x.numpy())), t(x), 1e-4)
    assert list(e.state_dict()) == list(t.state_dict())
    assert tuple(getattr(e.layer1, "0").conv1.weight.shape) == \
        tuple(getattr(t.layer1, "0").conv1.weight.shape)
    assert e.code.startswith("def forward(self,\n    x: Tensor) -> Tensor:\n")


# ----------------------------------------------------------------------------- saving

@pytest.mark.parametrize("name", ["cnn_traced", "lstm_scripted", "containers_scripted",
                                  "traced_sizes", "function_scripted"])
def test_save_reads_back_in_ember_and_torch(tmp_path, name):
    make, args = MODELS[name]
    _, e, _ = roundtrip(tmp_path, name, make())
    for p in e.parameters():   # new weights: the saved archive must carry them
        with ember.no_grad():
            p.mul_(0.5)
    out = str(tmp_path / f"{name}_ember.pt")
    ember.jit.save(e, out, _extra_files={"note.txt": b"hello"})
    e2 = ember.jit.load(out)
    t2 = torch.jit.load(out)
    expected = e(*_ember_args(args))
    same(e2(*_ember_args(args)), expected)
    with torch.no_grad():
        got_t = t2(*args)
    close(e2(*_ember_args(args)), got_t)   # torch runs the halved weights ember wrote
    assert list(t2.state_dict()) == list(e.state_dict())
    extra = {"note.txt": ""}
    torch.jit.load(out, _extra_files=extra)
    assert extra["note.txt"] == b"hello"
    buf = io.BytesIO()
    e.save(buf)
    buf.seek(0)
    close(ember.jit.load(buf)(*_ember_args(args)), got_t)


class Plain(ember.nn.Module):
    """A plain ember module for ember.jit.save: leaf layers, F calls, size arithmetic,
    views, subscripts, an own parameter, a tuple output with an int."""

    def __init__(self):
        super().__init__()
        nn = ember.nn
        self.seq = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                 nn.MaxPool2d(2))
        self.fc = nn.Linear(4, 3)
        self.norm = nn.LayerNorm(3)
        self.scale = nn.Parameter(ember.linspace(0.5, 1.5, 3))

    def forward(self, x):
        y = ember.nn.functional.adaptive_avg_pool2d(self.seq(x), 1).flatten(1)
        n = y.size(0)
        z = self.norm(ember.nn.functional.gelu(self.fc(y))).view(n, -1) * self.scale
        return z + y[:, :3], y.shape[1]


def _save_plain(tmp_path, model, name="plain"):
    path = str(tmp_path / f"{name}.pt")
    ember.jit.save(model, path)
    return path, ember.jit.load(path), torch.jit.load(path)


def test_save_plain_module_torch_reads_it(tmp_path):
    ember.manual_seed(0)
    model = Plain().eval()
    path, e, t = _save_plain(tmp_path, model)
    x = RNG.standard_normal((2, 3, 6, 6)).astype(np.float32)
    with ember.no_grad():
        expected = model(E(x))
    with torch.no_grad():
        close(expected, t(torch.tensor(x)), 1e-5)
    same(e(E(x)), expected)
    assert list(t.state_dict()) == list(model.state_dict())
    assert [n for n, _ in t.named_parameters()] == [n for n, _ in model.named_parameters()]
    assert t.original_name == "Plain" and t.seq.original_name == "Sequential"


def test_save_plain_module_in_train_mode_updates_running_stats(tmp_path):
    ember.manual_seed(0)
    nn = ember.nn
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                          nn.Linear(64, 2))
    path, e, t = _save_plain(tmp_path, model, "train")
    x = RNG.standard_normal((4, 3, 6, 6)).astype(np.float32)
    with ember.no_grad():
        expected = model(E(x))
    close(expected, t(torch.tensor(x)).detach(), 1e-5)
    bn_t, bn_e = getattr(t, "1"), model[1]
    close(bn_e.running_mean, bn_t.running_mean)
    close(bn_e.running_var, bn_t.running_var)
    close(bn_e.num_batches_tracked, bn_t.num_batches_tracked)


def test_save_vision_resnet18_torch_reads_it(tmp_path):
    from ember.vision import models
    ember.manual_seed(0)
    model = models.resnet18(num_classes=5).eval()
    path, e, t = _save_plain(tmp_path, model, "r18")
    x = RNG.standard_normal((1, 3, 32, 32)).astype(np.float32)
    with ember.no_grad():
        expected = model(E(x))
        same(e(E(x)), expected)
    with torch.no_grad():
        close(expected, t(torch.tensor(x)), 1e-4)


class ScalarArgs(ember.nn.Module):
    def forward(self, x, k: int, s: float):
        return x.view(k, -1) * s, x.size(0) // k


def test_save_plain_module_with_scalar_arguments(tmp_path):
    path, e, t = _save_plain(tmp_path, ScalarArgs(), "scalars")
    x = np.arange(8, dtype=np.float32)
    close(ScalarArgs()(E(x), 2, 1.5), t(torch.tensor(x), 2, 1.5))
    same(e(E(x), 4, -1.0), ScalarArgs()(E(x), 4, -1.0))


class Asserts(ember.nn.Module):
    def forward(self, x):
        ember._assert(x.shape[0] == 2, "batch of 2")
        return x * 2


def test_save_plain_module_with_assert(tmp_path):
    path, e, t = _save_plain(tmp_path, Asserts(), "asserts")
    close(e(ember.ones(2)), t(torch.ones(2)))
    with pytest.raises(torch.jit.Error, match="batch of 2"):
        t(torch.ones(3))
    with pytest.raises(ember.jit.Error, match="AssertionError: batch of 2"):
        e(ember.ones(3))


class Attends(ember.nn.Module):
    def __init__(self, batch_first):
        super().__init__()
        self.mha = ember.nn.MultiheadAttention(8, 2, batch_first=batch_first)

    def forward(self, x, pad):
        a, w = self.mha(x, x, x, key_padding_mask=pad)
        return a, w, self.mha(x, x, x, need_weights=False)[0]


@pytest.mark.parametrize("batch_first", [True, False])
def test_save_plain_multihead_attention(tmp_path, batch_first):
    ember.manual_seed(0)
    model = Attends(batch_first).eval()
    path, e, t = _save_plain(tmp_path, model, "mha")
    x = RNG.standard_normal((2, 3, 8)).astype(np.float32)
    pad = np.zeros((2, 3) if batch_first else (3, 2), dtype=bool)
    pad[0, -1] = True
    with ember.no_grad():
        expected = model(E(x), E(pad))
        close(e(E(x), E(pad)), tuple(torch.tensor(v.numpy()) for v in expected), 1e-5)
    close(expected, t(torch.tensor(x), torch.tensor(pad)), 1e-5)


def test_save_vision_transformer_torch_reads_it(tmp_path):
    from ember.vision.models import VisionTransformer
    ember.manual_seed(0)
    model = VisionTransformer(32, 8, 2, 2, 16, 32, num_classes=5).eval()
    with ember.no_grad():
        for p in model.heads.parameters():   # the head starts at zero
            p.normal_()
    path, e, t = _save_plain(tmp_path, model, "vit")
    x = RNG.standard_normal((2, 3, 32, 32)).astype(np.float32)
    with ember.no_grad():
        expected = model(E(x))
        close(e(E(x)), torch.tensor(expected.numpy()), 1e-4)
    with torch.no_grad():
        close(expected, t(torch.tensor(x)), 1e-4)


class CallsTorchFunctions(ember.nn.Module):
    def forward(self, x):
        return ember.relu(ember.flatten(x, 1))


def test_save_traces_through_untemplated_ember_layers(tmp_path):
    """ember.nn layers without a template (PReLU, Bilinear) are traced into their calls."""
    ember.manual_seed(0)
    nn = ember.nn
    model = nn.Sequential(nn.Linear(4, 4), nn.PReLU(), nn.Linear(4, 2))
    path, e, t = _save_plain(tmp_path, model, "prelu")
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    close(model(E(x)), t(torch.tensor(x)).detach())
    assert list(t.state_dict()) == list(model.state_dict())


def test_save_sees_through_function_wrappers(tmp_path, monkeypatch):
    """The namespace may hold a wrapper around the function fx recorded (the Tensor-function
    dispatchers wrap ember's functions, and wrap them anew when switched off and on): the
    function is still found by name. (A wrapper is put in place with monkeypatch, so the
    process's dispatch state is left as it was.)"""
    from ember.jit import _codegen
    for name in ("flatten", "relu"):
        inner = getattr(ember, name)

        @functools.wraps(inner)
        def wrapper(*args, _inner=inner, **kwargs):
            return _inner(*args, **kwargs)
        monkeypatch.setattr(ember, name, wrapper)
        assert _codegen._is(ember, name, inspect.unwrap(inner))
        assert _codegen._is(ember, name, wrapper)
    x = RNG.standard_normal((2, 3, 2)).astype(np.float32)
    path = str(tmp_path / "wrapped.pt")
    ember.jit.save(CallsTorchFunctions(), path)
    close(CallsTorchFunctions()(E(x)), torch.jit.load(path)(torch.tensor(x)))


def test_save_of_untemplated_module_raises_not_implemented(tmp_path):
    nn = ember.nn
    class Gate(nn.Module):
        def forward(self, x):
            for _ in x:   # iterating a traced tensor: fx cannot trace it
                x = -x
            return x

    with pytest.raises(NotImplementedError,
                       match="Gate \\('1', which has no template\\).*state_dict"):
        # (LSTM/GRU/RNN and their cells have templates: tests/test_jit_rnn_save_ni.py;
        # LPPool2d, MaxUnpool2d and others: tests/test_jit_layers_save_js.py)
        ember.jit.save(nn.Sequential(nn.Linear(2, 2), Gate()), str(tmp_path / "m.pt"))
    assert not os.path.exists(tmp_path / "m.pt")

    class WithDefault(nn.Module):
        def forward(self, x, *rest):   # (defaults: tests/test_jit_functions_save_js.py)
            return x
    with pytest.raises(NotImplementedError, match="variadic.*ember.jit.trace"):
        ember.jit.save(WithDefault(), str(tmp_path / "m.pt"))

    class DataDependent(nn.Module):
        def forward(self, x):
            while True:   # a loop left by a branch on a value (while x.sum() > 0: saves)
                if x.sum() <= 0:
                    break
                x = x - 1
            return x
    with pytest.raises(NotImplementedError,
                       match=r"loops on a traced value at .*if x.sum\(\) <= 0:"):
        ember.jit.save(DataDependent(), str(tmp_path / "m.pt"))


# ----------------------------------------------------------------------------- safety

def _rewrite(src, dst, edit):
    """Copy archive `src` to `dst`, `edit(name, data)` giving each record's new bytes."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, edit(info.filename, zin.read(info.filename)))


def _mlp_archive(tmp_path):
    path = str(tmp_path / "mlp.pt")
    torch.jit.save(torch.jit.script(MLP()), path)
    return path


def _with_forward_line(tmp_path, line):
    """An MLP archive whose top class's forward starts with `line`."""
    src = _mlp_archive(tmp_path)
    dst = str(tmp_path / "crafted.pt")

    def edit(name, data):
        if name.endswith(".py") and b"class MLP" in data:
            text = data.decode()
            head = text.index("Tensor:\n", text.index("def forward")) + len("Tensor:\n")
            return (text[:head] + f"    {line}\n" + text[head:]).encode()
        return data
    _rewrite(src, dst, edit)
    return dst


def test_code_calling_import_raises_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    dst = _with_forward_line(tmp_path, f"_9 = __import__('os').system('touch {marker}')")
    m = ember.jit.load(dst)   # loading parses only
    with pytest.raises(NotImplementedError, match="__import__"):
        m(E(np.ones((2, 4), np.float32)))
    assert not marker.exists()


@pytest.mark.parametrize("line,err", [
    ("_9 = getattr(x, '__class__')", NotImplementedError),
    ("_9 = x.__class__", NotImplementedError),
    ("_9 = (self).__dict__", AttributeError),
    ("_9 = torch.some_unknown_op(x)", NotImplementedError),
    ("_9 = ops.prim.system('ls')", NotImplementedError),
    ("_9 = eval('1')", NotImplementedError),
    ("_9 = [v for v in range(3)]", NotImplementedError),
    ("_9 = (lambda: 1)()", NotImplementedError),
])
def test_code_reaching_outside_the_tables_raises(tmp_path, line, err):
    m = ember.jit.load(_with_forward_line(tmp_path, line))
    with pytest.raises(err):
        m(E(np.ones((2, 4), np.float32)))


def test_unknown_op_error_names_the_op(tmp_path):
    m = ember.jit.load(_with_forward_line(tmp_path, "_9 = torch.frobnicate(x, 2)"))
    with pytest.raises(NotImplementedError, match="torch.frobnicate"):
        m(E(np.ones((2, 4), np.float32)))


def test_format_looks_nothing_up(tmp_path):
    m = ember.jit.load(_with_forward_line(
        tmp_path, "ops.prim.RaiseException(torch.format('{0.__class__} {}', x), 'x')"))
    with pytest.raises(ember.jit.Error) as info:
        m(E(np.ones((2, 4), np.float32)))
    assert "{0.__class__}" in str(info.value) and "Tensor" not in str(info.value).split(
        "{0.__class__}")[0]


def test_unknown_global_in_data_pkl_raises_and_runs_nothing(tmp_path):
    src = _mlp_archive(tmp_path)
    dst = str(tmp_path / "evil.pt")
    marker = tmp_path / "pwned2"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    def edit(name, data):
        if name.endswith("/data.pkl"):
            return pickle.dumps(Evil(), protocol=2)
        return data
    _rewrite(src, dst, edit)
    with pytest.raises(pickle.UnpicklingError):
        ember.jit.load(dst)
    assert not marker.exists()


def test_invalid_class_name_in_data_pkl_raises(tmp_path):
    src = _mlp_archive(tmp_path)
    dst = str(tmp_path / "bad.pt")

    def edit(name, data):
        if name.endswith("/data.pkl"):
            assert b"\nMLP\n" in data
            return data.replace(b"\nMLP\n", b"\nMLP;x\n")
        return data
    _rewrite(src, dst, edit)
    with pytest.raises((ValueError, RuntimeError)):
        ember.jit.load(dst)


@pytest.mark.parametrize("name", [b"forward", b"__class__", b"_parameters", b"__dict__"])
def test_pickled_attribute_names_cannot_shadow_the_module(tmp_path, name):
    src = _mlp_archive(tmp_path)
    dst = str(tmp_path / "shadow.pt")
    old = b"X\x16\x00\x00\x00_is_full_backward_hook"

    def edit(record, data):
        if record.endswith("/data.pkl"):
            assert old in data
            return data.replace(old, b"X" + len(name).to_bytes(4, "little") + name, 1)
        return data
    _rewrite(src, dst, edit)
    e = ember.jit.load(dst)
    x = torch.randn(2, 4)
    close(e(E(x.numpy())), torch.jit.load(src)(x))
    assert type(e) is ember.jit.RecursiveScriptModule
    assert isinstance(e._parameters, dict) and callable(e.forward)


def test_parameter_that_is_not_a_tensor_refused(tmp_path):
    src = _mlp_archive(tmp_path)
    dst = str(tmp_path / "param.pt")

    def edit(name, data):
        if name.endswith(".py") and b"class Linear" in data:
            return data.replace(b'__parameters__ = ["weight", "bias", ]',
                                b'__parameters__ = ["weight", "bias", "training", ]')
        return data
    _rewrite(src, dst, edit)
    with pytest.raises(RuntimeError, match="training is listed as a parameter"):
        ember.jit.load(dst)


def test_top_level_statement_in_code_refused(tmp_path):
    src = _mlp_archive(tmp_path)
    dst = str(tmp_path / "top.pt")

    def edit(name, data):
        if name.endswith(".py") and b"class MLP" in data:
            return b"import os\n" + data
        return data
    _rewrite(src, dst, edit)
    with pytest.raises(NotImplementedError, match="Import"):
        ember.jit.load(dst)
