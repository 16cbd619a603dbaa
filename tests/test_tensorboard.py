"""ember.utils.tensorboard against torch.utils.tensorboard: the same calls made on both
writers, the files read back by TensorBoard itself (EventAccumulator, the event-file
loader, the protobuf classes) and compared: tags, steps, values, histogram buckets,
decoded image pixels, text, hparams plugin data, PR curves, embedding files."""
import glob
import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("tensorboard")
from PIL import Image  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader  # noqa: E402
from tensorboard.compat.proto.summary_pb2 import Summary  # noqa: E402
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c  # noqa: E402
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData  # noqa: E402
from tensorboard.util import tensor_util  # noqa: E402
from torch.utils.tensorboard import SummaryWriter as TorchWriter  # noqa: E402
from torch.utils.tensorboard import summary as torch_summary  # noqa: E402

import ember  # noqa: E402
from ember.utils.tensorboard import SummaryWriter  # noqa: E402
from ember.utils.tensorboard import summary as ember_summary  # noqa: E402
from ember.utils.tensorboard._record import crc32c, masked_crc32c as ember_masked  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = {"images": 0, "tensors": 0, "histograms": 0, "scalars": 0, "audio": 0}


def as_ember(x):
    return ember.tensor(x) if isinstance(x, np.ndarray) else x


def as_torch(x):
    return torch.tensor(x) if isinstance(x, np.ndarray) else x


def run_both(tmp_path, calls):
    """Run ``calls(writer, convert)`` on an ember and a torch writer (inputs converted to
    each library's tensors); return the two log directories."""
    dirs = {}
    for name, cls, convert in (("ember", SummaryWriter, as_ember),
                               ("torch", TorchWriter, as_torch)):
        log_dir = str(tmp_path / name)
        with cls(log_dir) as writer:
            calls(writer, convert)
        dirs[name] = log_dir
    return dirs["ember"], dirs["torch"]


def accumulate(log_dir):
    acc = EventAccumulator(log_dir, size_guidance=SIZES)
    acc.Reload()
    return acc


def events_of(log_dir):
    """Every event of the (single) event file in log_dir, in order."""
    files = glob.glob(os.path.join(log_dir, "events.out.tfevents.*"))
    assert len(files) == 1, files
    return list(EventFileLoader(files[0]).Load())


def png_pixels(encoded):
    return np.asarray(Image.open(io.BytesIO(encoded)))


# ----------------------------------------------------------------------------- framing

@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 63, 64, 65, 1000])
def test_masked_crc32c_matches_tensorboard(n):
    data = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    assert ember_masked(data) == masked_crc32c(data)


def test_crc32c_check_value():
    # the standard CRC-32C check value of the ASCII digits 1-9
    assert crc32c(b"123456789") == 0xE3069283


# ----------------------------------------------------------------------------- messages

RNG = np.random.default_rng(0)
VALUES = RNG.standard_normal(200)
LABELS = RNG.integers(0, 2, 60)
PREDICTIONS = RNG.random(60)


def _summary_cases():
    # TensorFlow's default edges, as torch's SummaryWriter builds them in __init__
    v, edges = 1e-12, []
    while v < 1e20:
        edges.append(v)
        v *= 1.1
    tf_bins = [-e for e in reversed(edges)] + [0] + edges
    layout = {"A": {"lines": ["Multiline", ["a", "b"]], "band": ["Margin", ["x", "lo", "hi"]]},
              "B": {"c": ["Multiline", ["c"]]}}
    return {
        "scalar": (lambda m: m.scalar("s", 1.25), {}),
        "scalar zero": (lambda m: m.scalar("s", 0.0), {}),
        "scalar negative zero": (lambda m: m.scalar("s", -0.0), {}),
        "scalar new style": (lambda m: m.scalar("s", 1 / 3, new_style=True), {}),
        "scalar double": (lambda m: m.scalar("s", 1 / 3, new_style=True,
                                             double_precision=True), {}),
        "histogram tensorflow bins": (lambda m: m.histogram("h", VALUES, tf_bins), {}),
        "histogram auto": (lambda m: m.histogram("h", VALUES, "auto"), {}),
        "histogram 10 bins max 3": (lambda m: m.histogram("h", VALUES, 10, max_bins=3), {}),
        "histogram constant": (lambda m: m.histogram("h", np.full(5, 2.0), tf_bins), {}),
        "text": (lambda m: m.text("notes", "héllo **world**\n"), {}),
        "pr curve": (lambda m: m.pr_curve("pr", LABELS, PREDICTIONS, 127), {}),
        "pr curve 200 thresholds weighted": (
            lambda m: m.pr_curve("pr", LABELS, PREDICTIONS, 200, weights=PREDICTIONS), {}),
        "custom scalars": (lambda m: m.custom_scalars(layout), {}),
        "audio": (lambda m: m.audio("a", np.sin(np.arange(64) / 5)[None], 8000), {}),
    }


