"""Defects found by running public programs (karpathy/nanoGPT, makemore, graykode/nlp-tutorial,
kuangliu/pytorch-cifar, rasbt/LLMs-from-scratch ...) on ember with bench/script_probe.py;
each case is the defect's core, a few lines run on both libraries and compared bit for bit
(values, dtypes and shapes) or by exception type and message."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

from tests.program_compare import outcome  # noqa: E402


def _half_input(m, dtype):
    """A float16/bfloat16 tensor spanning the activations' interesting range (-9 .. 9)."""
    g = np.random.default_rng(0)
    values = (g.standard_normal((4, 32)) * 3).astype(np.float32)
    return m.tensor(values).to(getattr(m, dtype)).requires_grad_()


_HALF_ACTIVATIONS = {
    # rasbt/LLMs-from-scratch's Llama 3 / Qwen3 feed-forward: silu(fc1(x)) * fc2(x) in bfloat16
    "silu": lambda F, x: F.silu(x),
    "mish": lambda F, x: F.mish(x),
    "softplus": lambda F, x: F.softplus(x),
    "softplus_beta": lambda F, x: F.softplus(x, beta=2.0, threshold=5.0),
    "elu": lambda F, x: F.elu(x, alpha=0.7),
    "selu": lambda F, x: F.selu(x),
    "celu": lambda F, x: F.celu(x, alpha=1.3),
    "hardswish": lambda F, x: F.hardswish(x),
    "hardsigmoid": lambda F, x: F.hardsigmoid(x),
    "logsigmoid": lambda F, x: F.logsigmoid(x),
    "glu": lambda F, x: F.glu(x, -1),
    "rms_norm": lambda F, x: F.rms_norm(x, (32,)),
    "rms_norm_weight": lambda F, x: F.rms_norm(x, (32,), x[0].detach() * 0.5),
}


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("name", sorted(_HALF_ACTIVATIONS))
def test_half_activation_rounds_once(name, dtype):
    """PyTorch's CPU kernels compute float16/bfloat16 activations in float32 and round once;
    ember's composites rounded after every step (x * sigmoid(x) twice), so a quarter of a
    bfloat16 Llama's SiLU outputs were an ulp off; rms_norm's default eps was bfloat16's
    2**-7 instead of float32's. The outputs must agree to the bit, the input gradients
    within one unit in the dtype's last place (the backward formulas round differently in
    float32). glu's gradient is held to the float32 gradient rounded once instead: PyTorch's
    glu backward rounds sigmoid(b) to the half type first, several units off where sigmoid(b)
    nears 1."""
    def program(m, upcast=False):
        x = _half_input(m, dtype)
        leaf = x.detach().float().requires_grad_() if upcast else x
        y = _HALF_ACTIVATIONS[name](m.nn.functional, leaf)
        weights = m.linspace(-1, 1, y.numel()).reshape(y.shape).to(y.dtype)
        (y * weights).sum().backward()
        grad = leaf.grad.to(getattr(m, dtype)) if upcast else leaf.grad
        return [y.to(getattr(m, dtype)), str(x.dtype).split(".")[1],
                str(grad.dtype).split(".")[1], grad.float()]
    got, want = outcome(program, ember), outcome(program, torch)
    assert got[:3] == want[:3]
    if name == "glu":
        want = outcome(lambda m: program(m, upcast=True), torch)
    grad, grad_want = np.array(got[3][1]), np.array(want[3][1])
    bits = 10 if dtype == "float16" else 7
    ulp = 2.0 ** (np.floor(np.log2(np.maximum(np.abs(grad_want), 2.0 ** -24))) - bits)
    assert np.all(np.abs(grad - grad_want) <= ulp)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_inplace_activations(dtype):
    """The in-place forms (nn.SiLU(inplace=True), F.hardswish(x, inplace=True) ...) write the
    once-rounded result into their input."""
    def program(m):
        F = m.nn.functional
        x = _half_input(m, dtype).detach()
        outs = []
        for f in (F.silu, F.hardswish, F.mish, F.elu, F.selu, F.hardsigmoid):
            y = x.clone()
            r = f(y, inplace=True)
            outs += [y, r is y]
        return outs
    assert outcome(program, ember) == outcome(program, torch)


_NDARRAY_LISTS = {
    # graykode's TextCNN / Bi-LSTM(Attention): torch.LongTensor([np.asarray(ids) for ...])
    "LongTensor": lambda m, np: m.LongTensor([np.arange(3), np.arange(3)]),
    "tensor": lambda m, np: m.tensor([np.arange(3), np.arange(3)]),
    "Tensor": lambda m, np: m.Tensor([np.ones(2), np.ones(2)]),
    "as_tensor": lambda m, np: m.as_tensor([np.arange(3)]),
    "nested": lambda m, np: m.tensor([[np.arange(2)], [np.arange(2)]]),
    "mixed": lambda m, np: m.tensor([[1, 2, 3], np.arange(3)]),
    "new_tensor": lambda m, np: m.zeros(1).new_tensor([np.arange(3)]),
    "empty": lambda m, np: m.tensor([np.zeros((0,))]),
    "empty_int32": lambda m, np: m.tensor([np.zeros((2, 0), dtype=np.int32)]),
    "numpy_scalars": lambda m, np: m.tensor([np.float32(1), np.float32(2)]),
}


