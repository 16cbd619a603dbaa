"""ember.vision.utils' drawing helpers against torchvision.utils, live: the same pixels
(Pillow draws on both sides), dtypes and errors."""
import types
import warnings

import numpy as np
import pytest

from tests.vision._tv import tv

torch = pytest.importorskip("torch")
torchvision = tv()
import torchvision.utils as TU  # noqa: E402

import ember  # noqa: E402
import ember.vision.utils as EU  # noqa: E402

TORCH = types.SimpleNamespace(torch=torch, utils=TU)
EMBER = types.SimpleNamespace(torch=ember, utils=EU)
RNG = np.random.default_rng(0)
IMG = RNG.integers(0, 256, (3, 40, 50), dtype=np.uint8)
BOXES = np.array([[2, 3, 20, 25], [10, 5, 45, 30], [30, 20, 48, 38]], dtype=np.float32)
MASKS = RNG.random((3, 40, 50)) > 0.6
KPTS = np.array([[[5, 5], [20, 10], [30, 30]], [[40, 8], [12, 33], [25, 20]]],
                dtype=np.float32)


def _img(L, dtype="u8"):
    t = L.torch.from_numpy(IMG.copy())
    return t if dtype == "u8" else t.to(L.torch.float32) / 255


def _same(call, atol=0):
    outs = []
    for L in (TORCH, EMBER):
        out = call(L)
        outs.append((str(out.dtype).split(".")[1], tuple(out.shape), out.numpy()))
    assert outs[0][:2] == outs[1][:2]
    np.testing.assert_allclose(outs[1][2].astype(np.float64), outs[0][2].astype(np.float64),
                               atol=atol)


@pytest.mark.parametrize("kwargs", [
    {},
    {"labels": ["cat", "dog", "bird"], "width": 2},
    {"colors": "red", "fill": True},
    {"colors": ["blue", (0, 255, 0), "#ff00ff"], "labels": ["a", "b", "c"],
     "fill_labels": True, "label_background_colors": "yellow"},
    {"labels": ["x", "y", "z"], "label_colors": ["white", "black", "red"]},
])
@pytest.mark.parametrize("dtype", ["u8", "f32"])
def test_draw_bounding_boxes(kwargs, dtype):
    _same(lambda L: L.utils.draw_bounding_boxes(_img(L, dtype), L.torch.from_numpy(BOXES),
                                                **kwargs), atol=1e-6)


def test_draw_bounding_boxes_grayscale_and_no_boxes():
    _same(lambda L: L.utils.draw_bounding_boxes(_img(L)[:1], L.torch.from_numpy(BOXES)))
    for L in (TORCH, EMBER):
        with pytest.warns(UserWarning):
            out = L.utils.draw_bounding_boxes(_img(L), L.torch.zeros(0, 4))
        assert out.shape == (3, 40, 50)


@pytest.mark.parametrize("kwargs", [{}, {"alpha": 0.3, "colors": "green"},
                                    {"colors": [(255, 0, 0), "blue", "white"]}])
@pytest.mark.parametrize("dtype", ["u8", "f32"])
def test_draw_segmentation_masks(kwargs, dtype):
    _same(lambda L: L.utils.draw_segmentation_masks(_img(L, dtype), L.torch.from_numpy(MASKS),
                                                    **kwargs), atol=1e-5)


def test_draw_segmentation_single_mask():
    _same(lambda L: L.utils.draw_segmentation_masks(_img(L), L.torch.from_numpy(MASKS[0])))


@pytest.mark.parametrize("kwargs", [
    {}, {"connectivity": [(0, 1), (1, 2)], "colors": "red", "radius": 3, "width": 2},
    {"connectivity": [(0, 2)], "visibility": [[True, False, True], [True, True, False]]},
])
def test_draw_keypoints(kwargs):
    def call(L):
        kw = dict(kwargs)
        if "visibility" in kw:
            kw["visibility"] = L.torch.tensor(kw["visibility"])
        return L.utils.draw_keypoints(_img(L), L.torch.from_numpy(KPTS), **kw)
    _same(call)


def test_flow_to_image():
    flow = RNG.standard_normal((2, 2, 6, 7)).astype(np.float32)
    _same(lambda L: L.utils.flow_to_image(L.torch.from_numpy(flow)), atol=1)
    _same(lambda L: L.utils.flow_to_image(L.torch.from_numpy(flow[0])), atol=1)


@pytest.mark.parametrize("call", [
    lambda L: L.utils.draw_bounding_boxes(_img(L)[None], L.torch.from_numpy(BOXES)),
    lambda L: L.utils.draw_bounding_boxes(_img(L).to(L.torch.int32), L.torch.from_numpy(BOXES)),
    lambda L: L.utils.draw_bounding_boxes(_img(L), L.torch.tensor([[5.0, 5, 1, 1]])),
    lambda L: L.utils.draw_bounding_boxes(_img(L), L.torch.from_numpy(BOXES), labels=["a"]),
    lambda L: L.utils.draw_bounding_boxes(_img(L), L.torch.from_numpy(BOXES), colors=["red"]),
    lambda L: L.utils.draw_bounding_boxes(IMG, L.torch.from_numpy(BOXES)),
    lambda L: L.utils.draw_segmentation_masks(_img(L), L.torch.from_numpy(MASKS).int()),
    lambda L: L.utils.draw_segmentation_masks(_img(L)[:1], L.torch.from_numpy(MASKS)),
    lambda L: L.utils.draw_segmentation_masks(_img(L), L.torch.from_numpy(MASKS[:, :5])),
    lambda L: L.utils.draw_keypoints(_img(L), L.torch.from_numpy(KPTS[0])),
    lambda L: L.utils.flow_to_image(L.torch.zeros(3, 4, 4)),
    lambda L: L.utils.flow_to_image(L.torch.zeros(2, 4, 4, dtype=L.torch.float64)),
])
def test_bad_inputs_raise_like_torchvision(call):
    errors = []
    for L in (TORCH, EMBER):
        with warnings.catch_warnings(), pytest.raises(Exception) as info:
            warnings.simplefilter("ignore")
            call(L)
        errors.append(type(info.value))
    assert errors[0] is errors[1]


@pytest.mark.parametrize("fill", [False, True])
def test_draw_rotated_boxes(fill):
    corners = np.array([[5, 5, 25, 10, 20, 30, 0, 25], [30, 5, 45, 8, 42, 35, 27, 32]],
                       dtype=np.float32)
    _same(lambda L: L.utils.draw_bounding_boxes(_img(L), L.torch.from_numpy(corners),
                                                labels=["p", "q"], fill=fill, width=2,
                                                colors=["red", "blue"]))
