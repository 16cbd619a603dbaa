"""Community programs, round 7: known message and behaviour differences (from_numpy of
str/object and read-only arrays, set_default_dtype, negative factory sizes, scatter/gather,
index_* and ctc_loss argument checks, linalg errors, the transformer fast path on a fully
padded sequence), and the cores of tutorial-style programs run on both libraries and
compared; each defect the probe found has its regression test here."""
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _outcome(L, program):
    """("ok", result) or (exception type name, message with the library's name blanked)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "ok", program(L)
        except Exception as e:   # the exception is the outcome compared
            return type(e).__name__, str(e).replace("torch", "L").replace("ember", "L")


def _same_outcome(program):
    e, t = _outcome(ember, program), _outcome(torch, program)
    assert e[0] == t[0], (e, t)
    if e[0] != "ok":
        assert e[1] == t[1]
    return e, t


# ------------------------------------------------------------------ messages of the factories

_FACTORY_ERRORS = {
    "from_numpy str": lambda L: L.from_numpy(np.array(["a", "b"])),
    "from_numpy bytes": lambda L: L.from_numpy(np.array([b"a"])),
    "from_numpy object": lambda L: L.from_numpy(np.array([1, "b"], dtype=object)),
    "from_numpy datetime": lambda L: L.from_numpy(np.array(["2020-01-01"], "datetime64[D]")),
    "from_numpy longdouble": lambda L: L.from_numpy(np.ones(2, np.longdouble)),
    "as_tensor str": lambda L: L.as_tensor(np.array(["a"])),
    "set_default_dtype int32": lambda L: L.set_default_dtype(L.int32),
    "set_default_dtype complex": lambda L: L.set_default_dtype(L.complex64),
    "set_default_dtype str": lambda L: L.set_default_dtype("float32"),
    "set_default_dtype numpy": lambda L: L.set_default_dtype(np.float32),
    "zeros(-1)": lambda L: L.zeros(-1),
    "zeros((2, -3))": lambda L: L.zeros((2, -3)),
    "zeros(size=)": lambda L: L.zeros(size=(0, -1)),
    "zeros int64": lambda L: L.zeros(-1, dtype=L.int64, requires_grad=False),
    "ones(-1)": lambda L: L.ones(-1),
    "empty(2, -1)": lambda L: L.empty(2, -1),
    "full": lambda L: L.full((-1,), 2.0),
    "rand": lambda L: L.rand(-2),
    "randint": lambda L: L.randint(0, 3, (-1,)),
    "new_zeros": lambda L: L.ones(2).new_zeros((-1, 2)),
    "new_ones": lambda L: L.ones(2).new_ones(-1),
}


@pytest.mark.parametrize("case", sorted(_FACTORY_ERRORS))
def test_factory_error_messages(case):
    """from_numpy names the unsupported NumPy scalar type (numpy.str_, numpy.object_) where
    ember printed the dtype string ('<U1', 'object'); set_default_dtype(int32) had an extra
    ", got ember.int32"; torch.zeros words a negative size its own way ("zeros: Dimension
    size must be non-negative."), the other factories and new_zeros the generic way."""
    e, t = _same_outcome(_FACTORY_ERRORS[case])
    assert e[0] != "ok"


def test_default_dtype_unchanged_after_refusal():
    for L in (ember, torch):
        with pytest.raises(TypeError):
            L.set_default_dtype(L.int64)
        assert L.get_default_dtype() is L.float32


# ------------------------------------------------------------------ writes into read-only arrays

_WRITES = {
    "add_": lambda L, t: t.add_(1),
    "setitem": lambda L, t: t.__setitem__(0, 5),
    "copy_": lambda L, t: t.copy_(L.arange(4.0, dtype=L.float64)),
    "zero_": lambda L, t: t.zero_(),
    "mul_ slice": lambda L, t: t[1:3].mul_(3),
    "index_put_": lambda L, t: t.index_put_((L.tensor([1, 3]),), L.tensor(9.0, dtype=L.float64)),
    "out=": lambda L, t: L.add(L.ones(4, dtype=L.float64), 1, out=t),
}


def _write_through(L, write, make):
    a = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = L.from_numpy(a)
    write(L, t)
    return t.tolist(), a.tolist(), a.flags.writeable, t.numpy().flags.writeable


def _flagged():
    a = np.arange(4.0)
    a.setflags(write=False)
    return a


def _flagged_view():
    return _flagged()[:]


def _readonly_buffer():
    # np.frombuffer of an immutable bytes object: read-only, owned by the bytes
    return np.frombuffer(np.arange(4.0).tobytes(), dtype=np.float64)


@pytest.mark.parametrize("write", sorted(_WRITES))
@pytest.mark.parametrize("make", [_flagged, _flagged_view, _readonly_buffer],
                         ids=["flagged", "view", "bytes"])
def test_writes_into_a_tensor_of_a_read_only_array(write, make):
    """PyTorch's tensors are never read-only: from_numpy of a read-only array warns once,
    then in-place ops, setitem, copy_ and out= write into the array's memory (the array
    keeps its read-only mark, the tensor's numpy() is writable). ember let NumPy's raw
    "ValueError: assignment destination is read-only" out."""
    assert (_write_through(ember, _WRITES[write], make)
            == _write_through(torch, _WRITES[write], make))


def test_read_only_bfloat16_array_keeps_its_dtype():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    a = np.arange(3.0).astype(ml_dtypes.bfloat16)
    a.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = ember.from_numpy(a)
    t.add_(1)
    assert t.dtype is ember.bfloat16 and a.astype(np.float32).tolist() == [1.0, 2.0, 3.0]


# ------------------------------------------------------------------ scatter / gather / index_*

_SCATTER_ERRORS = {
    "scatter index too large for self": lambda L: L.zeros(3, 4).scatter(
        1, L.zeros(4, 2, dtype=L.long), L.ones(4, 2)),
    "scatter index too large for src": lambda L: L.zeros(3, 4).scatter(
        1, L.zeros(2, 3, dtype=L.long), L.ones(2, 2)),
    "scatter value index too large": lambda L: L.zeros(3, 4).scatter(
        1, L.zeros(4, 1, dtype=L.long), 2.0),
    "scatter_add index too large for src": lambda L: L.zeros(3, 4).scatter_add(
        1, L.zeros(2, 3, dtype=L.long), L.ones(2, 2)),
    "scatter_reduce index too large for self": lambda L: L.zeros(3, 4).scatter_reduce(
        1, L.zeros(4, 1, dtype=L.long), L.ones(4, 1), reduce="sum"),
    "scatter negative index": lambda L: L.zeros(3, 4).scatter(1, L.tensor([[-1]]), L.ones(1, 1)),
    "scatter value negative index": lambda L: L.zeros(3, 4).scatter(1, L.tensor([[-1]]), 2.0),
    "gather negative index": lambda L: L.zeros(3, 4).gather(1, L.tensor([[-1]])),
    "scatter_add negative index": lambda L: L.zeros(3, 4).scatter_add(
        1, L.tensor([[-2]]), L.ones(1, 1)),
    "scatter_reduce negative index": lambda L: L.zeros(3, 4).scatter_reduce(
        0, L.tensor([[-1]]), L.ones(1, 1), "amax"),
    "scatter bad reduce": lambda L: L.zeros(3, 4).scatter_(
        1, L.tensor([[0]]), L.ones(1, 1), reduce="max"),
    "scatter value bad reduce": lambda L: L.zeros(3, 4).scatter(
        1, L.tensor([[0]]), 2.0, reduce="mean"),
    "scatter_add float index": lambda L: L.zeros(3, 4).scatter_add(
        1, L.tensor([[0.0, 1.0]]), L.ones(1, 2)),
    "scatter_reduce float index": lambda L: L.zeros(3, 4).scatter_reduce(
        1, L.tensor([[0.0]]), L.ones(1, 1), reduce="sum"),
    "gather float index": lambda L: L.zeros(3, 4).gather(1, L.tensor([[0.0]])),
    "gather index too large": lambda L: L.zeros(3, 4).gather(1, L.zeros(4, 1, dtype=L.long)),
    "index_add float index": lambda L: L.zeros(3, 4).index_add(
        0, L.tensor([0.0]), L.ones(1, 4)),
    "index_add_ bool index": lambda L: L.zeros(3, 4).index_add_(
        0, L.tensor([True]), L.ones(1, 4)),
    "index_copy int32 index": lambda L: L.zeros(3, 4).index_copy(
        0, L.tensor([0], dtype=L.int32), L.ones(1, 4)),
    "index_copy float index": lambda L: L.zeros(3, 4).index_copy(
        0, L.tensor([0.0]), L.ones(1, 4)),
    "index_fill float index": lambda L: L.zeros(3, 4).index_fill(0, L.tensor([0.0]), 1.0),
    "index_select float index": lambda L: L.zeros(3, 4).index_select(0, L.tensor([0.0])),
}


@pytest.mark.parametrize("case", sorted(_SCATTER_ERRORS))
def test_scatter_gather_index_errors(case):
    """scatter/scatter_add/scatter_reduce check the index against self and src in one
    message ("Expected index [4, 2] to be no larger than self [3, 4] apart from dimension 1
    and to be no larger size than src [4, 2]"), check the index dtype under scatter's name,
    and refuse negative indices (ember wrapped them, writing to the last column); the legacy
    reduce= message has no "Got max"; each index_* op words a wrong index dtype its own way."""
    e, t = _same_outcome(_SCATTER_ERRORS[case])
    assert e[0] != "ok"


# ------------------------------------------------------------------ ctc_loss

def _log_probs(L, T=6, N=2, C=4):
    p = np.linspace(0.1, 0.4, C, dtype=np.float32)
    return L.tensor(np.log(np.broadcast_to(p / p.sum(), (T, N, C)).copy()))


_CTC = {
    "4-D log_probs": lambda L, F, lp: F.ctc_loss(lp[None], L.ones(2, 2, dtype=L.long),
                                                 L.tensor([6, 6]), L.tensor([2, 2])),
    "1-D log_probs": lambda L, F, lp: F.ctc_loss(lp[0, 0], L.tensor([1]), L.tensor([6]),
                                                 L.tensor([1])),
    "3-D targets": lambda L, F, lp: F.ctc_loss(lp, L.ones(2, 2, 2, dtype=L.long),
                                               L.tensor([6, 6]), L.tensor([2, 2])),
    "blank out of range": lambda L, F, lp: F.ctc_loss(lp, L.ones(2, 2, dtype=L.long),
                                                      L.tensor([6, 6, 6]), L.tensor([2, 2]),
                                                      blank=9),
    "input_lengths count": lambda L, F, lp: F.ctc_loss(lp, L.ones(2, 2, dtype=L.long),
                                                       L.tensor([6, 6, 6]), L.tensor([2, 2])),
    "target_lengths count": lambda L, F, lp: F.ctc_loss(lp, L.ones(2, 2, dtype=L.long),
                                                        L.tensor([6, 6]), L.tensor([2])),
    "scalar lengths": lambda L, F, lp: F.ctc_loss(lp, L.ones(2, 2, dtype=L.long),
                                                  L.tensor(6), L.tensor(2)),
    "float input_lengths": lambda L, F, lp: F.ctc_loss(lp, L.ones(2, 2, dtype=L.long),
                                                       L.tensor([6.0, 6.0]), L.tensor([2, 2])),
    "bool input_lengths": lambda L, F, lp: F.ctc_loss(lp, L.ones(2, 2, dtype=L.long),
                                                      L.tensor([True, True]), L.tensor([2, 2])),
    "float target_lengths": lambda L, F, lp: F.ctc_loss(lp, L.ones(2, 2, dtype=L.long),
                                                        L.tensor([6, 6]), L.tensor([2.0, 2.0])),
    "input_lengths too long": lambda L, F, lp: F.ctc_loss(lp, L.ones(2, 2, dtype=L.long),
                                                          L.tensor([7, 6]), L.tensor([2, 2])),
    "negative input_lengths": lambda L, F, lp: F.ctc_loss(lp, L.ones(2, 2, dtype=L.long),
                                                          L.tensor([-7, 7]), L.tensor([2, 2])),
    "negative target_lengths": lambda L, F, lp: F.ctc_loss(lp, L.tensor([1, 2, 1, 1, 1]),
                                                           L.tensor([7, 6]), L.tensor([-1, 2])),
    "target_lengths past targets": lambda L, F, lp: F.ctc_loss(
        lp, L.ones(2, 2, dtype=L.long), L.tensor([7, -6]), L.tensor([2, 3])),
    "concatenated targets too long": lambda L, F, lp: F.ctc_loss(
        lp, L.tensor([1, 2, 1, 1, 1]), L.tensor([6, 6]), L.tensor([2, 2])),
    "concatenated targets too short": lambda L, F, lp: F.ctc_loss(
        lp, L.tensor([1, 2, 1]), L.tensor([6, 6]), L.tensor([2, 2])),
    "padded targets batch": lambda L, F, lp: F.ctc_loss(lp, L.tensor([[1, 2]]), L.tensor([6, 6]),
                                                        L.tensor([2, 2])),
    "integer log_probs": lambda L, F, lp: F.ctc_loss(lp.long(), L.ones(2, 2, dtype=L.long),
                                                     L.tensor([6, 6]), L.tensor([2, 2])),
    # the values: padded, concatenated, unbatched, int32/uint8 lengths, tuples
    "padded": lambda L, F, lp: F.ctc_loss(lp, L.tensor([[1, 2], [3, 0]]), L.tensor([6, 5]),
                                          L.tensor([2, 1]), reduction="none"),
    "concatenated": lambda L, F, lp: F.ctc_loss(lp, L.tensor([1, 2, 3]), (6, 4), (2, 1),
                                                reduction="sum"),
    "unbatched": lambda L, F, lp: F.ctc_loss(lp[:, 0], L.tensor([1, 2, 1]), L.tensor(6),
                                             L.tensor(3)),
    "narrow lengths": lambda L, F, lp: F.ctc_loss(lp, L.ones(2, 2, dtype=L.long),
                                                  L.tensor([6, 6], dtype=L.int32),
                                                  L.tensor([2, 2], dtype=L.uint8)),
}


@pytest.mark.parametrize("case", sorted(_CTC))
def test_ctc_loss_arguments(case):
    """ctc_loss checks its arguments in PyTorch's order and words (ember said
    "ctc_loss_cpu" where torch says "ctc_loss_allocate_outputs", misworded a wrong lengths
    count, let negative lengths through and took concatenated targets longer than the
    lengths' sum); a 4-D log_probs is taken for unbatched as torch does."""
    def program(L):
        r = _CTC[case](L, L.nn.functional, _log_probs(L))
        return np.asarray(r.tolist())
    e, t = _same_outcome(program)
    if e[0] == "ok":
        np.testing.assert_allclose(e[1], t[1], rtol=1e-5)


@pytest.mark.parametrize("labels", [[[1, 5], [1, 1]], [[1, -1], [1, 1]]])
def test_ctc_loss_labels_outside_the_classes(labels):
    """PyTorch's CPU kernel reads outside log_probs for a label >= C or < 0 (no check, an
    arbitrary value); ember refuses it with a RuntimeError naming the label (a label past
    the target length is never read and stays allowed)."""
    F = ember.nn.functional
    with pytest.raises(RuntimeError, match="target label .* out of range for log_probs with 4"):
        F.ctc_loss(_log_probs(ember), ember.tensor(labels), ember.tensor([6, 6]),
                   ember.tensor([2, 2]))
    padded = ember.tensor([[1, 2, 9], [3, -1, -1]])   # padding past the lengths is not read
    F.ctc_loss(_log_probs(ember), padded, ember.tensor([6, 6]), ember.tensor([2, 1]))


# ------------------------------------------------------------------ transformer fast path

def _encoder_outputs(L, case, pad):
    L.manual_seed(0)
    layer = L.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    stack = L.nn.TransformerEncoder(
        L.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), 2)
    for p in list(layer.parameters()) + list(stack.parameters()):
        g = np.random.default_rng(p.numel())
        p.data.copy_(L.tensor(g.standard_normal(tuple(p.shape)).astype(np.float32) * 0.3))
    layer.eval()
    stack.eval()
    x = L.tensor(np.random.default_rng(1).standard_normal((2, 3, 8)).astype(np.float32))
    pad = L.tensor(pad)
    attn = L.tensor([[0.0, -0.5, 0.0], [0.0, 0.0, -2.0], [0.0, 0.0, 0.0]])
    causal = L.nn.Transformer.generate_square_subsequent_mask(3)
    grad = L.enable_grad() if case.endswith("(grad)") else L.no_grad()
    with grad:
        out = {
            "layer, padding": lambda: layer(x, src_key_padding_mask=pad),
            "layer, padding (grad)": lambda: layer(x, src_key_padding_mask=pad),
            "layer, attn mask": lambda: layer(x, src_mask=attn),
            "layer, both": lambda: layer(x, src_mask=causal, src_key_padding_mask=pad),
            "stack, padding": lambda: stack(x, src_key_padding_mask=pad),
            "stack, attn mask": lambda: stack(x, mask=attn),
            "mha, padding": lambda: layer.self_attn(x, x, x, key_padding_mask=pad)[0],
        }[case]()
    return out.detach().numpy()