@pytest.mark.parametrize("name", sorted(_NDARRAY_LISTS))
def test_tensor_from_list_of_ndarrays(name, tmp_path):
    """tensor data given as a list holding numpy.ndarrays: PyTorch warns (once per process,
    when there is data) that this is slow, and an array element counts with its own dtype
    even when empty (ember inferred float32 for [np.zeros((0,))]: PyTorch gives float64).
    Each case runs in a fresh process, the warning being once per process."""
    import subprocess
    import sys
    program = (
        "import warnings, numpy as np, sys\n"
        "m = __import__(sys.argv[1])\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    r = CASE\n"
        "    r2 = CASE\n"
        "print(str(r.dtype).split('.')[1], tuple(r.shape), r.tolist(), r2.dtype == r.dtype)\n"
        "print([(x.category.__name__, str(x.message).split(' (Triggered')[0],\n"
        "        x.filename == __file__) for x in w])\n")
    import inspect
    case = inspect.getsource(_NDARRAY_LISTS[name]).split("lambda m, np: ")[1].rstrip().rstrip(",")
    outputs = []
    for lib in ("ember", "torch"):
        path = str(tmp_path / f"ndlist_{lib}.py")
        with open(path, "w") as f:
            f.write(program.replace("CASE", case).replace("__file__", repr(path)))
        done = subprocess.run([sys.executable, path, lib], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("call", ["method", "function", "method_kw", "function_none"])
def test_multinomial_missing_num_samples(call):
    """spro/practical-pytorch's reinforce-gridworld calls the pre-0.4 scores.multinomial():
    PyTorch's argument parser raises TypeError naming the missing "num_samples" (ember's
    message named an internal function, _multinomial_method)."""
    def program(m):
        x = m.ones(2, 4)
        return {"method": lambda: x.multinomial(), "function": lambda: m.multinomial(x),
                "method_kw": lambda: x.multinomial(replacement=True),
                "function_none": lambda: m.multinomial()}[call]()
    assert outcome(program, ember) == outcome(program, torch)


_ENCODER_CASES = {
    # (grad enabled, final norm, padding pattern, also an attention mask, eval mode, mask_check)
    "eval_no_grad": (False, False, "right", False, True, True),
    "eval_no_grad_norm": (False, True, "right", False, True, True),
    "eval_grad": (True, False, "right", False, True, True),
    "train_no_grad": (False, False, "right", False, False, True),
    "not_left_aligned": (False, False, "left", False, True, True),
    "with_attn_mask": (False, False, "right", True, True, True),
    "no_padding": (False, False, "none", False, True, True),
}


@pytest.mark.parametrize("name", sorted(_ENCODER_CASES))
def test_transformer_encoder_inference_padding(name):
    """nn.TransformerEncoder in eval mode without autograd and with a right-padded
    src_key_padding_mask takes PyTorch's nested-tensor path: padded positions come out 0
    (then the final norm), not the values the dense layers compute there, so a classifier
    mean-pooling the encoder output gets other numbers. ember computed the dense values."""
    grad, with_norm, pattern, attn_mask, eval_mode, mask_check = _ENCODER_CASES[name]

    def program(m):
        m.manual_seed(0)
        layer = m.nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.0,
                                             batch_first=True)
        enc = m.nn.TransformerEncoder(layer, 2, norm=m.nn.LayerNorm(16) if with_norm else None,
                                      mask_check=mask_check)
        enc.train(not eval_mode)
        x = m.rand(3, 5, 16)
        pad = {"right": [[0, 0, 0, 0, 0], [0, 0, 0, 1, 1], [0, 0, 0, 0, 1]],
               "left": [[0, 0, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 0, 0, 1]],
               "none": [[0] * 5] * 3}[pattern]
        pad = m.tensor(pad).bool()
        causal = m.nn.Transformer.generate_square_subsequent_mask(5) if attn_mask else None
        with m.set_grad_enabled(grad):
            y = enc(x, mask=causal, src_key_padding_mask=pad)
        return [y.detach(), y.mean(1).detach()]

    got, want = outcome(program, ember), outcome(program, torch)
    for a, b in zip(got, want):
        np.testing.assert_allclose(np.array(a[1]), np.array(b[1]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax", "softmin", "sdpa_float_mask"])
def test_fully_masked_rows_warn_nothing(fn):
    """A fully masked attention row (all -inf) gives NaN in softmax/log_softmax, as PyTorch,
    without NumPy's 'invalid value encountered in subtract' RuntimeWarning leaking out
    (seen through nn.MultiheadAttention with a fully padded key_padding_mask)."""
    import warnings

    def program(m):
        inf = float("inf")
        x = m.tensor([[-inf, -inf, -inf], [0.0, 1.0, -inf], [inf, 0.0, 1.0]])
        F = m.nn.functional
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            if fn == "sdpa_float_mask":
                q = m.ones(1, 1, 3, 2)
                return F.scaled_dot_product_attention(q, q, q, attn_mask=x)
            return {"softmax": lambda: F.softmax(x, -1), "log_softmax": lambda: F.log_softmax(x, -1),
                    "softmin": lambda: F.softmin(-x, 0)}[fn]()
    got, want = outcome(program, ember), outcome(program, torch)
    assert got[0] == want[0] == "T"
    np.testing.assert_allclose(np.array(got[1]), np.array(want[1]), rtol=1e-6, atol=1e-7)
