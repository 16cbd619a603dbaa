"""Fake kernels' context: ``get_ctx()`` inside a fake kernel (``register_fake``), and its
data-dependent sizes (``ctx.new_dynamic_size()``)."""
import functools


class _DynamicSize(int):
    """A size a fake kernel made with ``ctx.new_dynamic_size()`` (data-dependent)."""


class FakeImplCtx:
    """What ``get_ctx()`` returns inside a fake kernel."""

    def new_dynamic_size(self, *, min=0, max=None):
        """A size known only once the real kernel runs (e.g. nonzero's count). ember's
        fake kernels run on meta tensors, so this is a stand-in value (`min`, at least 2);
        opcheck compares only the number of dims of such outputs."""
        if min < 0 or (max is not None and max < min):
            raise ValueError(f"ctx.new_dynamic_size(min={min}, max={max}): expected min to "
                             f"be greater than or equal to 0 and max to be greater than or "
                             f"equal to min")
        _DYNAMIC_SIZES[0] += 1
        stand_in = 2 if min <= 2 else min        # (min and max name the bounds here)
        if max is not None and stand_in > max:
            stand_in = max
        return _DynamicSize(stand_in)

    new_dynamic_size_int = new_dynamic_size


_FAKE_CTX = []
_DYNAMIC_SIZES = [0]   # how many data-dependent sizes fake kernels made (opcheck reads it)


def get_ctx():
    """The current FakeImplCtx inside a fake kernel (``torch.library.get_ctx``); None
    elsewhere."""
    return _FAKE_CTX[-1] if _FAKE_CTX else None


def _with_fake_ctx(fn):
    @functools.wraps(fn)
    def run(*args, **kwargs):
        _FAKE_CTX.append(FakeImplCtx())
        try:
            return fn(*args, **kwargs)
        finally:
            _FAKE_CTX.pop()
    return run
