"""ember/_fronts.py, session 20: every layer ranked (the order is the ranks', whatever order
the features are first used in), one mark on every front (`layer_of`), the matcher of
the layers that front what is bound (`Fronts.cover`: autocast entries, the profiler's
composites), names bound while a reversible layer was on taken off with it
(`unbind_fronts`), and functions held by the modules ember.fx traces put behind the
__torch_function__ dispatcher (TransformerEncoderLayer(activation="gelu") keeps F.gelu).

The layer orders and leaks are checked in fresh processes: each feature installs once per
process."""
import functools
import io
import warnings
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from ember import _fronts

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _f():
    return "f"


def _g():
    return "g"


def _front_of(f):
    def front():
        return "front of " + f()
    return _fronts.named_as(front, f)


def test_every_front_carries_its_layers_rank():
    fronts = _fronts.Fronts(_fronts.AUTOCAST)
    front = fronts.make(_f, lambda: _front_of(_f))
    assert _fronts.layer_of(front) == _fronts.AUTOCAST and _fronts.layer_of(_f) is None
    # functools.wraps copies the mark of what it wraps: a front of another layer has its own
    outer = _fronts.Fronts(_fronts.PROFILER).make(front, lambda: functools.wraps(front)(
        lambda: front()))
    assert _fronts.layer_of(outer) == _fronts.PROFILER
    unranked = _fronts.Fronts().make(front, lambda: functools.wraps(front)(lambda: front()))
    assert _fronts.layer_of(unranked) is None
    assert sorted(_fronts.LAYERS) == [1, 2, 3, 4, 5]
    assert _fronts.QUANTIZED < _fronts.DISPATCH < _fronts.AUTOCAST < \
        _fronts.TORCH_FUNCTION < _fronts.PROFILER


def test_cover_fronts_what_is_bound_matched_under_other_layers_wrappers():
    @functools.wraps(_f)
    def other_layer():
        return _f()

    space = {"plain": _f, "alias": _f, "held": other_layer, "g": _g, "n": 1}
    fronts = _fronts.Fronts(_fronts.AUTOCAST)
    found = []

    def match(f):
        found.append(f)
        return "op-f" if f is _f else None

    plan = fronts.cover([space], match, lambda value, op: _front_of(value))
    by_key = {key: (value, front) for _, key, value, front in plan}
    assert set(by_key) == {"plain", "alias", "held"}
    assert by_key["plain"][1] is by_key["alias"][1]          # one front per value bound
    assert by_key["held"][1].__wrapped__ is other_layer        # a front of what is bound
    records = _fronts.bind_all(plan)
    assert space["plain"]() == "front of f" and space["held"]() == "front of f"
    # a value that is this layer's front is not fronted again
    assert fronts.cover([space], match, lambda value, op: pytest.fail("again")) == []
    _fronts.restore(records)
    assert space == {"plain": _f, "alias": _f, "held": other_layer, "g": _g, "n": 1}


def test_unbind_fronts_takes_a_layers_fronts_off_names_bound_since():
    fronts = _fronts.Fronts(_fronts.TORCH_FUNCTION)
    front = fronts.make(_f, lambda: _front_of(_f))
    other = _fronts.Fronts(_fronts.PROFILER).make(_g, lambda: _front_of(_g))

    class Holder:
        m = front

    space = {"late": front, "other": other, "plain": _g}
    assert _fronts.unbind_fronts(_fronts.TORCH_FUNCTION, [space, Holder]) == 2
    assert space == {"late": _f, "other": other, "plain": _g} and Holder.__dict__["m"] is _f


def _run(code):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


_LAYERS_OF = """
    from ember import _fronts
    def layers(f):
        return [_fronts.layer_of(g) for g in _fronts.chain(f)][:2]
"""


@pytest.mark.parametrize("first", ["autocast", "dispatch"])
def test_permanent_layers_in_rank_order_whichever_installs_first(first):
    """The __torch_dispatch__ fronts (rank 2) go beneath the autocast entries (rank 3)
    even when the dispatch module loads after autocast was first used (they went over
    them, installed by install order only)."""
    steps = {"autocast": "with ember.autocast('cpu', dtype=ember.bfloat16):\n        pass",
             "dispatch": "import ember.utils._python_dispatch"}
    second = "dispatch" if first == "autocast" else "autocast"
    out = _run(f"""
    import ember
    {_LAYERS_OF}
    {steps[first]}
    {steps[second]}
    print(layers(ember.matmul), layers(ember.mm))
    """)
    assert out.split() == ["[3,", "2]", "[3,", "2]"]