_PADS = {
    "bool, one sequence all padded": [[True, True, True], [False, False, True]],
    "bool, none all padded": [[False, True, True], [False, False, True]],
    "float -1e9, one all padded": [[-1e9, -1e9, -1e9], [0.0, 0.0, -1e9]],
    "float, small values": [[0.0, -0.5, 0.0], [0.0, 0.0, -2.0]],
}


@pytest.mark.parametrize("pad", sorted(_PADS))
@pytest.mark.parametrize("case", ["layer, padding", "layer, padding (grad)", "layer, attn mask",
                                  "layer, both", "stack, padding", "stack, attn mask",
                                  "mha, padding"])
def test_encoder_fast_path_masks(case, pad):
    """In eval under no_grad, TransformerEncoderLayer runs PyTorch's fused kernel: a token
    whose keys are all masked comes out NaN, and a float mask is read as a boolean one (any
    nonzero entry, -0.5 as well as -1e9, bars its key); ember added the float masks. The
    stack's nested-tensor path gives zeros at padded positions; MultiheadAttention alone and
    the grad-mode path add float masks."""
    e = _encoder_outputs(ember, case, _PADS[pad])
    t = _encoder_outputs(torch, case, _PADS[pad])
    assert (np.isnan(e) == np.isnan(t)).all()
    np.testing.assert_allclose(np.nan_to_num(e, nan=7.0), np.nan_to_num(t, nan=7.0), atol=2e-5)


