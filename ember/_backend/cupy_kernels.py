"""Fused CUDA kernels (CuPy ElementwiseKernels) for hot composites: one launch where the
op-by-op form takes a dozen. Built on first use; `kernel(name)` is None where CuPy cannot
build kernels (the CPU test fake, tests/fakecupy.py), and callers then take the op-by-op
path, which computes the same formula."""

_SOURCES = {
    # Adam / AdamW step for one parameter, the formula of ember/optim/adam.py: L2 weight
    # decay (wd_l2) or decoupled decay (keep = 1 - lr * wd), m = lerp(m, g, 1 - b1),
    # v = b2 v + (1 - b2) g^2, p -= step_size * m / (sqrt(v) / bc2 + eps)
    "adam": (
        "T g, T keep, T wd_l2, T b1, T b2, T step_size, T bc2, T eps",
        "T x, T m, T v",
        """
        T gg = g + wd_l2 * x;
        x = x * keep;
        T w = 1 - b1;
        m = w < (T)0.5 ? m + w * (gg - m) : gg - (gg - m) * (1 - w);
        v = v * b2 + gg * gg * (1 - b2);
        x = x - step_size * m / (sqrt(v) / bc2 + eps);
        """),
    "adam_amsgrad": (
        "T g, T keep, T wd_l2, T b1, T b2, T step_size, T bc2, T eps",
        "T x, T m, T v, T vmax",
        """
        T gg = g + wd_l2 * x;
        x = x * keep;
        T w = 1 - b1;
        m = w < (T)0.5 ? m + w * (gg - m) : gg - (gg - m) * (1 - w);
        v = v * b2 + gg * gg * (1 - b2);
        vmax = max(vmax, v);
        x = x - step_size * m / (sqrt(vmax) / bc2 + eps);
        """),
    # SGD with momentum, after the first step (which only copies g into the buffer):
    # g += wd x; buf = momentum buf + (1 - dampening) g; x -= lr (g + momentum buf | buf)
    "sgd_momentum": (
        "T g, T wd, T momentum, T damp_keep, T lr, bool nesterov",
        "T x, T buf",
        """
        T gg = g + wd * x;
        buf = buf * momentum + damp_keep * gg;
        x = x - lr * (nesterov ? gg + momentum * buf : buf);
        """),
}
_BUILT = {}


def kernel(name):
    """The ElementwiseKernel `name`, or None where kernels cannot be built."""
    if name not in _BUILT:
        try:
            import cupy
            params_in, params_out, body = _SOURCES[name]
            _BUILT[name] = cupy.ElementwiseKernel(params_in, params_out, body,
                                                  f"ember_{name}")
        except (ImportError, NotImplementedError):
            _BUILT[name] = None
    return _BUILT[name]
