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
