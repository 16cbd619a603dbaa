"""Defects other helpers found in session 20, each checked against PyTorch:
densenet's jit.save / fx trace (a name bound before the __torch_dispatch__ fronts were laid),
fx code for Optional[...] annotations, InstanceNorm's running stats with momentum=None,
lp_pool with norm_type=inf, the names ember.export records for custom ops, and the
gradients of einsum and the products with complex operands."""
import io
import warnings
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ember

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(code):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


# --- 1. densenet: `cat` imported before ember.utils._python_dispatch laid its out= front ----

def test_dense_layer_traces_when_imported_before_the_dispatch_fronts():
    """densenet.py binds ember.cat at import; importing ember.utils._python_dispatch later
    puts an out= front on ember.cat, and the __torch_function__ dispatcher (which fx traces
    through) used to reach only the front, so densenet's cat saw a Proxy."""
    out = _run("""
    import ember
    from ember.vision.models.densenet import _DenseLayer
    import ember.utils._python_dispatch
    from ember import _fronts
    from ember.vision.models import densenet
    assert _fronts.DISPATCH in [_fronts.layer_of(f) for f in _fronts.chain(ember.cat)]
    assert densenet.cat is not ember.cat
    import ember.fx as fx
    ember.manual_seed(0)
    m = _DenseLayer(8, 4, 2, 0.0).eval()
    gm = fx.symbolic_trace(m)
    print([n.target.__name__ for n in gm.graph.nodes if n.op == "call_function"])
    x = ember.randn(2, 8, 5, 5)
    print(bool((gm(x) - m(x)).abs().max() == 0))
    """)
    assert out == "['cat']\nTrue\n"


def test_dense_block_jit_save_loads_in_torch():
    torch = pytest.importorskip("torch")
    from ember.vision.models.densenet import _DenseBlock
    import ember.utils._python_dispatch  # noqa: F401  (the order of the regression)
    ember.manual_seed(1)
    block = _DenseBlock(2, 6, 2, 3, 0.0).eval()
    buf = io.BytesIO()
    with warnings.catch_warnings():     # (jit.script's "no TorchScript compiler" warning,
        warnings.simplefilter("ignore")  # given once a process)
        ember.jit.save(ember.jit.script(block), buf)
    buf.seek(0)
    theirs = torch.jit.load(buf)
    x = ember.randn(2, 6, 5, 5)
    got = theirs(torch.from_numpy(x.numpy().copy())).detach().numpy()
    np.testing.assert_allclose(got, block(x).detach().numpy(), rtol=1e-5, atol=1e-5)


# --- 2. fx code for typing annotations ---------------------------------------------------

_ANNOTATED = """
import typing
from typing import Any, Dict, List, Optional, Tuple
torch = __import__("{lib}")

class M(torch.nn.Module):
    def forward(self, x: Optional[torch.Tensor], a: List[int], b: Dict[str, torch.Tensor],
                d: Any, f: list[int], g: torch.Tensor | None = None,
                y: Optional[torch.Tensor] = None) -> Optional[torch.Tensor]:
        return x + 1 if y is None else x + y

gm = torch.fx.symbolic_trace(M())
print(gm.code.replace("torch", "ember").strip())
again = torch.fx.GraphModule(gm, gm.graph)
print(again(torch.ones(2), [1], {{}}, 2, [1], None, torch.ones(2)).tolist())
"""


def test_optional_annotations_rebuild_as_in_torch_fx():
    pytest.importorskip("torch")
    theirs = _run(_ANNOTATED.format(lib="torch"))
    ours = _run(_ANNOTATED.format(lib="ember"))
    assert ours == theirs
    assert "typing_Union[ember.Tensor,NoneType]" in ours


def test_optional_annotations_survive_to_folder(tmp_path):
    """to_folder writes the globals as imports; NoneType is exported by no module (torch's
    own to_folder leaves typing_Union undefined there: ours must import)."""
    from typing import List, Optional

    class M(ember.nn.Module):
        def forward(self, x, y: Optional[ember.Tensor] = None, z: List[int] = None):
            return x + 1

    gm = ember.fx.symbolic_trace(M())
    gm.to_folder(str(tmp_path / "fbfolder"), "Folded")
    out = _run(f"""
    import sys
    sys.path.insert(0, {str(tmp_path)!r})
    import ember
    from fbfolder import Folded
    print(Folded()(ember.ones(2)).tolist())
    """)
    assert out == "[2.0, 2.0]\n"


# --- 3. InstanceNorm with track_running_stats and momentum=None ---------------------------

