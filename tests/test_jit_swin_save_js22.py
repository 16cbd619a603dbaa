"""ember.jit.save of Swin Transformers (ember.vision.models): the functions registered
with torch.fx.wrap (shifted_window_attention, _patch_merging_pad,
_get_relative_position_bias) are saved as TorchScript functions of their own, one per set
of constant arguments, with the shape-dependent branches inside (padding to whole windows,
the shift switched off where one window covers the input), instead of being traced into at
every block. The archive runs in real torch.jit.load with the outputs of torchvision's
model holding the same weights, at input sizes other than the one traced, and in
ember.jit.load."""
import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402


def pair(v2=False):
    from tests.vision._tv import tv
    tv()
    from torchvision.models import swin_transformer as theirs
    from ember.vision.models import swin_transformer as ours
    kwargs = dict(patch_size=[4, 4], embed_dim=8, depths=[2, 1], num_heads=[2, 4],
                  window_size=[4, 4], num_classes=3)
    if v2:
        kwargs.update(block=theirs.SwinTransformerBlockV2, downsample_layer=theirs.PatchMergingV2)
    torch.manual_seed(0)
    model = theirs.SwinTransformer(**kwargs).eval()
    if v2:
        kwargs.update(block=ours.SwinTransformerBlockV2, downsample_layer=ours.PatchMergingV2)
    mine = ours.SwinTransformer(**kwargs)
    mine.load_state_dict({k: ember.tensor(v.numpy()) for k, v in model.state_dict().items()})
    return model, mine.eval()


def save_and_load(model):
    buf = io.BytesIO()
    ember.jit.save(model, buf)
    buf.seek(0)
    theirs = torch.jit.load(buf)
    buf.seek(0)
    return theirs, ember.jit.load(buf)


@pytest.mark.parametrize("v2", [False, True], ids=["v1", "v2"])
def test_small_swin_saves_and_matches_torchvision_at_several_sizes(v2):
    model, mine = pair(v2)
    loaded, back = save_and_load(mine)
    code = loaded.code + "".join(m.code for m in loaded.modules() if hasattr(m, "code"))
    assert "ember_export.functions.shifted_window_attention_" in code
    for size in (32, 20, 16):   # 20: padded windows; 16: one window, no shift, in stage 2
        x = torch.randn(2, 3, size, size)
        with torch.no_grad():
            want = model(x).numpy()
            got = loaded(x).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
        ours = back(ember.tensor(x.numpy())).detach().numpy()
        np.testing.assert_allclose(ours, want, rtol=1e-4, atol=1e-5)


def test_one_function_per_distinct_constants():
    """Blocks with the same settings share one function: two blocks in stage 1 (shift 0
    and 2) and one in stage 2 (4 heads) give three attention functions."""
    import zipfile
    _, mine = pair()
    buf = io.BytesIO()
    ember.jit.save(mine, buf)
    names = zipfile.ZipFile(buf).namelist()
    source = zipfile.ZipFile(buf).read(
        [n for n in names if n.endswith("ember_export/functions.py")][0]).decode()
    assert source.count("def shifted_window_attention_") == 3
    assert source.count("def _patch_merging_pad_") == 1


def pad_to_multiple(x, k):
    """x's last dim zero-padded to a multiple of k, times k (a branch on the traced width)."""
    n = x.shape[-1]
    if n % k != 0:
        x = ember.nn.functional.pad(x, (0, k - n % k))
    return x * k


ember.fx.wrap("pad_to_multiple")


class Blocks(ember.nn.Module):
    """Ten calls of a wrapped function that branches on the width: traced into, its
    branches would multiply to 2 ** 10 paths; saved as a function, three functions (one
    per k) of two paths each."""

    def forward(self, x):
        for k in (2, 3, 2, 3, 4, 2, 3, 4, 2, 3):
            x = x + pad_to_multiple(x, k)[..., :x.shape[-1]].tanh()
        return x


def blocks_in_torch(x):
    for k in (2, 3, 2, 3, 4, 2, 3, 4, 2, 3):
        n = x.shape[-1]
        y = torch.nn.functional.pad(x, (0, k - n % k)) if n % k else x
        x = x + (y * k)[..., :n].tanh()
    return x


def test_a_wrapped_function_called_in_every_block_is_saved_once_per_constant():
    loaded, back = save_and_load(Blocks())
    for width in (12, 7, 5):
        x = torch.randn(2, width)
        want = blocks_in_torch(x).numpy()
        np.testing.assert_allclose(loaded(x).numpy(), want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(back(ember.tensor(x.numpy())).numpy(), want, rtol=1e-5,
                                   atol=1e-6)
