"""Layers and losses against torch: build both modules, copy torch's state_dict into
ember through NumPy, run the same input forward and backward, and compare outputs,
input gradients and every parameter gradient; reprs must be identical."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

import ember
from tests.nn._compare import check_repr

rng = np.random.default_rng(0)


def f32(*s):
    return rng.standard_normal(s).astype(np.float32)


def run_layer(make, inputs, rtol=1e-5, atol=1e-6, train=True, double=False, ngrad=None):
    tm, em = make(torch), make(ember)
    if double:
        tm, em = tm.double(), em.double()
    em.load_state_dict(OrderedDict((k, ember.from_numpy(v.detach().numpy().copy()))
                                   for k, v in tm.state_dict().items()))
    tm.train(train)
    em.train(train)
    check_repr(em, tm)
    ngrad = len(inputs) if ngrad is None else ngrad
    t_in = [torch.from_numpy(x.copy()).requires_grad_(x.dtype.kind == "f" and i < ngrad)
            for i, x in enumerate(inputs)]
    e_in = [ember.tensor(x.copy()).requires_grad_(x.dtype.kind == "f" and i < ngrad)
            for i, x in enumerate(inputs)]
    to, eo = tm(*t_in), em(*e_in)
    assert eo.dtype.name == str(to.dtype).split(".")[-1]
    assert tuple(eo.shape) == tuple(to.shape)
    np.testing.assert_allclose(eo.detach().cpu().numpy(), to.detach().cpu().numpy(), rtol=rtol, atol=atol)
    if not to.requires_grad:
        return
    # a fresh generator: the module's `rng` stands where the tests run before left it, which
    # pytest-xdist changes from run to run
    w = np.random.default_rng(1).standard_normal(tuple(to.shape)).astype(
        to.detach().cpu().numpy().dtype)
    (to * torch.from_numpy(w)).sum().backward()
    (eo * ember.tensor(w.copy())).sum().backward()
    for i, (a, b) in enumerate(zip(t_in, e_in)):
        if isinstance(a, torch.Tensor) and a.requires_grad and a.grad is not None:
            np.testing.assert_allclose(b.grad.cpu().numpy(), a.grad.cpu().numpy(), rtol=rtol, atol=atol,
                                       err_msg=f"input {i} grad")
    for (n, a), (_, b) in zip(tm.named_parameters(), em.named_parameters()):
        if a.grad is None:
            assert b.grad is None, n
            continue
        np.testing.assert_allclose(b.grad.cpu().numpy(), a.grad.cpu().numpy(), rtol=rtol, atol=atol,
                                   err_msg=n)


LAYERS = [
    ("Linear", lambda L: L.nn.Linear(5, 3), [f32(4, 5)]),
    ("Linear-nobias", lambda L: L.nn.Linear(5, 3, bias=False), [f32(4, 5)]),
    ("Linear-3d", lambda L: L.nn.Linear(5, 3), [f32(2, 4, 5)]),
    ("Linear-1d", lambda L: L.nn.Linear(5, 3), [f32(5)]),
    ("Linear-no-outputs", lambda L: L.nn.Linear(5, 0), [f32(2, 4, 5)]),
    ("Bilinear", lambda L: L.nn.Bilinear(3, 4, 2), [f32(5, 3), f32(5, 4)]),
    ("Identity", lambda L: L.nn.Identity(3, x=1), [f32(2, 3)]),
    ("Flatten", lambda L: L.nn.Flatten(), [f32(2, 3, 4)]),
    ("Flatten-args", lambda L: L.nn.Flatten(0, 1), [f32(2, 3, 4)]),
    ("Dropout-eval", lambda L: L.nn.Dropout(0.3), [f32(4, 5)]),
    ("ReLU", lambda L: L.nn.ReLU(), [f32(3, 4)]),
    ("ReLU6", lambda L: L.nn.ReLU6(), [f32(3, 4) * 5]),
    ("LeakyReLU", lambda L: L.nn.LeakyReLU(0.2), [f32(3, 4)]),
    ("ELU", lambda L: L.nn.ELU(alpha=0.5), [f32(3, 4)]),
    ("SELU", lambda L: L.nn.SELU(), [f32(3, 4)]),
    ("CELU", lambda L: L.nn.CELU(alpha=2.0), [f32(3, 4)]),
    ("GELU", lambda L: L.nn.GELU(), [f32(3, 4)]),
    ("GELU-tanh", lambda L: L.nn.GELU(approximate="tanh"), [f32(3, 4)]),
    ("SiLU", lambda L: L.nn.SiLU(), [f32(3, 4)]),
    ("Mish", lambda L: L.nn.Mish(), [f32(3, 4)]),
    ("Sigmoid", lambda L: L.nn.Sigmoid(), [f32(3, 4)]),
    ("LogSigmoid", lambda L: L.nn.LogSigmoid(), [f32(3, 4) * 10]),
    ("Tanh", lambda L: L.nn.Tanh(), [f32(3, 4)]),
    ("Hardtanh", lambda L: L.nn.Hardtanh(-0.5, 0.5), [f32(3, 4)]),
    ("Hardsigmoid", lambda L: L.nn.Hardsigmoid(), [f32(3, 4) * 4]),
    ("Hardswish", lambda L: L.nn.Hardswish(), [f32(3, 4) * 4]),
    ("Hardshrink", lambda L: L.nn.Hardshrink(0.3), [f32(3, 4)]),
    ("Softshrink", lambda L: L.nn.Softshrink(0.3), [f32(3, 4)]),
    ("Tanhshrink", lambda L: L.nn.Tanhshrink(), [f32(3, 4)]),
    ("Softplus", lambda L: L.nn.Softplus(beta=2, threshold=5), [f32(3, 4) * 4]),
    ("Softsign", lambda L: L.nn.Softsign(), [f32(3, 4)]),
    ("Threshold", lambda L: L.nn.Threshold(0.1, -2.0), [f32(3, 4)]),
    ("GLU", lambda L: L.nn.GLU(), [f32(3, 4)]),
    ("PReLU", lambda L: L.nn.PReLU(), [f32(3, 4)]),
    ("PReLU-channels", lambda L: L.nn.PReLU(4), [f32(2, 4, 3)]),
    ("Softmax", lambda L: L.nn.Softmax(dim=1), [f32(3, 4)]),
    ("Softmax-neg", lambda L: L.nn.Softmax(dim=-1), [f32(2, 3, 4)]),
    ("LogSoftmax", lambda L: L.nn.LogSoftmax(dim=1), [f32(3, 4) * 10]),
    ("Softmin", lambda L: L.nn.Softmin(dim=0), [f32(3, 4)]),
    ("Softmax2d", lambda L: L.nn.Softmax2d(), [f32(2, 3, 4, 4)]),
    ("Sequential", lambda L: L.nn.Sequential(L.nn.Linear(4, 8), L.nn.ReLU(), L.nn.Linear(8, 2),
                                             L.nn.Softmax(dim=1)), [f32(5, 4)]),
    ("float64-Linear", lambda L: L.nn.Linear(3, 2), [rng.standard_normal((4, 3))]),
    # 3-D and 4-D inputs take one GEMM over the leading dims; a 0-size dim must not break it
    ("Linear-3d", lambda L: L.nn.Linear(5, 3), [f32(2, 4, 5)]),
    ("Linear-4d-nobias", lambda L: L.nn.Linear(5, 3, bias=False), [f32(2, 3, 2, 5)]),
    ("Linear-3d-empty", lambda L: L.nn.Linear(5, 3), [f32(2, 0, 5)]),
    ("Linear-1d", lambda L: L.nn.Linear(5, 3), [f32(5)]),
    ("Linear-no-outputs", lambda L: L.nn.Linear(5, 0), [f32(2, 4, 5)]),
]


@pytest.mark.parametrize("name,make,inputs", LAYERS, ids=[x[0] for x in LAYERS])
def test_layer(name, make, inputs):
    run_layer(make, inputs, double=name.startswith("float64"), train="-eval" not in name)


def target_class(n, c):
    return rng.integers(0, c, n)


LOSSES = [
    ("MSELoss", lambda L: L.nn.MSELoss(), [f32(4, 3), f32(4, 3)]),
    ("MSELoss-sum", lambda L: L.nn.MSELoss(reduction="sum"), [f32(4, 3), f32(4, 3)]),
    ("MSELoss-none", lambda L: L.nn.MSELoss(reduction="none"), [f32(4, 3), f32(4, 3)]),
    ("L1Loss", lambda L: L.nn.L1Loss(), [f32(4, 3), f32(4, 3)]),
    ("SmoothL1Loss", lambda L: L.nn.SmoothL1Loss(beta=0.5), [f32(4, 3), f32(4, 3)]),
    ("HuberLoss", lambda L: L.nn.HuberLoss(delta=0.7), [f32(4, 3), f32(4, 3)]),
    ("BCELoss", lambda L: L.nn.BCELoss(),
     [rng.uniform(0.05, 0.95, (4, 3)).astype(np.float32),
      rng.uniform(0, 1, (4, 3)).astype(np.float32)]),
    ("BCELoss-weight", lambda L: L.nn.BCELoss(weight=L.tensor([1.0, 2.0, 0.5]),
                                              reduction="sum"),
     [rng.uniform(0.05, 0.95, (4, 3)).astype(np.float32),
      rng.integers(0, 2, (4, 3)).astype(np.float32)]),
    ("BCEWithLogitsLoss", lambda L: L.nn.BCEWithLogitsLoss(),
     [f32(4, 3) * 30, rng.uniform(0, 1, (4, 3)).astype(np.float32)]),
    ("BCEWithLogitsLoss-pw", lambda L: L.nn.BCEWithLogitsLoss(pos_weight=L.tensor([1.0, 3.0,
                                                                                    0.5])),
     [f32(4, 3), rng.integers(0, 2, (4, 3)).astype(np.float32)]),
    ("CrossEntropyLoss", lambda L: L.nn.CrossEntropyLoss(), [f32(5, 4), target_class(5, 4)]),
    ("CrossEntropyLoss-weight-ignore",
     lambda L: L.nn.CrossEntropyLoss(weight=L.tensor([1.0, 2.0, 0.5, 1.5]), ignore_index=1),
     [f32(6, 4), np.array([0, 1, 2, 3, 1, 0])]),
    ("CrossEntropyLoss-smooth", lambda L: L.nn.CrossEntropyLoss(label_smoothing=0.1),
     [f32(5, 4), target_class(5, 4)]),
    ("CrossEntropyLoss-smooth-weight",
     lambda L: L.nn.CrossEntropyLoss(weight=L.tensor([1.0, 2.0, 0.5, 1.5]), label_smoothing=0.2),
     [f32(5, 4), target_class(5, 4)]),
    ("CrossEntropyLoss-probs", lambda L: L.nn.CrossEntropyLoss(),
     [f32(5, 4), np.full((5, 4), 0.25, dtype=np.float32)]),
    ("CrossEntropyLoss-kdim", lambda L: L.nn.CrossEntropyLoss(),
     [f32(2, 3, 4, 5), rng.integers(0, 3, (2, 4, 5))]),
    ("CrossEntropyLoss-none", lambda L: L.nn.CrossEntropyLoss(reduction="none"),
     [f32(5, 4), target_class(5, 4)]),
    ("CrossEntropyLoss-1d", lambda L: L.nn.CrossEntropyLoss(), [f32(4), np.array(2)]),
    ("NLLLoss", lambda L: L.nn.NLLLoss(), [f32(5, 4), target_class(5, 4)]),
    ("NLLLoss-sum", lambda L: L.nn.NLLLoss(reduction="sum"), [f32(5, 4), target_class(5, 4)]),
    ("KLDivLoss", lambda L: L.nn.KLDivLoss(reduction="batchmean"),
     [f32(3, 4), rng.uniform(0.1, 1, (3, 4)).astype(np.float32)]),
    ("KLDivLoss-logt", lambda L: L.nn.KLDivLoss(reduction="sum", log_target=True),
     [f32(3, 4), f32(3, 4)]),
    ("SoftMarginLoss", lambda L: L.nn.SoftMarginLoss(),
     [f32(3, 4), np.sign(f32(3, 4))]),
    ("MarginRankingLoss", lambda L: L.nn.MarginRankingLoss(0.1),
     [f32(6), f32(6), np.sign(f32(6))]),
    ("HingeEmbeddingLoss", lambda L: L.nn.HingeEmbeddingLoss(),
     [f32(6), np.sign(f32(6))]),
    ("CosineEmbeddingLoss", lambda L: L.nn.CosineEmbeddingLoss(0.2),
     [f32(4, 3), f32(4, 3), np.sign(f32(4))]),
    ("TripletMarginLoss", lambda L: L.nn.TripletMarginLoss(), [f32(4, 3), f32(4, 3), f32(4, 3)]),
    ("PoissonNLLLoss", lambda L: L.nn.PoissonNLLLoss(), [f32(4, 3), rng.poisson(2, (4, 3))
                                                         .astype(np.float32)]),
    ("GaussianNLLLoss", lambda L: L.nn.GaussianNLLLoss(),
     [f32(4, 3), f32(4, 3), rng.uniform(0.5, 2, (4, 3)).astype(np.float32)]),
    ("MultiLabelSoftMarginLoss", lambda L: L.nn.MultiLabelSoftMarginLoss(),
     [f32(4, 3), rng.integers(0, 2, (4, 3)).astype(np.float32)]),
]


@pytest.mark.parametrize("name,make,inputs", LOSSES, ids=[x[0] for x in LOSSES])
def test_loss(name, make, inputs):
    multi = ("MarginRankingLoss", "CosineEmbeddingLoss", "TripletMarginLoss", "MSELoss",
             "L1Loss", "GaussianNLLLoss")
    run_layer(make, inputs, rtol=1e-5, atol=1e-5,
              ngrad=len(inputs) if name.split("-")[0] in multi else 1)


def test_loss_node_names():
    x = ember.randn(4, 3, requires_grad=True)
    t = ember.randn(4, 3)
    assert ember.nn.functional.mse_loss(x, t).grad_fn.name() == "MseLossBackward0"
    assert ember.nn.functional.cross_entropy(x, ember.tensor([0, 1, 2, 0])).grad_fn.name() == \
        "NllLossBackward0"
    assert ember.nn.functional.linear(x, ember.randn(2, 3)).grad_fn.name() == "MmBackward0"
    lin = ember.nn.Linear(3, 2)
    assert lin(x).grad_fn.name() == "AddmmBackward0"


def test_bad_shapes_raise_like_torch():
    for lib, exc in ((torch, None), (ember, None)):
        with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied "
                                               r"\(4x3 and 5x2\)"):
            lib.nn.Linear(5, 2)(lib.randn(4, 3))
        with pytest.raises(ValueError):
            lib.nn.CrossEntropyLoss()(lib.randn(4, 3), lib.tensor([0, 1]))
        if lib is torch or lib.get_default_device().type == "cpu":
            # on CUDA ember checks no target range (see ember/_ops/loss.py _class_targets)
            with pytest.raises(IndexError):
                lib.nn.CrossEntropyLoss()(lib.randn(2, 3), lib.tensor([0, 5]))
        with pytest.raises(ValueError):
            lib.nn.MSELoss(reduction="avg")(lib.randn(2), lib.randn(2))


def test_dropout_train_statistics():
    ember.manual_seed(0)
    x = ember.ones(100000)
    y = ember.nn.Dropout(0.3)(x)
    zeros = float((y == 0).sum().item()) / x.numel()
    assert abs(zeros - 0.3) < 0.01
    np.testing.assert_allclose(y[y != 0].cpu().numpy(), 1 / 0.7, rtol=1e-6)


def test_default_init_distribution():
    ember.manual_seed(0)
    lin = ember.nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    w = lin.weight.detach().cpu().numpy()
    assert w.min() >= -bound * (1 + 1e-6) and w.max() <= bound * (1 + 1e-6)
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01 * bound
    b = lin.bias.detach().cpu().numpy()
    assert b.min() >= -bound * (1 + 1e-6) and b.max() <= bound * (1 + 1e-6)


@pytest.mark.parametrize("case", ["both", "weight-only", "input-only", "nobias-3d"])
def test_linear_array_backward(ember_device, case):
    """Linear's backward without create_graph runs on arrays (g w, g^T x, the bias sum):
    each set of needed gradients, 2-D and 3-D inputs, against torch."""
    shape = (2, 48, 301) if case == "nobias-3d" else (96, 301)
    x = f32(*shape)
    tm = torch.nn.Linear(301, 321, bias=case != "nobias-3d")
    em = ember.nn.Linear(301, 321, bias=case != "nobias-3d").to(ember_device)
    em.load_state_dict({k: ember.from_numpy(v.detach().numpy().copy())
                        for k, v in tm.state_dict().items()})
    if case == "input-only":
        for lib_m in (tm, em):
            lib_m.requires_grad_(False)
    tx = torch.from_numpy(x.copy()).requires_grad_(case != "weight-only")
    ex = ember.from_numpy(x.copy()).to(ember_device).requires_grad_(case != "weight-only")
    to, eo = tm(tx), em(ex)
    np.testing.assert_allclose(eo.detach().cpu().numpy(), to.detach().numpy(), rtol=1e-4,
                               atol=1e-4)
    g = f32(*to.shape)
    to.backward(torch.from_numpy(g))
    eo.backward(ember.from_numpy(g.copy()).to(ember_device))
    pairs = [(ex.grad, tx.grad)] + [(b.grad, a.grad) for a, b in
                                    zip(tm.parameters(), em.parameters())]
    for e, t in pairs:
        assert (e is None) == (t is None)
        if t is not None:
            np.testing.assert_allclose(e.cpu().numpy(), t.numpy(), rtol=1e-4, atol=1e-3)