# ------------------------------------------------------------------ linalg errors

def _nan_matrix(L):
    return L.tensor([[1.0, float("nan")], [0.0, 1.0]])


def _nan_batch(L):
    return L.stack([L.eye(2), _nan_matrix(L)])


_LINALG_ERRORS = {
    "inv singular": lambda L: L.linalg.inv(L.zeros(2, 2)),
    "inverse batch": lambda L: L.inverse(L.zeros(3, 2, 2)),
    "cholesky not pd": lambda L: L.linalg.cholesky(-L.eye(2)),
    "torch.cholesky not pd": lambda L: L.cholesky(-L.eye(2)),
    "torch.cholesky upper": lambda L: L.cholesky(-L.eye(2), upper=True),
    "torch.cholesky not square": lambda L: L.cholesky(L.ones(2, 3)),
    "cholesky_inverse singular": lambda L: L.cholesky_inverse(L.zeros(2, 2)),
    "cholesky_inverse second": lambda L: L.cholesky_inverse(L.tensor([[1.0, 0.0], [1.0, 0.0]])),
    "cholesky_inverse batch": lambda L: L.cholesky_inverse(
        L.stack([L.eye(2), L.zeros(2, 2)]), upper=True),
    "solve singular": lambda L: L.linalg.solve(L.zeros(2, 2), L.ones(2)),
    "svd nan": lambda L: L.linalg.svd(_nan_matrix(L)),
    "svd nan batch": lambda L: L.linalg.svd(_nan_batch(L)),
    "svdvals nan": lambda L: L.linalg.svdvals(_nan_batch(L)),
    "torch.svd nan": lambda L: L.svd(_nan_matrix(L)),
    "pinv nan": lambda L: L.linalg.pinv(_nan_batch(L)),
    "matrix_rank nan": lambda L: L.linalg.matrix_rank(_nan_matrix(L)),
    "cond nan": lambda L: L.linalg.cond(_nan_matrix(L)),
    "matrix_norm nuc nan": lambda L: L.linalg.matrix_norm(_nan_matrix(L), "nuc"),
    "eig nan": lambda L: L.linalg.eig(_nan_matrix(L)),
    "eigvals inf, with grad": lambda L: L.linalg.eigvals(
        L.tensor([[1.0, float("inf")], [0.0, 1.0]], requires_grad=True)),
}


