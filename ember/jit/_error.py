"""torch.jit.Error, the exception TorchScript code raises."""


class Error(Exception):
    """An exception raised by TorchScript code (``raise`` in a scripted method, which the
    archive's code writes as ``ops.prim.RaiseException(message, "builtins.ValueError")``).
    As PyTorch's, it derives from Exception only, not from RuntimeError."""


def raise_exception(msg, cls_name="builtins.RuntimeError"):
    """prim::RaiseException: torch's message layout, the Python class named in the text."""
    raise Error(f"The following operation failed in the TorchScript interpreter.\n"
                f"{cls_name}: {msg}")