CASES = _summary_cases()


def test_default_bins_match_torch(tmp_path):
    with TorchWriter(str(tmp_path / "torch")) as tw, SummaryWriter(str(tmp_path / "e")) as w:
        assert w.default_bins == tw.default_bins


@pytest.mark.parametrize("case", list(CASES))
def test_summary_message_matches_torch(case):
    build, _ = CASES[case]
    ember_bytes = build(ember_summary)
    expected = build(torch_summary)
    assert Summary.FromString(ember_bytes) == expected
    # written field by field in the same order, the bytes agree too
    assert ember_bytes == expected.SerializeToString()


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "int8",
                                   "uint8", "int16", "int32", "int64", "bool", "complex64",
                                   "complex128"])
def test_tensor_summary_matches_torch(dtype):
    base = torch.tensor([[1.5, -2.0, 0.0], [3.25, 7.0, -0.5]])
    t = base.to(getattr(torch, dtype))
    e = ember.tensor(base.numpy()).to(getattr(ember, dtype))
    assert Summary.FromString(ember_summary.tensor_proto("x", e)) == \
        torch_summary.tensor_proto("x", t)


def _hparams_payloads(summaries):
    """The three hparams summaries, plugin content parsed (map order is free)."""
    out = []
    for s in summaries:
        s = s if isinstance(s, Summary) else Summary.FromString(s)
        value = s.value[0]
        out.append((value.tag, value.metadata.plugin_data.plugin_name,
                    HParamsPluginData.FromString(value.metadata.plugin_data.content)))
    return out


@pytest.mark.parametrize("hparams,metrics,domains", [
    ({"lr": 0.1, "batch": 32, "opt": "adam", "nesterov": True, "unused": None},
     {"hp/acc": 0.5, "hp/loss": 1}, None),
    ({"lr": 0.1, "opt": "sgd", "n": 3}, {"m": 0},
     {"lr": [0.1, 0.01], "opt": ["sgd", "adam"], "n": []}),
])
def test_hparams_summaries_match_torch(hparams, metrics, domains):
    ours = _hparams_payloads(ember_summary.hparams(hparams, metrics, domains))
    theirs = _hparams_payloads(torch_summary.hparams(hparams, metrics, domains))
    assert ours == theirs


def test_hparams_tensor_value_matches_torch():
    ours = _hparams_payloads(ember_summary.hparams({"w": ember.tensor([0.25])}, {"m": 1}))
    theirs = _hparams_payloads(torch_summary.hparams({"w": torch.tensor([0.25])}, {"m": 1}))
    assert ours == theirs


# ----------------------------------------------------------------------------- event files