@pytest.mark.parametrize("case", sorted(_LINALG_ERRORS))
def test_linalg_errors(case):
    """torch.linalg.LinAlgError is torch._C._LinAlgError, a RuntimeError: its name shows in
    tracebacks and type(e).__name__; ember's class was ember._ops.linalg_solvers.LinAlgError.
    An SVD of a matrix with NaN (svd, svdvals, pinv, matrix_rank, cond, nuclear norm) raised
    NumPy's own LinAlgError (not a RuntimeError); torch.cholesky's errors say "cholesky:",
    cholesky_inverse refuses a singular factor, eig refuses NaN/inf input."""
    e, t = _same_outcome(_LINALG_ERRORS[case])
    assert e[0] != "ok"
    for L in (ember, torch):
        with pytest.raises(RuntimeError):
            _LINALG_ERRORS[case](L)


def test_linalg_error_class():
    E, T = ember.linalg.LinAlgError, torch.linalg.LinAlgError
    assert (E.__name__, E.__qualname__, E.__module__) == (
        T.__name__, T.__qualname__, T.__module__.replace("torch", "ember"))
    assert ember._C._LinAlgError is E and issubclass(E, RuntimeError)
    import pickle
    assert str(pickle.loads(pickle.dumps(E("singular")))) == "singular"
    try:
        ember.linalg.inv(ember.zeros(2, 2))
    except ember.linalg.LinAlgError as err:   # as programs catch it
        assert isinstance(err, RuntimeError)


