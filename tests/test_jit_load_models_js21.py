"""ember.jit.load of archives real torch.jit.script writes for models whose code uses
lists and dicts as values (``list(xs)`` copies: aten::copy, ``dict()``: aten::dict):
a small torchvision Swin Transformer and a dict-returning segmentation-style head, run
by ember with torch's outputs."""
import io
import sys
import types
from collections import OrderedDict
from typing import Dict, List

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402


def roundtrip(scripted):
    buf = io.BytesIO()
    torch.jit.save(scripted, buf)
    buf.seek(0)
    return ember.jit.load(buf)


def test_small_swin_transformer_scripted_by_torch():
    from tests.vision._tv import tv
    torchvision = tv()
    from torchvision.models.swin_transformer import SwinTransformer
    torch.manual_seed(0)
    model = SwinTransformer(patch_size=[4, 4], embed_dim=8, depths=[1, 1], num_heads=[2, 2],
                            window_size=[4, 4], num_classes=3).eval()
    loaded = roundtrip(torch.jit.script(model))
    for size in (32, 20):   # 20: padded windows, the shift switched off in the last stage
        x = torch.randn(2, 3, size, size)
        with torch.no_grad():
            want = model(x).numpy()
        got = loaded(ember.tensor(x.numpy())).detach().numpy()
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


class Heads(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 1)
        self.sizes: List[int] = [1, 2]

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        sizes = self.sizes.copy()   # aten::copy of a list
        sizes.append(x.shape[-1])
        result = OrderedDict()
        out = dict()
        y = self.conv(x)
        for s in sizes:
            out["s" + str(s)] = torch.nn.functional.adaptive_avg_pool2d(y, s)
        result["out"] = y
        result.update(out)
        return result


def test_dict_output_and_list_copy_scripted_by_torch():
    torch.manual_seed(0)
    model = Heads().eval()
    scripted = torch.jit.script(model)
    assert "torch.copy(" in scripted.code and "torch.dict()" in scripted.code
    loaded = roundtrip(scripted)
    x = torch.randn(1, 3, 5, 5)
    with torch.no_grad():
        want = model(x)
    got = loaded(ember.tensor(x.numpy()))
    assert list(got) == list(want)
    for k in want:
        np.testing.assert_allclose(got[k].detach().numpy(), want[k].numpy(), rtol=1e-5,
                                   atol=1e-6)
    assert loaded.sizes == [1, 2]   # the copy, not the attribute, was appended to