def test_scalars_read_back_as_torch(tmp_path):
    values = [0.5, np.float32(1.25), np.array(2.5), np.array([3.0]), np.int64(4),
              np.array(1e-3, dtype=np.float64)]

    def calls(w, convert):
        for step, v in enumerate(values):
            w.add_scalar("loss", convert(v), step, walltime=1000.0 + step)
        w.add_scalar("acc/new", convert(np.array(0.75)), 3, new_style=True)
        w.add_scalar("acc/double", 1 / 3, 4, new_style=True, double_precision=True)
        w.add_scalar("nostep", 7.0)

    ours, theirs = (accumulate(d) for d in run_both(tmp_path, calls))
    assert ours.Tags()["scalars"] == theirs.Tags()["scalars"] == ["loss", "nostep"]
    for tag in ("loss", "nostep"):
        a, b = ours.Scalars(tag), theirs.Scalars(tag)
        assert [(e.step, e.value) for e in a] == [(e.step, e.value) for e in b]
    assert [e.wall_time for e in ours.Scalars("loss")] == [1000.0 + i for i in range(6)]
    assert sorted(ours.Tags()["tensors"]) == sorted(theirs.Tags()["tensors"])
    for tag in ("acc/new", "acc/double"):
        a, b = ours.Tensors(tag)[0], theirs.Tensors(tag)[0]
        assert a.step == b.step and a.tensor_proto == b.tensor_proto
        assert ours.SummaryMetadata(tag) == theirs.SummaryMetadata(tag)


def test_add_scalars_writes_subruns_as_torch(tmp_path):
    def calls(w, convert):
        for step in range(3):
            w.add_scalars("run/14h", {"xsinx": step * 0.5, "tanx": convert(np.array(step))},
                          step)

    ours, theirs = run_both(tmp_path, calls)
    subdirs = sorted(d for d in os.listdir(ours) if os.path.isdir(os.path.join(ours, d)))
    assert subdirs == sorted(d for d in os.listdir(theirs)
                             if os.path.isdir(os.path.join(theirs, d)))
    assert subdirs == ["run_14h_tanx", "run_14h_xsinx"]
    for sub in subdirs:
        a, b = accumulate(os.path.join(ours, sub)), accumulate(os.path.join(theirs, sub))
        assert a.Tags()["scalars"] == b.Tags()["scalars"] == ["run/14h"]
        assert [(e.step, e.value) for e in a.Scalars("run/14h")] == \
            [(e.step, e.value) for e in b.Scalars("run/14h")]


def test_histograms_read_back_as_torch(tmp_path):
    data = RNG.standard_normal((4, 25)).astype(np.float32)

    def calls(w, convert):
        w.add_histogram("weights", convert(data), 0)
        w.add_histogram("weights", convert(data * 10 + 3), 1)
        w.add_histogram("auto", convert(data), 2, bins="auto")
        w.add_histogram("ints", convert(np.arange(50)), 3, bins=7, max_bins=3)
        w.add_histogram_raw("raw", min=0.0, max=3.0, num=6, sum=9.0, sum_squares=19.0,
                            bucket_limits=[1.0, 2.0, 3.0], bucket_counts=[1, 2, 3],
                            global_step=4)

    ours, theirs = (accumulate(d) for d in run_both(tmp_path, calls))
    assert ours.Tags()["histograms"] == theirs.Tags()["histograms"]
    for tag in ("weights", "auto", "ints", "raw"):
        a, b = ours.Histograms(tag), theirs.Histograms(tag)
        assert [e.step for e in a] == [e.step for e in b]
        assert [e.histogram_value for e in a] == [e.histogram_value for e in b]


def test_bfloat16_histogram_as_torch(tmp_path):
    data = np.linspace(-2, 2, 17).astype(np.float32)

    def calls(w, convert):
        t = convert(data)
        w.add_histogram("bf16", t.to(ember.bfloat16 if isinstance(t, ember.Tensor)
                                     else torch.bfloat16), 0)

    ours, theirs = (accumulate(d) for d in run_both(tmp_path, calls))
    assert ours.Histograms("bf16")[0].histogram_value == \
        theirs.Histograms("bf16")[0].histogram_value


IMAGES = {
    "chw float": (RNG.random((3, 6, 5)).astype(np.float32), "CHW", "add_image"),
    "chw one channel": (RNG.random((1, 4, 7)), "CHW", "add_image"),
    "hwc uint8": (RNG.integers(0, 256, (5, 4, 3), dtype=np.uint8), "HWC", "add_image"),
    "hwc rgba": (RNG.random((3, 4, 4)).astype(np.float32), "HWC", "add_image"),
    "hw out of range": (RNG.standard_normal((4, 6)).astype(np.float32) * 2, "HW", "add_image"),
    "nchw batch of 10": (RNG.random((10, 3, 3, 4)).astype(np.float32), "NCHW", "add_images"),
    "nhwc grey batch": (RNG.random((3, 5, 2, 1)), "NHWC", "add_images"),
}