def test_modules_imported_while_the_dispatcher_is_on_lose_its_wrappers_with_it():
    out = _run("""
    import sys
    import ember
    from ember import _torch_function as tf, _fronts
    tf.activate()
    import ember.vision.models
    alexnet = sys.modules["ember.vision.models.alexnet"]
    held = alexnet.__dict__["flatten"]
    tf.deactivate()

    def left(rank):
        return [(n, k) for n, m in list(sys.modules.items()) if n.startswith("ember")
                for k, v in list(vars(m).items()) if _fronts.layer_of(v) == rank]
    print(_fronts.layer_of(held), len(left(_fronts.TORCH_FUNCTION)),
          alexnet.flatten is ember.flatten)
    """)
    assert out.split() == ["4", "0", "True"]


def test_modules_imported_while_profiling_lose_the_composites_with_the_profile():
    out = _run("""
    import sys
    import ember
    from ember import _fronts
    from ember.profiler import profile
    with profile():
        import ember.vision.models
        held = ember.vision.models.resnet.__dict__.get("flatten")
    left = [(n, k) for n, m in list(sys.modules.items()) if n.startswith("ember")
            for k, v in list(vars(m).items()) if _fronts.layer_of(v) == _fronts.PROFILER]
    print(_fronts.layer_of(held), len(left))
    """)
    assert out.split() == ["5", "0"]


def test_fx_traces_the_gelu_a_layer_built_before_the_dispatcher_holds():
    """TransformerEncoderLayer(activation="gelu") keeps the function F.gelu was when it was
    built; built before the __torch_function__ protocol was on, it is the bare function,
    which ran on Proxies (TraceError). torch's fx records F.gelu as a call_function."""
    out = _run("""
    import ember
    from ember import _torch_function as tf
    assert not tf.ACTIVE[0]
    layer = ember.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="gelu",
                                             batch_first=True)
    held = layer.activation
    import ember.fx
    gm = ember.fx.symbolic_trace(layer, concrete_args={
        "src_mask": None, "src_key_padding_mask": None, "is_causal": False})
    gelus = [n for n in gm.graph.nodes if n.op == "call_function" and
             getattr(n.target, "__name__", "") == "gelu"]
    x = ember.randn(2, 3, 8)
    same = bool((gm(x) - layer(x)).abs().max() < 1e-6)
    print(len(gelus), layer.activation is held, same)
    """)
    assert out.split() == ["1", "True", "True"]


_HELD = """
    F = torch.nn.functional
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 4)
            self.act = F.gelu
        def forward(self, x):
            return self.act(self.lin(x))
    net = Net()
    import {lib}.fx
    gm = {lib}.fx.symbolic_trace(net)
    print([(n.op, n.target.__name__) for n in gm.graph.nodes if n.op == "call_function"],
          net.act is F.gelu or getattr(net.act, "_ember_undispatched", None) is None)
"""


def test_a_function_held_as_an_attribute_traces_as_in_torch():
    """torch's fx records a function a module holds (self.act = F.gelu) as a
    call_function; ember's did only when it was bound after the dispatcher was on."""
    pytest.importorskip("torch")
    theirs = _run("import torch\n" + textwrap.dedent(_HELD).format(lib="torch"))
    ours = _run("import ember as torch\nfrom ember import _torch_function as tf\n"
                "assert not tf.ACTIVE[0]\n" + textwrap.dedent(_HELD).format(lib="ember"))
    assert ours == theirs == "[('call_function', 'gelu')] True\n"


def test_jit_save_of_a_transformer_with_gelu_loads_in_torch():
    torch = pytest.importorskip("torch")
    import ember
    nn = ember.nn

    class TextTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(20, 16)
            self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(
                16, 2, 32, activation="gelu", batch_first=True, dropout=0.0), 2,
                norm=nn.LayerNorm(16))
            self.fc = nn.Linear(16, 3)

        def forward(self, x):
            return self.fc(self.enc(self.emb(x)).mean(1))

    ember.manual_seed(4)
    model = TextTransformer().eval()
    buf = io.BytesIO()
    with warnings.catch_warnings():     # (jit.script's "no TorchScript compiler" warning,
        warnings.simplefilter("ignore")  # given once a process)
        ember.jit.save(ember.jit.script(model), buf)
    buf.seek(0)
    theirs = torch.jit.load(buf)
    x = ember.randint(0, 20, (2, 5))
    got = theirs(torch.from_numpy(np.array(x.numpy()))).detach().numpy()
    np.testing.assert_allclose(got, model(x).detach().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("first", ["quantized", "dispatch"])
def test_quantized_fronts_beneath_the_dispatch_fronts_whichever_installs_first(first):
    steps = {"quantized": "q = ember.quantize_per_tensor(ember.randn(2), 0.1, 0, ember.quint8)",
             "dispatch": "import ember.utils._python_dispatch"}
    second = "dispatch" if first == "quantized" else "quantized"
    out = _run(f"""
    import ember
    {_LAYERS_OF}
    {steps[first]}
    {steps[second]}
    inner = ember.cat.__wrapped__
    print(layers(ember.cat)[0], getattr(inner, "__quantized_front__", False),
          ember.cat([q, q]).dtype)
    """)
    assert out.split() == ["2", "True", "ember.quint8"]
