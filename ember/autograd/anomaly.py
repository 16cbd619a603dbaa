"""Anomaly detection: remember where each op was recorded, and check backward for NaN."""
import os
import traceback
import warnings

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_ENABLED = [False, True]  # enabled, check_nan


def anomaly_enabled():
    return _ENABLED[0]


def record_trace(node):
    """Keep the user's part of the stack (ember's own frames dropped), as PyTorch shows it."""
    frames = [f for f in traceback.extract_stack()
              if not os.path.abspath(f.filename).startswith(_PACKAGE_DIR + os.sep)]
    node._trace = "".join(traceback.format_list(frames))


def report_forward_trace(node):
    tb = node.__dict__.get("_trace")
    if tb:
        warnings.warn("Error detected in " + node.name() + ". Traceback of forward call that caused "
                      "the error:\n" + tb, UserWarning, stacklevel=2)


def check_nan(node, grads):
    if not _ENABLED[1]:
        return
    for i, g in enumerate(grads):
        if g is not None and g.dtype.is_floating_point and bool(g.isnan().any()):
            report_forward_trace(node)
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")


class detect_anomaly:
    """Context manager enabling anomaly detection (forward traces, NaN checks in backward)."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan
        self.prev = None
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", UserWarning, stacklevel=2)

    def __enter__(self):
        self.prev = list(_ENABLED)
        _ENABLED[0], _ENABLED[1] = True, self.check_nan

    def __exit__(self, *exc):
        _ENABLED[:] = self.prev
        return False


class set_detect_anomaly:
    def __init__(self, mode, check_nan=True):
        self.prev = list(_ENABLED)
        _ENABLED[0], _ENABLED[1] = bool(mode), check_nan

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _ENABLED[:] = self.prev
        return False


def is_anomaly_enabled():
    return _ENABLED[0]


def is_anomaly_check_nan_enabled():
    return _ENABLED[1]