def test_lstsq_non_finite_input_is_a_runtime_error():
    """PyTorch's gelsy fails an internal assert on NaN input (a RuntimeError); NumPy raised
    its own LinAlgError after LAPACK printed to stderr. ember raises a RuntimeError."""
    with pytest.raises(RuntimeError, match="non-finite"):
        ember.linalg.lstsq(_nan_matrix(ember), ember.ones(2, 1))
    with pytest.raises(RuntimeError):
        torch.linalg.lstsq(_nan_matrix(torch), torch.ones(2, 1))


def test_eigvals_of_a_non_finite_matrix_without_grad():
    """linalg.eigvals needs no eigenvectors and no check: without a graph it gives NaN for
    a matrix with an infinite entry (NumPy's eig raised "Array must not contain infs or
    NaNs"), and the other matrices of the batch their eigenvalues."""
    def program(L):
        A = L.stack([L.eye(2) * 2, L.tensor([[1.0, float("inf")], [0.0, 1.0]])])
        return L.linalg.eigvals(A).numpy()
    e, t = program(ember), program(torch)
    assert e.dtype == t.dtype
    np.testing.assert_array_equal(e, t)


# ------------------------------------------------------------------ community programs, round 7

def _clip_value_without_grads(L):
    model = L.nn.Linear(3, 2)
    model(L.ones(1, 3)).sum().backward()
    L.optim.SGD(model.parameters(), lr=0.1).zero_grad(set_to_none=True)
    return L.nn.utils.clip_grad_value_(model.parameters(), 0.1)


def test_clip_grad_value_of_parameters_without_gradients():
    """A gradient-accumulation loop that clips after zero_grad(set_to_none=True): PyTorch's
    clip_grad_value_ groups the (no) gradients by device and dtype and refuses the empty
    list with a RuntimeError; ember returned silently."""
    _same_outcome(_clip_value_without_grads)
    assert _outcome(ember, _clip_value_without_grads)[0] == "RuntimeError"
    p = ember.nn.Parameter(ember.ones(2))
    p.grad = ember.tensor([3.0, -0.05])
    ember.nn.utils.clip_grad_value_(p, 0.1)
    assert p.grad.tolist() == pytest.approx([0.1, -0.05])


def test_lkj_cholesky_samples_follow_the_lkj_law():
    """A deliberate difference: PyTorch 2.13's LKJCholesky draws row k's Beta with first
    concentration k - 1/2 (its offset + 0.5) where the onion method needs k/2, so for
    dim >= 3 its samples are not LKJ-distributed (with eta = 1 every correlation of a 3x3
    matrix has variance 1/4; torch's third row gives about 0.30). ember keeps the onion
    method's k/2: its samples differ from torch's from the third row on, and match the law
    its log_prob describes."""
    ember.manual_seed(0)
    s = ember.distributions.LKJCholesky(3, 1.0).sample((40000,))
    corr = s @ s.transpose(-1, -2)
    for i, j in [(1, 0), (2, 0), (2, 1)]:
        assert abs(float(corr[:, i, j].var()) - 0.25) < 0.01


