"""SummaryWriter.add_image_with_boxes, add_mesh and add_video against
torch.utils.tensorboard's: the same calls on both writers, the event files read back by
TensorBoard (the raw records, not the loader's image-to-tensor migration) and compared:
tags, steps, image sizes and decoded pixels (boxes, labels, rescaling), mesh tensors,
shapes and plugin data. add_video's GIF frames are compared with the frames PyTorch's
writer hands to moviepy (its own tiling and scaling functions): moviepy, which torch's
encoder needs, is not installed here (torch then logs an image-less value)."""
import glob
import io
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("tensorboard")
from PIL import Image  # noqa: E402
from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader  # noqa: E402
from tensorboard.compat.proto.event_pb2 import Event  # noqa: E402
from tensorboard.plugins.mesh.plugin_data_pb2 import MeshPluginData  # noqa: E402
from tensorboard.util import tensor_util  # noqa: E402
from torch.utils.tensorboard import SummaryWriter as TorchWriter  # noqa: E402

import ember  # noqa: E402
from ember.utils.tensorboard import SummaryWriter  # noqa: E402

RNG = np.random.default_rng(7)


def run_both(tmp_path, calls):
    """The summary values each writer logs for ``calls(writer, convert)``."""
    out = {}
    for name, cls, lib in (("ember", SummaryWriter, ember), ("torch", TorchWriter, torch)):
        log_dir = str(tmp_path / name)
        with cls(log_dir) as writer:
            calls(writer, lambda a, lib=lib: lib.tensor(a) if isinstance(a, np.ndarray) else a)
        files = glob.glob(os.path.join(log_dir, "events.out.tfevents.*"))
        assert len(files) == 1
        out[name] = [(e.step, v) for e in events(files[0])
                     if e.HasField("summary") for v in e.summary.value]
    return out["ember"], out["torch"]


def events(path):
    return [Event.FromString(r) for r in RawEventFileLoader(path).Load()]


def pixels(value):
    return np.asarray(Image.open(io.BytesIO(value.image.encoded_image_string)))


BOXES = {
    "one box": dict(img=RNG.random((3, 40, 50)).astype(np.float32),
                    boxes=np.array([[5, 6, 30, 25]], np.float32)),
    "labels": dict(img=RNG.random((3, 48, 64)).astype(np.float32),
                   boxes=np.array([[2.5, 3, 40, 30], [10, 20, 60, 45]], np.float32),
                   labels=["cat", "dog"]),
    "one label string, boxes past the edge": dict(
        img=RNG.random((3, 30, 30)).astype(np.float32),
        boxes=np.array([[-5, 4, 40, 20]], np.float32), labels="person"),
    "label count differs: none drawn": dict(img=RNG.random((3, 30, 30)).astype(np.float32),
                                            boxes=np.array([[1, 1, 20, 20]], np.float32),
                                            labels=["a", "b"]),
    "hwc uint8, rescaled": dict(img=RNG.integers(0, 256, (32, 24, 3), dtype=np.uint8),
                                boxes=np.array([[3, 3, 20, 28]], np.float32),
                                labels=["x"], rescale=1.5, dataformats="HWC"),
    "grey chw, no boxes": dict(img=RNG.random((1, 20, 20)).astype(np.float32),
                               boxes=np.zeros((0, 4), np.float32)),
}


@pytest.mark.parametrize("case", list(BOXES))
def test_add_image_with_boxes_matches_torch(tmp_path, case):
    kw = dict(BOXES[case])
    img, boxes = kw.pop("img"), kw.pop("boxes")

    def calls(w, convert):
        w.add_image_with_boxes("det", convert(img), convert(boxes), 3, **kw)

    ours, theirs = run_both(tmp_path, calls)
    assert len(ours) == len(theirs) == 1
    (sa, a), (sb, b) = ours[0], theirs[0]
    assert (sa, a.tag, a.image.height, a.image.width, a.image.colorspace) == \
        (sb, b.tag, b.image.height, b.image.width, b.image.colorspace)
    np.testing.assert_array_equal(pixels(a), pixels(b))


def test_add_image_with_boxes_draws_something(tmp_path):
    # the comparison above is not vacuous: a box changes the pixels it crosses
    img = np.zeros((3, 20, 20), np.float32)
    with SummaryWriter(str(tmp_path)) as w:
        w.add_image_with_boxes("b", img, np.array([[2, 2, 15, 15]], np.float32))
    files = glob.glob(os.path.join(str(tmp_path), "events.out.tfevents.*"))
    value = [v for e in events(files[0]) if e.HasField("summary")
             for v in e.summary.value][0]
    px = pixels(value)
    assert (px[2, 2:16] == [255, 0, 0]).all() and (px[8, 8] == 0).all()


