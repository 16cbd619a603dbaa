"""Warnings attributed to the user's line, as PyTorch's are.

PyTorch's warnings point at the Python line that called into it, so the default filter
shows one per calling line. ember's code lies at varying depths below the public call
(method fronts, dispatch layers, NumPy aliases): the stack level is found by walking out
of the package instead of being counted by hand."""
import os
import sys
import warnings

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn_at_caller(message, category=UserWarning):
    """warnings.warn(message, category) attributed to the first frame outside ember."""
    level, frame = 2, sys._getframe(1)   # level 2: whoever called the function warning
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