# ------------------------------------------------------------------ learners' common mistakes

_MISTAKES = {
    "mm long @ float": lambda L: L.mm(L.ones(2, 2, dtype=L.long), L.ones(2, 2)),
    "mm half @ float": lambda L: L.mm(L.ones(2, 2, dtype=L.float16), L.ones(2, 2)),
    "matmul bfloat16 @ long": lambda L: L.ones(2, 2, dtype=L.bfloat16) @ L.ones(2, 2, dtype=L.long),
    "linear, no bias": lambda L: L.nn.functional.linear(L.ones(2, 2, dtype=L.float64),
                                                        L.ones(2, 2)),
    "linear, 3-D, no bias": lambda L: L.nn.functional.linear(L.ones(3, 2, 2, dtype=L.float64),
                                                             L.ones(2, 2)),
    "Linear of a double batch": lambda L: L.nn.Linear(2, 2)(L.ones(2, 2, dtype=L.float64)),
    "Linear of a long batch": lambda L: L.nn.Linear(2, 2)(L.ones(2, 2, dtype=L.long)),
    "Linear half, no bias": lambda L: L.nn.Linear(2, 2, bias=False)(L.ones(2, 2).half()),
    "linear, double bias": lambda L: L.nn.functional.linear(L.ones(2, 2), L.ones(2, 2),
                                                            L.ones(2, dtype=L.float64)),
    "linear, 3-D, double bias": lambda L: L.nn.functional.linear(
        L.ones(3, 2, 2), L.ones(2, 2), L.ones(2, dtype=L.float64)),
    "linear, dtype before shape": lambda L: L.nn.functional.linear(
        L.ones(2, 3, dtype=L.float64), L.ones(2, 2), L.ones(2)),
    "linear, shape before dtype": lambda L: L.nn.functional.linear(
        L.ones(2, 3, dtype=L.float64), L.ones(2, 2)),
    "addmm self": lambda L: L.addmm(L.ones(2, 2, dtype=L.float64), L.ones(2, 2), L.ones(2, 2)),
    "addmm mat1": lambda L: L.addmm(L.ones(2, 2), L.ones(2, 2, dtype=L.float64), L.ones(2, 2)),
    "addmm mat2": lambda L: L.addmm(L.ones(2, 2), L.ones(2, 2), L.ones(2, 2, dtype=L.float64)),
    "addmm dtype before ndim": lambda L: L.addmm(L.ones(2, 2), L.ones(2, 2, 2),
                                                 L.ones(2, 2, dtype=L.float64)),
    "masked_fill mask shape": lambda L: L.randn(2, 3).masked_fill(L.tensor([True, False]), 0.0),
    "attention mask shape": lambda L: L.randn(2, 4, 4).masked_fill(
        L.ones(4, 3, dtype=L.bool) == 0, -1e9),
    "masked_fill long mask, bad shape": lambda L: L.randn(2, 3).masked_fill(L.tensor([1, 0]), 0.0),
    "masked_fill long mask": lambda L: L.randn(2, 3).masked_fill(L.tensor([[1], [0]]), 0.0),
    "masked_select mask shape": lambda L: L.randn(2, 3).masked_select(L.tensor([True, False])),
    "masked_select long mask, bad shape": lambda L: L.randn(2, 3).masked_select(L.tensor([1, 0])),
    "masked_scatter mask shape": lambda L: L.randn(2, 3).masked_scatter(
        L.tensor([1, 0]), L.ones(6)),
    "view float as double": lambda L: L.zeros(3).view(L.float64),
    "view int8 as int32": lambda L: L.zeros(3, dtype=L.int8).view(L.int32),
    "view 0-dim": lambda L: L.tensor(1.0).view(L.float64),
}


@pytest.mark.parametrize("case", sorted(_MISTAKES))
def test_common_mistake_messages(case):
    """The errors a learner meets first, in PyTorch's words: a dtype mismatch in mm/matmul
    names C++ types ("long int != float", "c10::Half"); F.linear with a bias checks as
    addmm does -- dtypes before shapes, the bias ("self") against the weight ("mat2") first
    -- and without one as matmul does (ember had the two wordings swapped); masked_fill's
    broadcast error is the generic one naming the mask as tensor a, checked before the
    mask's dtype; view(dtype) names ScalarTypes (Float, Double)."""
    e, t = _same_outcome(_MISTAKES[case])
    assert e[0] != "ok"


def test_linear_bias_must_be_a_tensor():
    e, t = _same_outcome(lambda L: L.nn.functional.linear(L.ones(2, 2), L.ones(2, 2), 3.0))
    assert e[0] == "TypeError"


def _conv_dtype_cases():
    d, f = "float64", "float32"
    cases = []
    for nd in (1, 2):
        for i, w, b in [(d, f, None), (d, f, f), (d, f, d), (d, d, f), (f, d, None), (f, d, f),
                        (f, f, d), ("float16", f, f), ("int64", f, None)]:
            cases.append((nd, False, i, w, b))
        cases.append((nd, True, d, f, None))
        cases.append((nd, True, d, f, f))
    return cases


