"""ember.backends against torch.backends: the flags' defaults, the TF32 switches, and
convolutions with TF32 on a GPU (within TF32's precision)."""
import subprocess
import sys

import numpy as np
import pytest
import torch

import ember


def _flags(lib):
    code = (f"import {lib} as t; print(t.backends.cudnn.allow_tf32, "
            f"t.backends.cuda.matmul.allow_tf32, t.get_float32_matmul_precision())")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.split()


def test_defaults_match_torch():
    assert _flags("ember") == _flags("torch")


def test_matmul_flag_follows_precision():
    old = ember.get_float32_matmul_precision()
    try:
        ember.set_float32_matmul_precision("high")
        assert ember.backends.cuda.matmul.allow_tf32 is True
        ember.backends.cuda.matmul.allow_tf32 = False
        assert ember.get_float32_matmul_precision() == "highest"
        ember.backends.cuda.matmul.allow_tf32 = True
        assert ember.get_float32_matmul_precision() == "high"
    finally:
        ember.set_float32_matmul_precision(old)
    assert ember.backends.cuda.matmul.allow_tf32 is (old != "highest")


def test_cudnn_flag_round_trips():
    old = ember.backends.cudnn.allow_tf32
    try:
        ember.backends.cudnn.allow_tf32 = 0
        assert ember.backends.cudnn.allow_tf32 is False
        ember.backends.cudnn.allow_tf32 = True
        assert ember.backends.cudnn.allow_tf32 is True
    finally:
        ember.backends.cudnn.allow_tf32 = old
    try:
        import cupy  # noqa: F401
    except ImportError:   # no CuPy, no cuDNN (tests/test_cudnn.py: with one)
        assert ember.backends.cudnn.is_available() is False
        assert ember.backends.cudnn.version() is None


def test_tf32_convolution_close_to_float32(device):
    """With TF32 allowed (the default), a CUDA convolution and its gradients stay within
    TF32's precision of torch's float32 CPU results; without it, within float32's."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 8, 12, 12), dtype=np.float32)
    w = rng.standard_normal((16, 8, 3, 3), dtype=np.float32)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = torch.nn.functional.conv2d(tx, tw, padding=1)
    ty.square().sum().backward()
    old = ember.backends.cudnn.allow_tf32
    try:
        for allow, tol in ((True, 1e-2), (False, 1e-4)):
            ember.backends.cudnn.allow_tf32 = allow
            ex = ember.tensor(x, device=device, requires_grad=True)
            ew = ember.tensor(w, device=device, requires_grad=True)
            ey = ember.nn.functional.conv2d(ex, ew, padding=1)
            ey.square().sum().backward()
            for e, t in ((ey, ty), (ex.grad, tx.grad), (ew.grad, tw.grad)):
                np.testing.assert_allclose(e.detach().cpu().numpy(), t.detach().numpy(), rtol=tol,
                                           atol=tol * float(t.abs().max()))
    finally:
        ember.backends.cudnn.allow_tf32 = old


def test_sdp_switches_as_torch():
    """torch.backends.cuda's attention-kernel switches, sdp_kernel (deprecated) and
    torch.nn.attention.sdpa_kernel read and write the same flags in both libraries."""
    names = ("flash", "mem_efficient", "math", "cudnn")

    def flags(lib):
        return [getattr(lib.backends.cuda, f"{n}_sdp_enabled")() for n in names]

    def run(lib):
        seen = [flags(lib)]
        lib.backends.cuda.enable_flash_sdp(False)
        lib.backends.cuda.enable_cudnn_sdp(False)
        seen.append(flags(lib))
        with pytest.warns(FutureWarning, match="sdp_kernel"):
            with lib.backends.cuda.sdp_kernel(enable_math=False, enable_flash=True):
                seen.append(flags(lib))
        seen.append(flags(lib))
        from importlib import import_module
        attention = import_module(f"{lib.__name__}.nn.attention")
        with attention.sdpa_kernel([attention.SDPBackend.MATH,
                                    attention.SDPBackend.FLASH_ATTENTION]):
            seen.append(flags(lib))
            seen.append([int(b) for b in attention._cur_sdpa_kernel_backends()])
        seen.append(flags(lib))
        for n in names:
            getattr(lib.backends.cuda, f"enable_{n}_sdp")(True)
        seen.append(flags(lib))
        return seen
    assert run(ember) == run(torch)
