"""The events ember's profiler lists for the common layers, against PyTorch's CPU profiler
on the same programs: the composite operators a program calls (``aten::linear``,
``aten::conv2d``, ``aten::cross_entropy_loss`` ...), their counts, the ops nested in them,
the backward nodes and the optimizer's step blocks. Names, counts and nesting only, never
times. PyTorch lists more events below the composites (allocations, ``aten::t``,
``aten::as_strided`` ...): ember's events must be found in PyTorch's tree at the same
place, and PyTorch's top-level events in ember's, but for the few listed here."""
from collections import Counter

import pytest
import torch

import ember
import ember.nn.functional as F
from ember.profiler import _recorder

BACKWARD = "autograd::engine::evaluate_function: "

# top-level events PyTorch has and ember does not: allocations and bookkeeping PyTorch's
# modules run as ops (the RNN's zero hidden state aten::zeros, backward's seed gradient
# aten::ones_like, mse_loss's aten::broadcast_tensors), and autograd nodes of PyTorch's
# decompositions (ember's cross entropy is one fused op, without PyTorch's
# LogSoftmaxBackward0 node). (Linear's TBackward0 node is in both: ember's linear has it.)
TORCH_ONLY_ROOTS = {"aten::zeros", "aten::ones_like", "aten::broadcast_tensors",
                    "aten::empty",
                    BACKWARD + "TransposeBackward0", BACKWARD + "UnsafeViewBackward0",
                    BACKWARD + "LogSoftmaxBackward0", BACKWARD + "ExpandBackward0",
                    BACKWARD + "CloneBackward0"}
# (ember's CPU dropout node is PyTorch's MulBackward0, as its CPU dropout multiplies)
EMBER_ONLY_ROOTS = set()


def cnn(lib, train):
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Dropout(0.5), nn.Flatten(), nn.Linear(4 * 3 * 3, 5))
    x = lib.randn(2, 3, 8, 8)
    y = lib.tensor([1, 2])
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    if not train:
        model.eval()
    with lib.profiler.profile(activities=[lib.profiler.ProfilerActivity.CPU],
                              record_shapes=True) as prof:
        if train:
            loss = nn.CrossEntropyLoss()(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        else:
            with lib.no_grad():
                model(x)
    return prof


def mlp(lib):
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.GELU(), nn.Linear(8, 2))
    x, y = lib.randn(3, 4), lib.randn(3, 2)
    opt = lib.optim.Adam(model.parameters())
    with lib.profiler.profile(activities=[lib.profiler.ProfilerActivity.CPU],
                              record_shapes=True) as prof:
        loss = nn.MSELoss()(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return prof


def layers(lib):
    """Embedding, LSTM, matmul (function and operator), softmax, log_softmax, view."""
    nn = lib.nn
    lib.manual_seed(0)
    emb, lstm = nn.Embedding(10, 4), nn.LSTM(4, 3, batch_first=True)
    idx = lib.tensor([[1, 2, 3]])
    a, b = lib.randn(3, 4), lib.randn(4, 5)
    with lib.profiler.profile(activities=[lib.profiler.ProfilerActivity.CPU],
                              record_shapes=True) as prof:
        with lib.no_grad():
            lstm(emb(idx))
            lib.matmul(a, b)
            a @ b
            lib.softmax(a, dim=1)
            lib.nn.functional.log_softmax(a, dim=0)
            a.view(12)
            a.flatten()
            lib.nn.functional.relu(a)
            a.relu()
            lib.relu(a)
    return prof


def attention(lib):
    """scaled_dot_product_attention forward and backward."""
    lib.manual_seed(0)
    q, k, v = (lib.randn(2, 2, 3, 4, requires_grad=True) for _ in range(3))
    with lib.profiler.profile(activities=[lib.profiler.ProfilerActivity.CPU],
                              record_shapes=True) as prof:
        lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True).sum().backward()
    return prof


def more_layers(lib):
    """Conv1d, GroupNorm, max_pool1d with indices, l1_loss, nll_loss, log_softmax, mean,
    forward only."""
    nn, F = lib.nn, lib.nn.functional
    lib.manual_seed(0)
    conv, gn = nn.Conv1d(2, 4, 3), nn.GroupNorm(2, 4)
    x, t = lib.randn(2, 2, 7), lib.tensor([0, 1])
    with lib.profiler.profile(record_shapes=True) as prof:
        y = gn(conv(x))
        out, idx = F.max_pool1d(y, 2, return_indices=True)
        F.l1_loss(out, out)
        F.nll_loss(F.log_softmax(y.mean(2), 1), t)
    return prof