@pytest.mark.parametrize("nd,transposed,i,w,b", _conv_dtype_cases())
def test_conv_dtype_mismatch_messages(nd, transposed, i, w, b):
    """A double batch through a float Conv2d: PyTorch's CPU kernels say "Input type
    (double) and bias type (float) should be the same" (C++ names, the bias checked first)
    or "expected scalar type Double but found Float"; ember printed the cuDNN wording
    ("Input type (torch.DoubleTensor) and weight type ...")."""
    def program(L):
        F = L.nn.functional
        fn = (F.conv_transpose1d, F.conv_transpose2d)[nd - 1] if transposed else \
            (F.conv1d, F.conv2d)[nd - 1]
        x = L.ones((1, 3) + (5,) * nd, dtype=getattr(L, i))
        wshape = ((3, 4) if transposed else (4, 3)) + (3,) * nd
        bias = None if b is None else L.ones(4, dtype=getattr(L, b))
        return fn(x, L.ones(wshape, dtype=getattr(L, w)), bias)
    e, t = _same_outcome(program)
    assert e[0] == "RuntimeError"


_SHAPES = {
    "flatten 0-d start 1": lambda L: L.tensor(1.0).flatten(1),
    "Flatten of a 0-d": lambda L: L.nn.Flatten()(L.tensor(1.0)),
    "flatten 0-d end -2": lambda L: L.tensor(1.0).flatten(0, -2),
    "flatten 0-d": lambda L: L.tensor(1.0).flatten(-1).tolist(),
    "pad_sequence trailing mismatch": lambda L: L.nn.utils.rnn.pad_sequence(
        [L.ones(2, 3), L.ones(3, 2)]),
    "pad_sequence broadcasts": lambda L: L.nn.utils.rnn.pad_sequence(
        [L.ones(2, 3), L.arange(3.0).view(3, 1)]).tolist(),
    "pad_sequence first's dtype": lambda L: L.nn.utils.rnn.pad_sequence(
        [L.ones(2, dtype=L.long), L.ones(3) * 1.5], batch_first=True, padding_value=-1).tolist(),
    "pad_sequence double second": lambda L: str(L.nn.utils.rnn.pad_sequence(
        [L.ones(2, 3), L.ones(3, 3, dtype=L.float64)]).dtype).split(".")[-1],
    "pad_sequence narrower first": lambda L: L.nn.utils.rnn.pad_sequence(
        [L.ones(2, 1), L.ones(3, 3)]),
    "pad_sequence empty": lambda L: L.nn.utils.rnn.pad_sequence([]),
    "pad_sequence bad side": lambda L: L.nn.utils.rnn.pad_sequence([L.ones(2)],
                                                                   padding_side="middle"),
    "pad_sequence left": lambda L: L.nn.utils.rnn.pad_sequence(
        [L.arange(2.0), L.arange(3.0)], padding_side="left", batch_first=True).tolist(),
}


@pytest.mark.parametrize("case", sorted(_SHAPES))
def test_flatten_and_pad_sequence(case):
    """nn.Flatten on a 0-d tensor is an IndexError in PyTorch (its dims are checked as a
    1-d tensor's; ember returned shape [1]). pad_sequence copies each sequence into a
    tensor of the first one's dtype and trailing shape: a trailing size 1 broadcasts, a
    mismatch is copy_'s error (ember stacked: another message, another dtype)."""
    e, t = _same_outcome(_SHAPES[case])
    if e[0] == "ok":
        assert e[1] == t[1]


def test_pad_sequence_graph():
    a = ember.ones(2, 3, requires_grad=True)
    b = ember.ones(3, 3, requires_grad=True)
    out = ember.nn.utils.rnn.pad_sequence([a, b], batch_first=True)
    assert type(out.grad_fn).__name__ == "CopySlices"
    (out * ember.arange(3.0)[None, :, None]).sum().backward()
    assert a.grad[:, 0].tolist() == [0.0, 1.0] and b.grad[:, 0].tolist() == [0.0, 1.0, 2.0]


def _deepcopy_pruned(L):
    import importlib
    prune = importlib.import_module(L.__name__ + ".nn.utils.prune")
    net = L.nn.Sequential(L.nn.Linear(3, 2))
    prune.l1_unstructured(net[0], "weight", amount=0.5)
    return L.optim.swa_utils.AveragedModel(net)   # deep-copies the pruned module


def test_deepcopy_of_a_non_leaf_message():
    """AveragedModel of a pruned model (its weight a hook's output) cannot be deep-copied;
    PyTorch's message goes on to point at weight_norm, which ember's cut short."""
    e, t = _same_outcome(_deepcopy_pruned)
    assert e[0] == "RuntimeError"


# ------------------------------------------------------------------ NumPy scalars

