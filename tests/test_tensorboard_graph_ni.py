"""SummaryWriter.add_graph against torch.utils.tensorboard's: the same model built in both
libraries, both graphs read back by TensorBoard (EventAccumulator) and compared: the
IO nodes and their shapes, the ops in order with their module scopes, ATen names and
output shapes, and the parameters each op reads (prim::GetAttr)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from torch.utils.tensorboard import SummaryWriter as TorchWriter  # noqa: E402

import ember  # noqa: E402
from ember.utils.tensorboard import SummaryWriter  # noqa: E402


def tutorial_net(lib):
    """The network of PyTorch's 'Visualizing Models with TensorBoard' tutorial, plus a
    Sequential and an addition."""
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 4 * 4, 120)
            self.head = nn.Sequential(nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = x.view(-1, 16 * 4 * 4)
            x = F.relu(self.fc1(x))
            return self.head(x) + 1

    return Net(), (2, 1, 28, 28)


def norm_net(lib):
    """Eval-mode layers (batch norm, dropout, adaptive pooling), flatten, two outputs."""
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(4)

        def forward(self, x):
            return self.bn(self.conv(x)).relu()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = Block()
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.drop = nn.Dropout(0.5)
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            h = self.pool(self.block(x))
            h = lib.flatten(h, 1)
            return self.fc(self.drop(h)), h

    return Net(), (2, 3, 6, 6)


def sequential(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(5, 3), nn.Tanh(), nn.Linear(3, 1), nn.Sigmoid()), (4, 5)


def read_graph(log_dir):
    acc = EventAccumulator(log_dir)
    acc.Reload()
    assert acc.Tags()["run_metadata"] == ["step1"]
    return acc.Graph()


def summary(graph_def):
    """(IO nodes, ops) of a GraphDef: IO as (kind, shapes, inputs are ops?), ops as (scope,
    op, output shapes, names of the parameters read)."""
    nodes = {n.name: n for n in graph_def.node}

    def shapes(n):
        return [[d.size for d in s.dim] for s in n.attr["_output_shapes"].list.shape]

    def attr_name(n):
        return n.attr["attr"].s.decode().replace("{ name :", "").strip(" }")

    io, ops = [], []
    for n in graph_def.node:
        if n.op == "IO Node":
            io.append((n.name.split("/")[0], shapes(n), len(n.input)))
        elif n.op.startswith("aten::"):
            params = [attr_name(nodes[i]) for i in n.input
                      if i in nodes and nodes[i].op == "prim::GetAttr"]
            ops.append((n.name.rsplit("/", 1)[0], n.op, shapes(n), params))
    return io, ops


@pytest.mark.parametrize("build", [tutorial_net, norm_net, sequential])
def test_add_graph_matches_torch(tmp_path, build):
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    ember.manual_seed(0)
    graphs = {}
    for name, lib, writer_cls in (("ember", ember, SummaryWriter),
                                  ("torch", torch, TorchWriter)):
        model, shape = build(lib)
        x = lib.tensor(rng.standard_normal(shape).astype(np.float32))
        model.train()
        with writer_cls(str(tmp_path / name)) as writer:
            writer.add_graph(model, x)
        assert model.training   # the trace's eval mode is undone
        graphs[name] = summary(read_graph(str(tmp_path / name)))
    (e_io, e_ops), (t_io, t_ops) = graphs["ember"], graphs["torch"]
    assert e_io == t_io
    assert e_ops == t_ops


def test_add_graph_tuple_input_and_untraceable_module(tmp_path):
    """Two inputs given as a tuple; a module of the program with control flow on a tensor
    value is one node of its own scope (PyTorch's trace records the branch taken)."""
    nn = ember.nn

    class Gate(nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x * 2
            return x

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gate = Gate()
            self.fc = nn.Linear(3, 3)

        def forward(self, a, b):
            return self.gate(self.fc(a) + b)

    with SummaryWriter(str(tmp_path)) as writer:
        writer.add_graph(Net(), (ember.ones(2, 3), ember.ones(2, 3)))
    io, ops = summary(read_graph(str(tmp_path)))
    assert io == [("input", [[2, 3]], 0), ("input", [[2, 3]], 0), ("output", [[2, 3]], 1)]
    assert [(scope, op) for scope, op, _, _ in ops] == [
        ("Net/Linear[fc]", "aten::linear"), ("Net", "aten::add"), ("Net/Gate[gate]", "aten::gate")]
