"""Real torchvision as a test oracle, on the CPU-only torch of the test extra.

The torchvision wheel from the package registry ships a compiled ``_C`` extension built
for CUDA that cannot load here. torchvision then warns about it, and its module
``torchvision._meta_registrations`` fails at import time (it registers meta kernels for
the ``torchvision::nms``/``roi_align`` operators that ``_C`` would have defined). The
models and transforms do not need ``_C``, so this helper puts an empty module in
``sys.modules`` under that name before the first import and silences the ``_C``
warnings. No installed file is modified (CI installs a clean wheel).

Use: ``torchvision = tv()`` inside a test module, after ``pytest.importorskip("torch")``;
it skips the module when torchvision is not installed.
"""
import sys
import types
import warnings

import pytest

_META = "torchvision._meta_registrations"


def tv():
    """The torchvision package (imported once, without its compiled extension)."""
    pytest.importorskip("torch")
    sys.modules.setdefault(_META, types.ModuleType(_META))
    with warnings.catch_warnings():
        # "Failed to load image Python extension" / "operator ... does not exist"
        warnings.simplefilter("ignore")
        try:
            import torchvision
            import torchvision.models  # noqa: F401
        except ImportError as exc:
            pytest.skip(f"torchvision is not installed: {exc}", allow_module_level=True)
    # the oracle must be the real package, never ember.vision under torchvision's name
    assert torchvision.__name__ == "torchvision", torchvision
    return torchvision