_NP_SCALARS = {
    "np.float64 * tensor": lambda L: np.float64(2.0) * L.ones(2, 3),
    "np.float32 + tensor": lambda L: np.float32(2.0) + L.ones(2, 3),
    "np.int64 - tensor": lambda L: np.int64(3) - L.ones(2, 3),
    "np.float64 / tensor": lambda L: np.float64(2.0) / L.ones(2, 3),
    "np.float64 ** tensor": lambda L: np.float64(2.0) ** L.ones(2),
    "np.float64 > tensor": lambda L: np.float64(2.0) > L.ones(2),
    "np.sqrt(d) * tensor": lambda L: np.sqrt(np.float64(4.0)) * L.arange(3.0),
    "long * np.float64": lambda L: L.ones(2, dtype=L.long) * np.float64(0.5),
    "np.float64 * long": lambda L: np.float64(0.5) * L.ones(2, dtype=L.long),
    "uint8 + np.int8": lambda L: L.ones(2, dtype=L.uint8) + np.int8(3),
    "np.int8 + uint8": lambda L: np.int8(3) + L.ones(2, dtype=L.uint8),
    "int32 + np.int64": lambda L: L.ones(2, dtype=L.int32) + np.int64(2),
    "half * np.float64": lambda L: L.ones(2, dtype=L.float16) * np.float64(3),
    "where with np.float64": lambda L: L.where(L.ones(2) > 0, L.ones(2, dtype=L.long),
                                               np.float64(0.5)),
    "clamp with np.float64": lambda L: L.clamp(L.ones(2, dtype=L.long), np.float64(0.5)),
    "result_type": lambda L: L.zeros(1, dtype=L.result_type(L.ones(2, dtype=L.long),
                                                            np.float64(0.5))),
}


@pytest.mark.parametrize("case", sorted(_NP_SCALARS))
def test_numpy_scalars_are_numbers(case):
    """Tensor sets __array_priority__ as PyTorch's does, so np.float64(2) * t is
    t.__rmul__ -- a tensor in the graph -- where ember's came back an ndarray made through
    __array__ (the gradient silently lost; `scale = np.sqrt(d_k); scale * scores` in an
    attention block). And a NumPy scalar promotes as the Python number it holds: int64
    tensor * np.float64(0.5) is float32, uint8 + np.int8 stays uint8 (ember read NumPy
    scalars as 0-dim tensors)."""
    e, t = _outcome(ember, _NP_SCALARS[case]), _outcome(torch, _NP_SCALARS[case])
    assert e[0] == t[0] == "ok"
    assert type(e[1]).__name__ == type(t[1]).__name__ == "Tensor"
    assert str(e[1].dtype).split(".")[-1] == str(t[1].dtype).split(".")[-1]
    np.testing.assert_allclose(e[1].numpy(), t[1].numpy())


def test_numpy_scalar_times_a_tensor_keeps_the_graph():
    x = ember.ones(2, requires_grad=True)
    y = np.float64(3.0) * x
    assert isinstance(y, ember.Tensor) and type(y.grad_fn).__name__ == "MulBackward0"
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


_LISTS_WITH_TENSORS = {
    "tensor row after a list row": lambda L: L.tensor([[1, 2], L.tensor([3, 4])]),
    "double tensor row": lambda L: L.tensor([[1, 2], L.tensor([3.5, 4.0], dtype=L.float64)]),
    "short tensor row": lambda L: L.tensor([[1, 2], L.tensor([3])]),
    "0-dim tensors among rows": lambda L: L.tensor([[L.tensor(1.5), 2], L.tensor([3, 4])]),
    "float tensor first": lambda L: L.tensor([L.tensor([1.5, 2.0]), [3, 4]]),
    "int tensors first": lambda L: L.tensor([L.tensor([1, 2], dtype=L.int32),
                                             L.tensor([3, 4], dtype=L.int32)]),
    "one-element tensors": lambda L: L.tensor([L.tensor(1), L.tensor([2])]),
    "tensor then list": lambda L: L.tensor([L.tensor([True]), [1]]),
    "nested one-element": lambda L: L.tensor([[[1]], [L.tensor([2])]]),
}


@pytest.mark.parametrize("case", sorted(_LISTS_WITH_TENSORS))
def test_tensor_of_lists_holding_tensors(case):
    """torch.tensor([[1, 2], torch.tensor([3, 4])]): a tensor where the first elements put
    rows is a row (of its own dtype); on the first elements' chain, or where they put
    numbers, it is a number (one element, or PyTorch's ValueError/TypeError). ember said
    "not a sequence"."""
    def program(L):
        r = _LISTS_WITH_TENSORS[case](L)
        return str(r.dtype).split(".")[-1], r.tolist()
    e, t = _same_outcome(program)
    if e[0] == "ok":
        assert e[1] == t[1]


@pytest.mark.parametrize("value", [np.float64(2.0), np.int32(2), np.bool_(True), np.float16(2.0),
                                   True, 2, 2.5], ids=repr)
def test_full_of_a_numpy_scalar(value):
    """torch.full((n,), np.float64(x)) is float32 (the number, not its NumPy dtype), a
    NumPy int int64, a NumPy bool float32 (PyTorch's parser reads it as a float)."""
    def program(L):
        r = L.full((2,), value)
        return str(r.dtype).split(".")[-1], r.tolist()
    e, t = _same_outcome(program)
    assert e[1] == t[1]
