"""torch.backends.openmp: ember's kernels do not use OpenMP (its thread pools are its own,
ember/_backend/parallel.py), so ``is_available()`` is False."""


def is_available():
    """False: ember is not built with OpenMP."""
    return False