@pytest.mark.parametrize("case", list(IMAGES))
def test_images_read_back_as_torch(tmp_path, case):
    array, formats, method = IMAGES[case]

    def calls(w, convert):
        getattr(w, method)("img", convert(array), 5, dataformats=formats)

    ours, theirs = (accumulate(d) for d in run_both(tmp_path, calls))
    a, b = ours.Images("img")[0], theirs.Images("img")[0]
    assert (a.step, a.width, a.height) == (b.step, b.width, b.height)
    ours_px, theirs_px = png_pixels(a.encoded_image_string), png_pixels(b.encoded_image_string)
    assert ours_px.shape == theirs_px.shape
    np.testing.assert_array_equal(ours_px, theirs_px)
    ev_a = [e for e in events_of(str(tmp_path / "ember")) if e.HasField("summary")][0]
    ev_b = [e for e in events_of(str(tmp_path / "torch")) if e.HasField("summary")][0]
    assert ev_a.summary.value[0].image.colorspace == ev_b.summary.value[0].image.colorspace


def test_text_read_back_as_torch(tmp_path):
    def calls(w, convert):
        w.add_text("lstm", "This is an **lstm**", 0)
        w.add_text("lstm", "ünïcode ✓", 10)

    ours, theirs = (accumulate(d) for d in run_both(tmp_path, calls))
    tag = "lstm/text_summary"
    assert ours.Tags()["tensors"] == theirs.Tags()["tensors"] == [tag]
    a, b = ours.Tensors(tag), theirs.Tensors(tag)
    assert [(e.step, tensor_util.make_ndarray(e.tensor_proto).tolist()) for e in a] == \
        [(e.step, tensor_util.make_ndarray(e.tensor_proto).tolist()) for e in b]
    assert ours.SummaryMetadata(tag) == theirs.SummaryMetadata(tag)
    assert ours.PluginTagToContent("text") == theirs.PluginTagToContent("text")


def test_hparams_runs_read_back_as_torch(tmp_path):
    def calls(w, convert):
        w.add_hparams({"lr": 0.01, "bsize": 8, "opt": "adam"},
                      {"hparam/accuracy": 0.875, "hparam/loss": 0.25}, run_name="trial")

    ours, theirs = run_both(tmp_path, calls)
    a, b = accumulate(os.path.join(ours, "trial")), accumulate(os.path.join(theirs, "trial"))
    content_a, content_b = a.PluginTagToContent("hparams"), b.PluginTagToContent("hparams")
    assert sorted(content_a) == sorted(content_b) == sorted(
        ["_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info"])
    for tag in content_a:
        assert HParamsPluginData.FromString(content_a[tag]) == \
            HParamsPluginData.FromString(content_b[tag])
    for tag in ("hparam/accuracy", "hparam/loss"):
        assert [(e.step, e.value) for e in a.Scalars(tag)] == \
            [(e.step, e.value) for e in b.Scalars(tag)]


@pytest.mark.parametrize("labels,predictions", [
    (LABELS, PREDICTIONS),
    # as in torch's TensorBoard tutorial: boolean labels, float32 probabilities
    (PREDICTIONS > 0.4, PREDICTIONS[::-1].astype(np.float32)),
])
def test_pr_curve_read_back_as_torch(tmp_path, labels, predictions):
    def calls(w, convert):
        w.add_pr_curve("pr", convert(labels), convert(predictions), 1, num_thresholds=11)

    ours, theirs = (accumulate(d) for d in run_both(tmp_path, calls))
    a, b = ours.Tensors("pr")[0], theirs.Tensors("pr")[0]
    np.testing.assert_array_equal(tensor_util.make_ndarray(a.tensor_proto),
                                  tensor_util.make_ndarray(b.tensor_proto))
    assert ours.SummaryMetadata("pr") == theirs.SummaryMetadata("pr")


