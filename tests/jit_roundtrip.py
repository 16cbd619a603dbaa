"""The round trip the jit.save tests share: save with ember, load the archive in real
torch.jit.load and in ember.jit.load; and a tensor's values as a torch tensor."""
import io

import numpy as np
import torch

import ember


def save_and_load(obj, script=False):
    """(torch's module, ember's module) loaded from ember.jit.save(obj) (of
    ember.jit.script(obj) when `script`)."""
    buf = io.BytesIO()
    ember.jit.save(ember.jit.script(obj) if script else obj, buf)
    buf.seek(0)
    theirs = torch.jit.load(buf)
    buf.seek(0)
    return theirs, ember.jit.load(buf)


def to_torch(x):
    """An ember tensor's values as a torch tensor; anything else as it is."""
    return torch.from_numpy(np.array(x.numpy())) if isinstance(x, ember.Tensor) else x
