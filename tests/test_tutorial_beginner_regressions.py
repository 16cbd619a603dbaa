"""Defects found by running pytorch/tutorials' beginner_source programs on ember
(bench/script_probe.py); each case is a small program of our own reproducing the defect,
run on ember and on torch and compared (values, dtypes, shapes, or the exception type)."""
import io
import os
import pickle

import pytest

import ember

torch = pytest.importorskip("torch")

from tests.program_compare import run as _run, same  # noqa: E402


def _both(program):
    """program(ember) and program(torch), each reduced by tests.program_compare.run."""
    return _run(program, ember), _run(program, torch)


# ----------------------------------------------------------------- whole-object save/load
# saveloadrun_tutorial / saving_loading_models: torch.save(model, PATH), then
# torch.load(PATH, weights_only=False); ember.save refused any object but tensors and
# containers (TypeError), so whole models, optimizers and checkpoints holding them failed.

def _net_class(m):
    """A small model class built from m.nn, made a global of this file (pickle finds
    classes by module and name)."""
    class Net(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = m.nn.Linear(3, 2)
            self.bn = m.nn.BatchNorm1d(2)
            self.act = m.nn.functional.relu

        def forward(self, x):
            return self.act(self.bn(self.fc(x)))
    Net.__qualname__ = Net.__name__ = f"Net_{m.__name__}"
    globals()[Net.__name__] = Net
    return Net


def _whole_checkpoint(m):
    m.manual_seed(0)
    net = _net_class(m)()
    opt = m.optim.Adam(net.parameters(), lr=0.1)
    net(m.randn(4, 3)).sum().backward()
    opt.step()
    buf = io.BytesIO()
    m.save({"model": net, "opt": opt, "epoch": 3, "dtype": m.float64,
            "size": m.Size([2, 1])}, buf)
    buf.seek(0)
    ck = m.load(buf, weights_only=False)
    net2 = ck["model"].eval()
    return [net2(m.ones(2, 3)), net2.bn.running_mean, net2.fc.weight.requires_grad,
            type(net2.fc.weight).__name__, ck["epoch"], str(ck["dtype"]).split(".")[1],
            list(ck["size"]), ck["opt"].state_dict()["param_groups"][0]["lr"],
            ck["opt"].state_dict()["state"][0]["exp_avg"]]


def _whole_model_weights_only(m):
    buf = io.BytesIO()
    m.save(m.nn.Sequential(m.nn.Linear(2, 2)), buf)
    buf.seek(0)
    return m.load(buf)   # weights_only=True refuses the module class


def _module_map_location(m):
    m.manual_seed(0)
    buf = io.BytesIO()
    m.save(m.nn.Linear(2, 3), buf)
    buf.seek(0)
    lin = m.load(buf, weights_only=False, map_location="cpu")
    return [lin.weight, lin.bias, lin(m.ones(1, 2))]


def _unpicklable(m):
    m.save({"gen": (x for x in [])}, io.BytesIO())


CASES = {
    "save_load_whole_checkpoint": _whole_checkpoint,
    "load_whole_model_weights_only_refused": _whole_model_weights_only,
    "load_whole_model_map_location": _module_map_location,
    "save_unpicklable_raises": _unpicklable,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_case(name):
    ours, theirs = _both(CASES[name])
    assert same(ours, theirs, rtol=1e-5, atol=1e-6), (ours, theirs)


def test_whole_model_weights_only_is_unpickling_error():
    buf = io.BytesIO()
    ember.save(ember.nn.Sequential(ember.nn.Linear(2, 2)), buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError, match="weights_only"):
        ember.load(buf)


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_object_load_runs_no_code(tmp_path):
    """weights_only=False rebuilds objects but refuses to call os.system from a file."""
    marker = tmp_path / "pwned"
    p = tmp_path / "evil.pt"
    ember.save({"x": ember.ones(1), "evil": _Evil(marker)}, p)
    with pytest.raises(pickle.UnpicklingError, match="system"):
        ember.load(p, weights_only=False)
    assert not marker.exists()


def test_load_module_pickled_by_torch(tmp_path):
    """A whole nn.Sequential saved by real torch loads as ember's classes."""
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU())
    p = tmp_path / "m.pt"
    torch.save(tm, p)
    em = ember.load(p, weights_only=False)
    assert type(em[0]) is ember.nn.Linear and type(em[1]) is ember.nn.ReLU
    x = [[0.5, -1.0]]
    assert same(_run(lambda m: em(m.tensor(x)), ember),
                _run(lambda m: tm(m.tensor(x)), torch), rtol=1e-6, atol=1e-6)


# ----------------------------------------------------------------- graph walks
# blitz/neural_networks_tutorial prints loss.grad_fn.next_functions[0][0].next_functions[0][0]:
# torch's AddmmBackward0 lists (bias, input, W^T); ember's linear node listed (input, W, b),
# so the walk reached the ReLU's node instead of the bias's AccumulateGrad.

def _linear_edges(m, bias=True, relu_input=True):
    """For each edge of linear's node: the next node's name and, for an AccumulateGrad,
    which parameter it accumulates into."""
    m.manual_seed(0)
    lin = m.nn.Linear(3, 2, bias=bias)
    x = m.randn(4, 3, requires_grad=relu_input)
    loss = m.nn.functional.mse_loss(lin(m.relu(x)), m.zeros(4, 2))
    node = loss.grad_fn.next_functions[0][0]
    names = {id(lin.weight): "weight", id(lin.bias): "bias", id(x): "x"}

    def describe(fn):
        if fn is None:
            return None
        var = getattr(fn, "variable", None)
        return (fn.name(), names.get(id(var)) if var is not None else None)
    edges = [describe(fn) for fn, _ in node.next_functions]
    return [node.name(), edges[:-1], len(edges)]   # torch's last edge is TBackward0 of W


GRAPH_CASES = {
    "linear_bias_edges": lambda m: _linear_edges(m),
    "linear_bias_edges_leaf_input": lambda m: _linear_edges(m, relu_input=False),
    "linear_nobias_edges": lambda m: _linear_edges(m, bias=False),
}


@pytest.mark.parametrize("name", sorted(GRAPH_CASES))
def test_graph_case(name):
    ours, theirs = _both(GRAPH_CASES[name])
    assert ours == theirs, (ours, theirs)
