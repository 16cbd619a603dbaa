"""The __torch_function__ dispatcher (which ember.export and ember.fx trace through) covers
names bound to another layer's front: once autocast has been used, ember's modules hold
autocast entries (MultiheadAttention's `linear`), and a trace must still record the op
(it recorded linear's inner matrix product with fixed sizes: an ONNX export of a
TransformerEncoderLayer then refused aten::addmm). Run in a fresh process: the layers are
process-wide."""
import subprocess
import sys
import textwrap


def test_export_after_autocast_records_linear():
    code = textwrap.dedent("""
        import ember
        x = ember.ones(1, 1, 4, 4, 4).to(ember.float16)
        with ember.autocast("cpu", dtype=ember.bfloat16):
            ember.nn.functional.avg_pool3d(x, 2)
        m = ember.nn.TransformerEncoderLayer(16, 2, 32, 0.1, batch_first=True).eval()
        ep = ember.export.export(m, (ember.randn(2, 5, 16),))
        print(sorted({str(n.target) for n in ep.graph.nodes if n.op == "call_function"}))
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    targets = out.stdout
    assert "aten.linear.default" in targets and "addmm" not in targets, targets


def test_public_functions_pickle_once_the_dispatch_fronts_are_laid():
    """The __torch_dispatch__ layer's fronts on ember.tensor, arange, eye ... (laid when
    ember.utils._python_dispatch is imported) pickle by reference as the functions do
    (they raised PicklingError: 'not the same object as ember._ops.creation.tensor')."""
    code = textwrap.dedent("""
        import pickle, ember
        import ember.utils._python_dispatch
        bad = []
        for space in (ember, ember.linalg, ember.special, ember.fft):
            for name in dir(space):
                f = getattr(space, name)
                if name.startswith("_") or isinstance(f, type) or not callable(f):
                    continue
                try:
                    if pickle.loads(pickle.dumps(f)) is not f:
                        bad.append(name)
                except Exception:
                    bad.append(name)
        print(bad)
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout
