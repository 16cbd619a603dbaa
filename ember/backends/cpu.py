"""torch.backends.cpu: what the CPU offers. ember's CPU kernels are NumPy's, so the answer
is the widest SIMD level NumPy detected on this machine, in PyTorch's names."""


def get_cpu_capability():
    """'AVX512', 'AVX2' or 'DEFAULT' on x86 (PyTorch's names; NumPy's detection), 'DEFAULT'
    elsewhere."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:   # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_features__ as features
    if all(features.get(f) for f in ("AVX512F", "AVX512BW", "AVX512VL", "AVX512DQ")):
        return "AVX512"
    if features.get("AVX2"):
        return "AVX2"
    return "DEFAULT"
