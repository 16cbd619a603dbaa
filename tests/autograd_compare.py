"""Run one autograd scenario on torch and on ember and compare what it returns."""
import numpy as np
import torch

import ember


def np_(t):
    a = t.detach()
    if a.dtype in (torch.bfloat16, ember.bfloat16):
        a = a.float()
    return np.asarray(a.tolist())


def same(e, t, what="result"):
    """Nested lists/tuples/dicts of tensors and plain values, ember vs torch."""
    if isinstance(t, (tuple, list)):
        assert isinstance(e, (tuple, list)) and len(e) == len(t), f"{what}: {e!r} vs {t!r}"
        for i, (a, b) in enumerate(zip(e, t)):
            same(a, b, f"{what}[{i}]")
    elif isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), f"{what}: {e!r} is not a Tensor"
        assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], \
            f"{what}: dtype {e.dtype} vs {t.dtype}"
        assert tuple(e.shape) == tuple(t.shape), f"{what}: shape {tuple(e.shape)} vs {tuple(t.shape)}"
        np.testing.assert_allclose(np_(e), np_(t), rtol=1e-6, atol=1e-7, err_msg=what)
    elif isinstance(t, str):
        assert e == t.replace("torch.", "ember."), f"{what}: {e!r} vs {t!r}"
    else:
        assert e == t, f"{what}: {e!r} vs {t!r}"


def both(fn):
    """fn(lib) for lib in (torch, ember); the results must agree. Returns ember's."""
    t, e = fn(torch), fn(ember)
    same(e, t)
    return e