MESHES = {
    "vertices only": dict(vertices=RNG.standard_normal((1, 5, 3)).astype(np.float32)),
    "full, with config": dict(
        vertices=RNG.standard_normal((2, 4, 3)).astype(np.float32),
        colors=RNG.integers(0, 256, (2, 4, 3)).astype(np.uint8),
        faces=np.array([[[0, 1, 2], [1, 2, 3]]] * 2, np.int32),
        config_dict={"material": {"cls": "PointsMaterial", "size": 0.2},
                     "camera": {"cls": "PerspectiveCamera", "fov": 75}}),
    "float64 vertices and colors": dict(vertices=RNG.standard_normal((1, 3, 3)),
                                        colors=RNG.random((1, 3, 3)) * 255),
}


@pytest.mark.parametrize("case", list(MESHES))
def test_add_mesh_matches_torch(tmp_path, case):
    kw = MESHES[case]

    def calls(w, convert):
        w.add_mesh("m", **{k: convert(v) for k, v in kw.items()}, global_step=4)

    ours, theirs = run_both(tmp_path, calls)
    assert [(s, v.tag) for s, v in ours] == [(s, v.tag) for s, v in theirs]
    for (_, a), (_, b) in zip(ours, theirs):
        assert a.metadata.plugin_data.plugin_name == b.metadata.plugin_data.plugin_name == "mesh"
        pa = MeshPluginData.FromString(a.metadata.plugin_data.content)
        pb_ = MeshPluginData.FromString(b.metadata.plugin_data.content)
        assert pa == pb_
        assert a.metadata == b.metadata
        ta, tb = tensor_util.make_ndarray(a.tensor), tensor_util.make_ndarray(b.tensor)
        assert ta.dtype == tb.dtype and ta.shape == tb.shape
        np.testing.assert_array_equal(ta, tb)
        assert a == b


def test_add_mesh_rejects_a_shape_that_is_not_bxnx3(tmp_path):
    with TorchWriter(str(tmp_path / "t")) as tw, pytest.raises(ValueError) as theirs:
        tw.add_mesh("m", torch.zeros(4, 3))
    with SummaryWriter(str(tmp_path / "e")) as w, pytest.raises(ValueError) as ours:
        w.add_mesh("m", ember.zeros(4, 3))
    assert str(ours.value) == str(theirs.value).replace("torch.", "ember.")


VIDEOS = {
    "one float clip": (np.array([0, .25, .5, 1], np.float32)[RNG.integers(0, 4, (1, 3, 3, 6, 5))],
                       4),
    "three uint8 clips (padded to a 2x2 grid)":
        (np.array([0, 51, 128, 255], np.uint8)[RNG.integers(0, 4, (3, 4, 3, 5, 4))], 10),
    "eight grey clips": (np.array([0., .5, 1.])[RNG.integers(0, 3, (8, 2, 1, 3, 3))], 2),
}


@pytest.mark.parametrize("case", list(VIDEOS))
def test_add_video_frames_match_torchs(tmp_path, case):
    from PIL import ImageSequence
    from torch.utils.tensorboard._utils import _prepare_video
    from torch.utils.tensorboard.summary import _calc_scale_factor
    video, fps = VIDEOS[case]
    # each clip's frames differ from the one before (Pillow merges identical frames)
    video = video.copy()
    video[:, :, :, 0, 0] = np.arange(video.shape[1])[None, :, None] / 10 \
        if video.dtype != np.uint8 else np.arange(video.shape[1])[None, :, None] * 20
    expected = _prepare_video(torch.tensor(video).numpy())
    expected = (expected.astype(np.float32) * _calc_scale_factor(expected)).clip(0, 255) \
        .astype(np.uint8)
    with SummaryWriter(str(tmp_path)) as w:
        w.add_video("clip", ember.tensor(video), 7, fps=fps)
    files = glob.glob(os.path.join(str(tmp_path), "events.out.tfevents.*"))
    (step, value), = [(e.step, v) for e in events(files[0]) if e.HasField("summary")
                      for v in e.summary.value]
    t, h, w_, c = expected.shape
    assert (step, value.tag) == (7, "clip")
    assert (value.image.height, value.image.width, value.image.colorspace) == (h, w_, c)
    gif = Image.open(io.BytesIO(value.image.encoded_image_string))
    frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(gif)]
    assert len(frames) == t
    for got, want in zip(frames, expected):
        want = np.repeat(want, 3, axis=2) if c == 1 else want
        np.testing.assert_array_equal(got, want)
    assert gif.info["duration"] == round(1000 / fps) and gif.info["loop"] == 0
