"""float16 unary ops by NumPy's own float16 loops where they give float32's values rounded
once (pointwise_arrays.native_half, _native_half_call), and float16 relu by bit operations
(pointwise_half.relu): checked on all 65536 float16 values against the float32-and-round
reference and against torch, in blocks on the pool, for strided, 0-dim and empty inputs."""
import numpy as np
import pytest

import ember
from ember._backend import parallel
from ember._ops import pointwise_arrays

from tests.pool_splits import counted_splits  # noqa: E402

torch = pytest.importorskip("torch")

EVERY = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
UNARY = {"exp": np.exp, "exp2": np.exp2, "expm1": np.expm1, "log": np.log,
         "log1p": np.log1p, "log2": np.log2, "log10": np.log10, "sqrt": np.sqrt,
         "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "acos": np.arccos,
         "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
         "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh}


def _same(a, b):
    """Equal bits, or NaN in both (payloads aside)."""
    return (a.view(np.uint16) == b.view(np.uint16)) | (np.isnan(a) & np.isnan(b))


@pytest.mark.parametrize("name", sorted(UNARY))
def test_float16_unary_is_float32_rounded_once_on_every_value(name):
    f = UNARY[name]
    got = getattr(ember, name)(ember.from_numpy(EVERY.copy())).numpy()
    assert got.dtype == np.float16
    with np.errstate(all="ignore"):
        want = f(EVERY.astype(np.float32)).astype(np.float16)
    assert _same(got, want).all()
    # and torch's float16 kernels (float32 math rounded once) agree but for a few values
    # on which NumPy's and Sleef's float32 functions round apart
    t = getattr(torch, name)(torch.from_numpy(EVERY.copy())).numpy()
    assert np.count_nonzero(~_same(got, t)) <= 4


def test_native_half_probe_records_fixes():
    """exp's AVX-512 float16 loop (where this machine has one) misses a few values, which
    the call recomputes; an op whose loop is not faster or not exact is not native."""
    wrong = pointwise_arrays.native_half(np.exp)
    if wrong is None:
        pytest.skip("NumPy's float16 exp is not taken on this machine")
    assert 0 < len(wrong) <= pointwise_arrays._FEW
    x = np.concatenate([EVERY.view(np.uint16)[list(map(int, wrong))].view(np.float16),
                        np.float16([0.5, -1.0])])
    got = ember.exp(ember.from_numpy(x)).numpy()
    np.testing.assert_array_equal(got, np.exp(x.astype(np.float32)).astype(np.float16))
    assert (got != np.exp(x)).any()     # NumPy's own float16 exp rounds these apart


@pytest.fixture
def jobs(monkeypatch):
    yield from counted_splits(monkeypatch, 1 << 14, min_piece=1000)


@pytest.mark.parametrize("name", ["tanh", "exp", "relu"])
def test_float16_pool_gives_one_calls_bytes(jobs, name):
    x = np.tile(EVERY, 3)[7:]
    got = []
    for threads in (1, 2):
        parallel.SETTING[0] = threads
        before = len(jobs)
        got.append(getattr(ember, name)(ember.from_numpy(x)).numpy())
        assert (len(jobs) > before) == (threads == 2)
    assert got[0].tobytes() == got[1].tobytes()


@pytest.mark.parametrize("name", ["tanh", "exp", "relu"])
def test_float16_layouts(name):
    x = np.random.default_rng(5).standard_normal((6, 40)).astype(np.float16)
    for e, t in [(ember.from_numpy(x).t(), torch.from_numpy(x).t()),
                 (ember.from_numpy(x)[:, ::3], torch.from_numpy(x)[:, ::3]),
                 (ember.tensor(0.75, dtype=ember.float16), torch.tensor(0.75, dtype=torch.float16)),
                 (ember.from_numpy(x[:0]), torch.from_numpy(x[:0]))]:
        got = getattr(ember, name)(e)
        want = getattr(torch, name)(t)
        assert got.shape == tuple(want.shape) and got.dtype == ember.float16
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_float16_relu_every_value_as_torch():
    """Bits as torch's but for signalling NaNs (torch quiets them converting to float32;
    they stay NaN of the same sign here); -0.0 stays -0.0, -inf gives +0."""
    got = ember.relu(ember.from_numpy(EVERY.copy())).numpy()
    want = torch.relu(torch.from_numpy(EVERY.copy())).numpy()
    assert _same(got, want).all()
    nan = np.isnan(EVERY)
    assert (np.signbit(got[nan]) == np.signbit(EVERY[nan])).all()
    assert (got.view(np.uint16)[~nan] == want.view(np.uint16)[~nan]).all()
    assert got[EVERY.view(np.uint16) == 0x8000].view(np.uint16)[0] == 0x8000


def test_float16_relu_grad_and_inplace():
    x = np.float16([-2.0, -0.0, 0.0, 0.5, 3.0, -1e-7])
    a = ember.from_numpy(x.copy()).requires_grad_(True)
    ember.relu(a).backward(ember.ones(6, dtype=ember.float16))
    b = torch.from_numpy(x.copy()).requires_grad_(True)
    torch.relu(b).backward(torch.ones(6, dtype=torch.float16))
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    c = ember.from_numpy(x.copy())
    c.relu_()
    np.testing.assert_array_equal(c.numpy(), torch.relu(torch.from_numpy(x)).numpy())
    m = ember.nn.ReLU(inplace=True)
    d = ember.from_numpy(x.copy())
    m(d)
    np.testing.assert_array_equal(d.numpy(), torch.relu(torch.from_numpy(x)).numpy())


def test_bfloat16_relu_every_value_as_torch(jobs):
    """bfloat16 relu by bit operations: torch's bits on every non-NaN value (-0.0 kept, -inf
    to +0); NaN stays NaN (torch rounds every NaN to 0x7FC0 through float32); one thread
    and two give the same bytes."""
    bits = np.arange(1 << 16, dtype=np.uint16)
    t = torch.relu(torch.from_numpy(bits.view(np.int16).copy()).view(torch.bfloat16))
    want = t.view(torch.int16).numpy().view(np.uint16)
    x = ember.from_numpy(bits.view(np.int16).copy()).view(ember.bfloat16)
    got = []
    for threads in (1, 2):
        parallel.SETTING[0] = threads
        got.append(ember.relu(x).view(ember.int16).numpy().view(np.uint16))
    assert got[0].tobytes() == got[1].tobytes()
    nan = np.isnan(t.float().numpy())
    assert (got[0][~nan] == want[~nan]).all()
    assert np.isnan(ember.from_numpy(got[0][nan].view(np.int16).copy())
                    .view(ember.bfloat16).float().numpy()).all()
    a = ember.tensor([-1.5, -0.0, 0.25, 2.0], dtype=ember.bfloat16, requires_grad=True)
    ember.relu(a).sum().backward()
    b = torch.tensor([-1.5, -0.0, 0.25, 2.0], dtype=torch.bfloat16, requires_grad=True)
    torch.relu(b).sum().backward()
    np.testing.assert_array_equal(a.grad.float().numpy(), b.grad.float().numpy())


@pytest.mark.parametrize("name", ["exp", "sqrt", "tanh", "log2", "acosh"])
def test_float16_table_path_on_every_value(monkeypatch, jobs, name):
    """The table path (what serves where NumPy's own loop is not taken) gives in_float32's
    values on all 65536 inputs, in runs on the pool too."""
    f = UNARY[name]
    pointwise_arrays.native_half(f)                  # the probe builds the table
    monkeypatch.setitem(pointwise_arrays._NATIVE_HALF, f, None)
    with np.errstate(all="ignore"):
        want = f(EVERY.astype(np.float32)).astype(np.float16)
    for threads in (1, 2):
        parallel.SETTING[0] = threads
        before = len(jobs)
        got = getattr(ember, name)(ember.from_numpy(np.tile(EVERY, 2))).numpy()
        assert (len(jobs) > before) == (threads == 2)
        assert _same(got, np.tile(want, 2)).all()
