"""torch.backends.mkl: Intel MKL, which ember does not use (its BLAS and FFTs are NumPy's),
so ``is_available()`` is False; ``verbose`` is an inert scope."""
VERBOSE_OFF = 0
VERBOSE_ON = 1


def is_available():
    """False: ember is not built on MKL."""
    return False


class verbose:
    """MKL's on-demand verbose scope; with no MKL there is nothing to log."""

    def __init__(self, enable):
        self.enable = enable

    def __enter__(self):
        return None if self.enable == VERBOSE_OFF else self

    def __exit__(self, exc_type, exc_val, exc_tb):
        return False
