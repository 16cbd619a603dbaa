"""Workloads, written once against the torch API and run with `lib` = ember or torch.

Each workload is `setup(lib) -> step`, where `step()` runs one iteration; setup builds
the inputs outside the timed region. They measure per-op overhead, so shapes are tiny.
"""


def _pair(lib, n, requires_grad):
    lib.manual_seed(0)
    a = lib.randn(n, n, requires_grad=requires_grad)
    b = lib.randn(n, n, requires_grad=requires_grad)
    return a, b


def add_4x4(lib):
    a, b = _pair(lib, 4, False)
    return lambda: a + b


def add_4x4_grad(lib):
    a, b = _pair(lib, 4, True)
    return lambda: a + b


def matmul_4x4(lib):
    a, b = _pair(lib, 4, False)
    return lambda: a @ b


def matmul_4x4_grad(lib):
    a, b = _pair(lib, 4, True)
    return lambda: a @ b


def mul_sum_backward_4x4(lib):
    a, b = _pair(lib, 4, True)

    def step():
        (a * b).sum().backward()
    return step


WORKLOADS = {f.__name__: f for f in (add_4x4, add_4x4_grad, matmul_4x4, matmul_4x4_grad,
                                     mul_sum_backward_4x4)}