def test_audio_read_back_as_torch(tmp_path):
    clip = (np.sin(np.arange(400) / 7) * 0.9).astype(np.float32)[None]

    def calls(w, convert):
        w.add_audio("tone", convert(clip), 2, sample_rate=16000)

    ours, theirs = (accumulate(d) for d in run_both(tmp_path, calls))
    a, b = ours.Audio("tone")[0], theirs.Audio("tone")[0]
    fields = ("step", "encoded_audio_string", "content_type", "sample_rate", "length_frames")
    assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]


def test_whole_event_stream_matches_torch(tmp_path):
    """Every event after the file-version one, field for field (wall times aside)."""
    def calls(w, convert):
        w.add_scalar("a", 1.0, 0)
        w.add_histogram("h", convert(VALUES), 1)
        w.add_text("t", "x", 2)
        w.add_custom_scalars_multilinechart(["a"])
        w.add_custom_scalars_marginchart(["a", "b", "c"], category="c", title="m")
        w.add_pr_curve("p", LABELS, PREDICTIONS, 3)
        w.add_tensor("tensor", convert(np.arange(6, dtype=np.int64).reshape(2, 3)), 4)

    ours, theirs = (events_of(d) for d in run_both(tmp_path, calls))
    assert ours[0].file_version == theirs[0].file_version == "brain.Event:2"
    assert len(ours) == len(theirs) == 8
    for a, b in zip(ours[1:], theirs[1:]):
        a.wall_time = b.wall_time = 0
        assert a == b


def test_purge_step_events_match_torch(tmp_path):
    ours = SummaryWriter(str(tmp_path / "ember"), purge_step=7)
    theirs = TorchWriter(str(tmp_path / "torch"), purge_step=7)
    ours.close()
    theirs.close()
    a, b = events_of(str(tmp_path / "ember")), events_of(str(tmp_path / "torch"))
    assert len(a) == len(b) == 3
    for x, y in zip(a[1:], b[1:]):
        x.wall_time = y.wall_time = 0
        assert x == y


def test_embedding_files_match_torch(tmp_path):
    mat = RNG.standard_normal((5, 3)).astype(np.float32)
    imgs = RNG.random((5, 3, 4, 6)).astype(np.float32)
    meta = ["a", "b", "c", "d", "e"]
    table = [[i, str(i * 2)] for i in range(5)]

    def calls(w, convert):
        w.add_embedding(convert(mat), metadata=meta, label_img=convert(imgs), tag="fe/at")
        w.add_embedding(convert(mat * 2), metadata=table, metadata_header=["n", "twice"],
                        global_step=3)

    ours, theirs = run_both(tmp_path, calls)
    with open(os.path.join(ours, "projector_config.pbtxt")) as f_a, \
            open(os.path.join(theirs, "projector_config.pbtxt")) as f_b:
        assert f_a.read() == f_b.read()
    for rel in ("00000/fe%2fat/tensors.tsv", "00000/fe%2fat/metadata.tsv",
                "00003/default/tensors.tsv", "00003/default/metadata.tsv"):
        with open(os.path.join(ours, rel), "rb") as f_a, \
                open(os.path.join(theirs, rel), "rb") as f_b:
            assert f_a.read() == f_b.read(), rel
    with open(os.path.join(ours, "00000/fe%2fat/sprite.png"), "rb") as f_a, \
            open(os.path.join(theirs, "00000/fe%2fat/sprite.png"), "rb") as f_b:
        np.testing.assert_array_equal(png_pixels(f_a.read()), png_pixels(f_b.read()))


# ----------------------------------------------------------------------------- files

