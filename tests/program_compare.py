"""The comparison the regression-case files share (tests/test_opinfo_regressions.py,
test_dtype_sweep_regressions.py, test_reference_inputs.py): run one program on ember and
on torch and reduce each result to a comparable form; each file compares the forms with
its own tolerances."""
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