@pytest.mark.parametrize("name,shape", [("InstanceNorm1d", (2, 3, 5)),
                                        ("InstanceNorm2d", (2, 3, 4, 4)),
                                        ("InstanceNorm3d", (2, 3, 3, 2, 3))])
def test_instance_norm_momentum_none_keeps_running_stats_as_torch(name, shape):
    """torch passes momentum 0.0 for momentum=None: the running stats stay at their
    initial values (no cumulative average, num_batches_tracked stays 0)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    mods = [getattr(lib.nn, name)(3, momentum=None, affine=True, track_running_stats=True)
            for lib in (torch, ember)]
    mods[1].load_state_dict({k: ember.tensor(v.numpy()) for k, v in mods[0].state_dict().items()})
    for step in range(3):
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        outs = [m(lib.tensor(x)) for m, lib in zip(mods, (torch, ember))]
        np.testing.assert_allclose(outs[1].detach().numpy(), outs[0].detach().numpy(),
                                   rtol=1e-5, atol=1e-5)
    for key, value in mods[0].state_dict().items():
        np.testing.assert_allclose(mods[1].state_dict()[key].numpy(), value.numpy(), atol=1e-6)
    for m in mods:
        m.eval()
    outs = [m(lib.tensor(x)) for m, lib in zip(mods, (torch, ember))]
    np.testing.assert_allclose(outs[1].detach().numpy(), outs[0].detach().numpy(),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("momentum", [None, "0.1"])
def test_functional_instance_norm_rejects_a_momentum_that_is_no_number(momentum):
    torch = pytest.importorskip("torch")
    x = np.ones((2, 3, 4), np.float32)
    with pytest.raises(TypeError) as theirs:
        torch.nn.functional.instance_norm(torch.tensor(x), momentum=momentum)
    with pytest.raises(TypeError) as ours:
        ember.nn.functional.instance_norm(ember.tensor(x), momentum=momentum)
    assert str(ours.value) == str(theirs.value)


# --- 4. lp_pool with norm_type = +-inf -----------------------------------------------------

@pytest.mark.parametrize("nd,shape,kernel,stride", [
    (1, (2, 3, 7), 2, None), (1, (1, 2, 8), 3, 2),
    (2, (2, 2, 5, 6), 2, None), (2, (1, 3, 6, 5), (3, 2), (2, 1)),
    (3, (1, 2, 4, 4, 5), 2, None)])
@pytest.mark.parametrize("norm_type", [float("inf"), -float("inf")])
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_lp_pool_with_infinite_norm_as_torch(nd, shape, kernel, stride, norm_type, ceil_mode):
    """torch 2.x: +inf pools the largest magnitude |x|, -inf the smallest (values and
    gradients, sign(x) to the element chosen)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(nd)
    x = rng.standard_normal(shape)
    x.flat[::5] = -x.flat[::5]
    got = []
    for lib in (torch, ember):
        t = lib.tensor(x, requires_grad=True)
        fn = getattr(lib.nn.functional, f"lp_pool{nd}d")
        y = fn(t, norm_type, kernel, stride, ceil_mode)
        (y * lib.arange(y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
        got.append((y.detach().numpy(), t.grad.numpy()))
    np.testing.assert_allclose(got[1][0], got[0][0], rtol=1e-12)
    np.testing.assert_allclose(got[1][1], got[0][1], rtol=1e-12)


def test_lp_pool_module_with_infinite_norm_as_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal((2, 3, 6, 6)).astype(np.float32)
    theirs = torch.nn.LPPool2d(float("inf"), 2)(torch.tensor(x)).numpy()
    ours = ember.nn.LPPool2d(float("inf"), 2)(ember.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs)


# --- 5. ember.export of operators defined with ember.library -------------------------------

_CUSTOM = """
import io
torch = __import__("{lib}")

@torch.library.custom_op("fbns::scale2", mutates_args=())
def scale2(x: torch.Tensor, a: float) -> torch.Tensor:
    return x * a

@scale2.register_fake
def _(x, a):
    return torch.empty_like(x)

lib = torch.library.Library("fbmulti", "DEF")
lib.define("twice(Tensor x) -> Tensor")
lib.define("twice.scaled(Tensor x, float s) -> Tensor")
lib.impl("twice", lambda x: x * 2, "CompositeExplicitAutograd")
lib.impl("twice.scaled", lambda x, s: x * 2 * s, "CompositeExplicitAutograd")

class M(torch.nn.Module):
    def forward(self, x):
        y = scale2(x, 2.0) + torch.ops.fbns.scale2(x, 3.0)
        return y + torch.ops.fbmulti.twice(x) + torch.ops.fbmulti.twice(x, 3.0) + \\
            torch.ops.fbmulti.twice.scaled(x, 1.0)

ep = torch.export.export(M(), (torch.ones(3),))
print([(str(n.target), n.name) for n in ep.graph.nodes if n.op == "call_function"])
buf = io.BytesIO()
torch.export.save(ep, buf)
buf.seek(0)
again = torch.export.load(buf)
print([str(n.target) for n in again.graph.nodes if n.op == "call_function"])
print(again.module()(torch.ones(3)).tolist())
"""


def test_export_records_custom_ops_under_their_namespace_as_torch():
    pytest.importorskip("torch")
    theirs = _run(_CUSTOM.format(lib="torch"))
    ours = _run(_CUSTOM.format(lib="ember"))
    assert ours == theirs
    assert "('fbns.scale2.default', 'scale2_1')" in ours


# --- 6. complex gradients of einsum and the products -----------------------------------------

_PRODUCTS = {
    "einsum": (lambda L, a, b: L.einsum("bix,iox->box", a, b), [(2, 3, 4), (3, 5, 4)]),
    "einsum_diagonal": (lambda L, a, b: L.einsum("iij,jk->ik", a, b), [(3, 3, 4), (4, 2)]),
    "einsum_summed_out": (lambda L, a, b: L.einsum("ij,kl->i", a, b), [(3, 4), (2, 2)]),
    "einsum_three": (lambda L, a, b, c: L.einsum("ij,jk,kl->il", a, b, c),
                     [(2, 3), (3, 4), (4, 2)]),
    "einsum_ellipsis": (lambda L, a, b: L.einsum("...ij,...jk->...ik", a, b),
                        [(2, 3, 4), (2, 4, 2)]),
    "matmul": (lambda L, a, b: L.matmul(a, b), [(2, 3, 4), (4, 5)]),
    "matmul_vector": (lambda L, a, b: L.matmul(a, b), [(4,), (4, 5)]),
    "mm": (lambda L, a, b: L.mm(a, b), [(3, 4), (4, 2)]),
    "bmm": (lambda L, a, b: L.bmm(a, b), [(2, 3, 4), (2, 4, 2)]),
    "mv": (lambda L, a, b: L.mv(a, b), [(3, 4), (4,)]),
    "tensordot": (lambda L, a, b: L.tensordot(a, b, dims=([1, 2], [0, 1])),
                  [(2, 3, 4), (3, 4, 5)]),
    "dot": (lambda L, a, b: L.dot(a, b), [(5,), (5,)]),
    "vdot": (lambda L, a, b: L.vdot(a, b), [(5,), (5,)]),
    "inner": (lambda L, a, b: L.inner(a, b), [(2, 5), (3, 5)]),
    "outer": (lambda L, a, b: L.outer(a, b), [(4,), (3,)]),
    "kron": (lambda L, a, b: L.kron(a, b), [(2, 3), (2, 2)]),
    "addmm": (lambda L, c, a, b: L.addmm(c, a, b), [(3, 2), (3, 4), (4, 2)]),
    "baddbmm": (lambda L, c, a, b: L.baddbmm(c, a, b, alpha=0.5),
                [(2, 3, 2), (2, 3, 4), (2, 4, 2)]),
    "multi_dot": (lambda L, a, b, c: L.linalg.multi_dot([a, b, c]), [(2, 3), (3, 4), (4, 2)]),
}


@pytest.mark.parametrize("name", sorted(_PRODUCTS))
def test_complex_product_gradients_as_torch(name):
    """First and second derivatives of a real loss of a complex product: each operand's
    gradient is the output gradient contracted with the conjugates of the others."""
    torch = pytest.importorskip("torch")
    fn, shapes = _PRODUCTS[name]
    rs = np.random.RandomState(len(name))
    arrays = [rs.randn(*s) + 1j * rs.randn(*s) for s in shapes]
    weight = None
    results = []
    for L in (torch, ember):
        ts = [L.tensor(a, requires_grad=True) for a in arrays]
        y = fn(L, *ts)
        if weight is None:
            weight = rs.randn(*y.shape) + 1j * rs.randn(*y.shape)
        grads = L.autograd.grad((y * L.tensor(weight)).real.sum(), ts, create_graph=True)
        energy = sum((g * g.conj()).real.sum() for g in grads)
        second = L.autograd.grad(energy, ts, allow_unused=True, materialize_grads=True)
        results.append([g.detach().resolve_conj().numpy() for g in grads + second])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)