def test_file_name_and_default_log_dir(tmp_path, monkeypatch):
    (tmp_path / "e").mkdir()
    (tmp_path / "t").mkdir()
    monkeypatch.chdir(tmp_path / "t")
    with TorchWriter(comment="_lr0.1") as tw:
        torch_dir = tw.get_logdir()
    monkeypatch.chdir(tmp_path / "e")
    with SummaryWriter(comment="_lr0.1", filename_suffix=".v2") as w:
        log_dir = w.get_logdir()
    # runs/<Mon><DD>_<HH>-<MM>-<SS>_<host><comment>
    pattern = r"runs/[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_(.+_lr0\.1)"
    ours, theirs = re.fullmatch(pattern, log_dir), re.fullmatch(pattern, torch_dir)
    assert ours and theirs and ours.group(1) == theirs.group(1)
    (name,) = os.listdir(log_dir)
    assert re.fullmatch(r"events\.out\.tfevents\.\d{10}\..+\.%d\.\d+\.v2" % os.getpid(), name)


def test_flush_makes_records_readable_before_close(tmp_path):
    w = SummaryWriter(str(tmp_path), max_queue=1000, flush_secs=1000)
    w.add_scalar("x", 3.0, 1)
    w.flush()
    acc = accumulate(str(tmp_path))
    assert [(e.step, e.value) for e in acc.Scalars("x")] == [(1, 3.0)]
    w.close()
    w.close()   # a second close does nothing


def test_max_queue_flushes(tmp_path):
    w = SummaryWriter(str(tmp_path), max_queue=2, flush_secs=1000)
    for step in range(4):
        w.add_scalar("x", float(step), step)
    assert [e.step for e in accumulate(str(tmp_path)).Scalars("x")] == [0, 1, 2, 3]
    w.close()


def test_add_after_close_opens_a_new_file(tmp_path):
    w = SummaryWriter(str(tmp_path))
    w.add_scalar("x", 1.0, 0)
    w.close()
    w.add_scalar("x", 2.0, 1)
    w.close()
    assert len(glob.glob(str(tmp_path / "events.out.tfevents.*"))) == 2
    assert [(e.step, e.value) for e in accumulate(str(tmp_path)).Scalars("x")] == \
        [(0, 1.0), (1, 2.0)]


def test_ember_writer_imports_neither_tensorboard_nor_protobuf(tmp_path):
    stdout = _run_python(
        "import sys, ember\n"
        "from ember.utils.tensorboard import SummaryWriter\n"
        f"w = SummaryWriter({str(tmp_path)!r})\n"
        "w.add_scalar('x', 1.0, 0); w.add_image('i', ember.rand(3, 2, 2), 0)\n"
        "w.add_histogram('h', ember.randn(10), 0); w.add_text('t', 'a')\n"
        "w.add_hparams({'a': 1}, {'m': 1}); w.close()\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'tensorboard', 'google', 'PIL')]\n"
        "print(bad)\n")
    assert stdout.strip() == "[]"


def _run_python(program):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", program], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_queued_records_written_at_exit_once_despite_fork(tmp_path):
    """A writer never closed still writes its queue when the process ends; a forked
    child that exits normally does not write the parent's queue a second time."""
    _run_python(
        "import os, sys\n"
        "from ember.utils.tensorboard import SummaryWriter\n"
        f"w = SummaryWriter({str(tmp_path)!r}, max_queue=100)\n"
        "for step in range(3):\n"
        "    w.add_scalar('x', float(step), step)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    sys.exit(0)\n"
        "os.waitpid(pid, 0)\n")
    assert [(e.step, e.value) for e in accumulate(str(tmp_path)).Scalars("x")] == \
        [(0, 0.0), (1, 1.0), (2, 2.0)]


class _FakeCanvas:
    """Stands in for matplotlib's Agg canvas: a figure "renders" to a fixed RGBA array."""

    def __init__(self, figure):
        self.figure = figure
        figure.canvas = self

    def draw(self):
        pass

    def get_width_height(self):
        return self.figure.size[1], self.figure.size[0]

    def buffer_rgba(self):
        h, w = self.figure.size
        return (np.arange(h * w * 4) * self.figure.seed % 251).astype(np.uint8).tobytes()


class _FakeFigure:
    def __init__(self, size, seed):
        self.size, self.seed, self.canvas = size, seed, None