PROGRAMS = {"attention": attention, "more_layers": more_layers,"cnn_train": lambda lib: cnn(lib, True),
            "cnn_eval": lambda lib: cnn(lib, False),
            "mlp_adam": mlp,
            "layers": layers}


def roots(prof):
    """The top-level events' names and input shapes (PyTorch's operator's arguments in its
    order: a Tensor's shape, [] for anything else). The trailing []s are dropped: ember's
    plain ops (aten::view, aten::gelu) list only their Tensor arguments' shapes."""
    def shapes(event):
        listed = list(event.input_shapes or [])
        while listed and listed[-1] == []:
            listed.pop()
        return str(listed)
    return Counter((e.name, shapes(e)) for e in prof.events() if e.cpu_parent is None)


def ancestry_pairs(prof):
    """(ancestor, descendant) name pairs of the event tree."""
    pairs = set()
    for e in prof.events():
        parent = e.cpu_parent
        while parent is not None:
            pairs.add((parent.name, e.name))
            parent = parent.cpu_parent
    return pairs


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_top_level_events_match_torch(name):
    mine, theirs = roots(PROGRAMS[name](ember)), roots(PROGRAMS[name](torch))
    theirs = Counter({k: n for k, n in theirs.items() if k[0] not in TORCH_ONLY_ROOTS})
    mine = Counter({k: n for k, n in mine.items() if k[0] not in EMBER_ONLY_ROOTS})
    assert mine == theirs


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_nesting_is_found_in_torch(name):
    """Each event ember nests in another, PyTorch nests (maybe deeper) in one of the same
    name; ops of ember's own (``ember::``) and ops PyTorch runs under other names
    are the exceptions listed."""
    theirs = ancestry_pairs(PROGRAMS[name](torch))
    missing = []
    for e in PROGRAMS[name](ember).events():
        if e.cpu_parent is not None and (e.cpu_parent.name, e.name) not in theirs:
            missing.append((e.cpu_parent.name, e.name))
    assert not [pair for pair in missing if pair not in EMBER_ONLY_NESTING], missing


# (parent, child) pairs ember has and PyTorch does not: ember runs CPU dropout as
# PyTorch's CUDA does (one native_dropout op), its LSTM picks time steps with index and
# its cross entropy is one fused nll_loss op whose backward node is NllLossBackward0
EMBER_ONLY_NESTING = {
    ("aten::dropout", "aten::native_dropout"),
    ("aten::lstm", "aten::index"),
    ("aten::cross_entropy_loss", "aten::nll_loss"),
    ("ConvolutionBackward0", "aten::convolution"),
    ("ViewBackward0", "aten::view"),
}


UNLISTED = {"cnn_train": {"aten::log_softmax"}}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_composite_counts_in_key_averages_match_torch(name):
    composites = {"aten::linear", "aten::conv2d", "aten::relu", "aten::max_pool2d",
                  "aten::dropout", "aten::batch_norm", "aten::native_batch_norm",
                  "aten::layer_norm", "aten::native_layer_norm", "aten::flatten",
                  "aten::cross_entropy_loss", "aten::mse_loss", "aten::matmul",
                  "aten::addmm", "aten::softmax", "aten::log_softmax", "aten::embedding",
                  "aten::lstm", "aten::gelu",
                  "Optimizer.step#SGD.step", "Optimizer.zero_grad#SGD.zero_grad",
                  "Optimizer.step#Adam.step", "Optimizer.zero_grad#Adam.zero_grad"}

    # ember's fused cross entropy runs no log_softmax of its own
    composites -= UNLISTED.get(name, set())

    def counts(prof):
        return {a.key: a.count for a in prof.key_averages() if a.key in composites}
    assert counts(PROGRAMS[name](ember)) == counts(PROGRAMS[name](torch))


def test_table_rows_match_torch():
    """The rows of the table a recipe prints, for inference of the CNN."""
    def rows(prof):
        table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=-1)
        names = {line.split()[0] for line in table.splitlines() if line.strip()}
        return {n for n in names if n.startswith(("aten::conv2d", "aten::linear",
                                                  "aten::relu", "aten::max_pool2d",
                                                  "aten::batch_norm", "aten::flatten",
                                                  "aten::dropout"))}
    assert rows(cnn(ember, False)) == rows(cnn(torch, False)) != set()


