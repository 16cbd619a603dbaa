"""torch.backends.mps: Apple's Metal backend, which ember does not have. Programs ask
``torch.backends.mps.is_available()`` to choose their device (pytorch/examples' dcgan,
mnist_rnn ...); the answers are a CPU-only PyTorch build's."""


def is_available():
    """False: ember has no Metal (MPS) backend."""
    return False


def is_built():
    """False: ember is never built with MPS."""
    return False


def is_macos_or_newer(major, minor):
    raise RuntimeError("Cannot execute isOnMacOSorNewer() without MPS backend.")


def is_macos13_or_newer(minor=0):
    return is_macos_or_newer(13, minor)