def _install_fake_matplotlib(monkeypatch, closed):
    import types
    mpl = types.ModuleType("matplotlib")
    pyplot = types.ModuleType("matplotlib.pyplot")
    pyplot.close = closed.append
    backends = types.ModuleType("matplotlib.backends")
    agg = types.ModuleType("matplotlib.backends.backend_agg")
    agg.FigureCanvasAgg = _FakeCanvas
    mpl.pyplot, mpl.backends, backends.backend_agg = pyplot, backends, agg
    for module in (mpl, pyplot, backends, agg):
        monkeypatch.setitem(sys.modules, module.__name__, module)


def test_add_figure_renders_as_torch(tmp_path, monkeypatch):
    """add_figure's conversion (RGBA canvas to RGB, CHW, a list as a batch, closing)
    checked on a stand-in for matplotlib, since matplotlib is not a test dependency."""
    closed = {"ember": [], "torch": []}
    results = {}
    for name, cls in (("ember", SummaryWriter), ("torch", TorchWriter)):
        _install_fake_matplotlib(monkeypatch, closed[name])
        with cls(str(tmp_path / name)) as w:
            w.add_figure("one", _FakeFigure((6, 5), 3), 0)
            w.add_figure("many", [_FakeFigure((4, 4), 5), _FakeFigure((4, 4), 7)], 1,
                         close=False)
        results[name] = accumulate(str(tmp_path / name))
    assert len(closed["ember"]) == len(closed["torch"]) == 1
    for tag in ("one", "many"):
        a, b = results["ember"].Images(tag)[0], results["torch"].Images(tag)[0]
        assert (a.step, a.width, a.height) == (b.step, b.width, b.height)
        np.testing.assert_array_equal(png_pixels(a.encoded_image_string),
                                      png_pixels(b.encoded_image_string))


# ----------------------------------------------------------------------------- errors

ERRORS = {
    "scalar of many elements": lambda w, c: w.add_scalar("x", c(np.ones(3)), 0),
    "scalar from a list": lambda w, c: w.add_scalar("x", [1.0], 0),
    "hparams not a dict": lambda w, c: w.add_hparams([("a", 1)], {"m": 1}),
    "hparams bad value": lambda w, c: w.add_hparams({"a": [1]}, {"m": 1}),
    "hparams bad domain": lambda w, c: w.add_hparams({"a": 1.0}, {"m": 1},
                                                     hparam_domain_discrete={"a": ["x"]}),
    "image formats mismatch": lambda w, c: w.add_image("i", c(np.ones((3, 2, 2))), 0,
                                                       dataformats="HW"),
    "image repeated format letter": lambda w, c: w.add_image("i", c(np.ones((3, 2, 2))), 0,
                                                             dataformats="CHH"),
    "empty histogram": lambda w, c: w.add_histogram("h", c(np.zeros(0)), 0),
    "raw histogram lengths": lambda w, c: w.add_histogram_raw(
        "h", 0, 1, 1, 1, 1, [1.0, 2.0], [1], 0),
    "margin chart of two tags": lambda w, c: w.add_custom_scalars_marginchart(["a", "b"]),
    "embedding metadata count": lambda w, c: w.add_embedding(c(np.ones((3, 2))),
                                                             metadata=["a"]),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_match_torch(tmp_path, case):
    call = ERRORS[case]
    with TorchWriter(str(tmp_path / "torch")) as tw, pytest.raises(Exception) as theirs:
        call(tw, as_torch)
    with SummaryWriter(str(tmp_path / "ember")) as w, pytest.raises(theirs.type):
        call(w, as_ember)


def test_add_figure_without_matplotlib_raises_import_error(tmp_path, monkeypatch):
    # None in sys.modules makes `import matplotlib` fail, installed or not
    for name in ("matplotlib", "matplotlib.pyplot", "matplotlib.backends",
                 "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    with TorchWriter(str(tmp_path / "torch")) as tw, pytest.raises(ImportError):
        tw.add_figure("f", object())
    with SummaryWriter(str(tmp_path / "ember")) as w, \
            pytest.raises(ImportError, match="matplotlib"):
        w.add_figure("f", object())
