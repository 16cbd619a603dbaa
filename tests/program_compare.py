"""The comparison the regression-case files share (tests/test_opinfo_regressions.py,
test_dtype_sweep_regressions.py, test_reference_inputs.py, test_docstring_regressions.py):
run one program on ember and on torch and reduce each result to a comparable form; `same`
compares two forms at given tolerances (files with per-dtype tolerances keep their own)."""
import numpy as np


def norm(x):
    """Tensors as ("T", dtype name, shape, values as a NumPy array); containers
    elementwise; anything else as itself."""
    if hasattr(x, "detach") and hasattr(x, "dtype") and hasattr(x, "tolist"):
        a = x.detach()
        values = np.asarray(a.tolist(), dtype=complex if a.is_complex() else None)
        return ("T", str(a.dtype).split(".")[1], tuple(a.shape), values)
    if isinstance(x, (tuple, list)):
        return [norm(v) for v in x]
    return x


def run(program, m):
    """norm(program(m)), or ("raised", exception type name) when it raises."""
    try:
        return norm(program(m))
    except Exception as e:  # noqa: BLE001 - the type is what gets compared
        return ("raised", type(e).__name__)


def same(a, b, rtol=1e-6, atol=1e-6, strict_types=False):
    """Whether two norm() forms agree: containers elementwise, tensors in dtype, shape and
    values (NaNs equal), anything else by ==, and by type too with `strict_types`."""
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(
            same(x, y, rtol, atol, strict_types) for x, y in zip(a, b))
    if isinstance(a, tuple) and a and a[0] == "T":
        return (isinstance(b, tuple) and a[:3] == b[:3]
                and np.allclose(a[3], b[3], rtol=rtol, atol=atol, equal_nan=True))
    return (not strict_types or type(a) is type(b)) and a == b


def plain(x):
    """Tensors as ("T", values as nested lists); containers elementwise; anything else as
    itself (exact comparison, for results that must agree to the bit)."""
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if hasattr(x, "requires_grad") and hasattr(x, "tolist"):
        return ("T", x.detach().tolist())
    return x


def outcome(program, m):
    """plain(program(m)), or ("raised", exception type name, message) when it raises."""
    try:
        return plain(program(m))
    except Exception as e:  # noqa: BLE001 - the type and message are what gets compared
        return ("raised", type(e).__name__, str(e))