def test_input_shapes_of_linear_and_matmul_match_torch():
    def shapes(lib):
        lib.manual_seed(0)
        layer = lib.nn.Linear(4, 3)
        x, w = lib.randn(2, 4), lib.randn(4, 5)
        with lib.profiler.profile(record_shapes=True) as prof:
            layer(x)
            lib.matmul(x, w)
        return sorted((a.key, str(a.input_shapes))
                      for a in prof.key_averages(group_by_input_shape=True)
                      if a.key in ("aten::linear", "aten::matmul"))
    assert shapes(ember) == shapes(torch)


def test_composite_wrappers_exist_only_while_recording():
    """No cost when off: the functions are the originals before and after a profile."""
    functional = dict(vars(F))
    methods = dict(vars(ember.Tensor))
    top = dict(vars(ember))
    layer, x = ember.nn.Linear(2, 3), ember.ones(1, 2)   # (its init runs uniform_)
    with ember.profiler.profile() as prof:
        assert getattr(F.linear, "_profiler_composite", False)
        assert getattr(ember.Tensor.__matmul__, "_profiler_composite", False)
        layer(x).flatten()
    assert [e.name for e in prof.events()] == ["aten::linear", "aten::addmm", "aten::flatten",
                                               "aten::view"]
    assert all(vars(F)[k] is v for k, v in functional.items())
    assert all(vars(ember.Tensor)[k] is v for k, v in methods.items())
    assert all(vars(ember)[k] is v for k, v in top.items())
    assert not getattr(F.relu, "_profiler_composite", False)


def test_transformer_layer_built_while_recording_keeps_its_relu_fast_path():
    """F.relu keeps its identity while recording (TransformerEncoderLayer tests
    `activation is F.relu`)."""
    with ember.profiler.profile():
        inside = ember.nn.TransformerEncoderLayer(8, 2, 16).activation_relu_or_gelu
    assert inside == ember.nn.TransformerEncoderLayer(8, 2, 16).activation_relu_or_gelu == 1
    assert _recorder.ACTIVE[0] is None


def test_optimizer_blocks_are_annotations_as_torch():
    def blocks(lib):
        p = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.SGD([p], lr=0.1)
        p.sum().backward()
        with lib.profiler.profile() as prof:
            opt.step()
            opt.zero_grad()
        return [(e.name, e.is_user_annotation) for e in prof.events()
                if e.name.startswith("Optimizer.")]
    assert blocks(ember) == blocks(torch)


def test_a_function_rebound_between_profiles_still_gets_its_event():
    """The wrapper plan kept from an earlier profile is redone when ember rebinds a
    function (as turning the __torch_function__ protocol on does)."""
    import functools
    a, b = ember.ones(2, 3), ember.ones(3, 2)
    with ember.profiler.profile():
        ember.matmul(a, b)
    original = ember.matmul
    rebound = functools.wraps(original)(lambda *args, **kwargs: original(*args, **kwargs))
    ember.matmul = rebound
    try:
        with ember.profiler.profile() as prof:
            ember.matmul(a, b)
        assert ember.matmul is rebound
    finally:
        ember.matmul = original
    assert [e.name for e in prof.events()] == ["aten::matmul", "aten::mm"]


PROTOCOL_PROGRAM = """
def run(lib):
    a, b, w = lib.ones(2, 3), lib.ones(3, 2), lib.ones(4, 3)
    with lib.profiler.profile() as prof:
        lib.matmul(a, b)
        a @ b
        lib.nn.functional.linear(a, w)
        a.relu()
        lib.softmax(a, 0)
        a.flatten()
    return sorted(e.name for e in prof.events() if e.cpu_parent is None)
"""


def test_composite_events_with_the_torch_function_protocol_on():
    """Turning the __torch_function__ protocol on wraps ember's functions again (for
    good, so in a child process): the composites keep their events."""
    import subprocess
    import sys
    code = ("import ember, ember._torch_function as tf\n" + PROTOCOL_PROGRAM +
            "tf.activate()\nprint(run(ember))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    namespace = {}
    exec(PROTOCOL_PROGRAM, namespace)
    assert out.strip() == str(namespace["run"](torch))
