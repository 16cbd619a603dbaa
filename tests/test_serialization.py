"""ember.save / ember.load: round trips, PyTorch files both ways, safetensors, safety."""
import io
import os
import pickle
import zipfile
from collections import OrderedDict

import ml_dtypes
import numpy as np
import pytest
import torch

import ember
from tests.test_serialization_legacy import FORGED_PICKLES

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
          "float64", "complex64", "complex128"]


def _arr(name, shape, seed=0):
    rng = np.random.default_rng(seed)
    a = np.asarray(rng.standard_normal(shape) * 10)
    if name == "bool":
        return np.asarray(a > 0)
    if name.startswith("complex"):
        return np.asarray(a + 0.5j * a).astype(name)
    if name == "bfloat16":
        return np.asarray(a).astype(ml_dtypes.bfloat16)
    return np.asarray(a).astype(name)


def _same(a, b):
    assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape)
    np.testing.assert_array_equal(a.detach()._cpu_array(), b.detach()._cpu_array())


@pytest.mark.parametrize("fmt", ["ember", "torch"])
@pytest.mark.parametrize("dt", DTYPES)
def test_round_trip_every_dtype(tmp_path, fmt, dt):
    shapes = [(), (0,), (3, 0), (4, 5)]
    obj = {str(s): ember.from_numpy(_arr(dt, s)) for s in shapes}
    obj["nc"] = ember.from_numpy(_arr(dt, (4, 6))).t()[1:, ::2]
    p = tmp_path / "t.pt"
    ember.save(obj, p, format=fmt)
    back = ember.load(p)
    for k in obj:
        _same(obj[k], back[k])


@pytest.mark.parametrize("fmt", ["ember", "torch"])
def test_views_stay_shared_and_metadata(tmp_path, fmt):
    base = ember.arange(12.0)
    lin = ember.nn.Linear(3, 2)
    obj = OrderedDict(base=base, view=base[2:8].view(2, 3), t=base.view(3, 4).t(),
                      param=ember.nn.Parameter(ember.ones(2)), frozen=ember.nn.Parameter(
                          ember.ones(2), requires_grad=False),
                      rg=ember.ones(3, requires_grad=True), sd=lin.state_dict(),
                      nested=[1, (2.5, "x", None, True), {"k": [ember.zeros(1)]}])
    if fmt == "ember":
        obj["extras"] = (ember.float16, ember.device("cpu"), ember.Size([2, 3]), b"\x00\x01",
                         float("inf"), {3: "int key"})
    p = tmp_path / "v.pt"
    ember.save(obj, p, format=fmt)
    back = ember.load(p)
    back["base"][3] = 100.0
    assert back["view"][0, 1].item() == 100.0 and back["t"][3, 0].item() == 100.0
    assert isinstance(back["param"], ember.nn.Parameter) and back["param"].requires_grad
    assert isinstance(back["frozen"], ember.nn.Parameter) and not back["frozen"].requires_grad
    assert back["rg"].requires_grad and not isinstance(back["rg"], ember.nn.Parameter)
    assert list(back["sd"]) == ["weight", "bias"]
    assert back["nested"][1] == (2.5, "x", None, True)
    if fmt == "ember":
        assert back["extras"][:3] == (ember.float16, ember.device("cpu"), ember.Size([2, 3]))
        assert back["extras"][3:] == (b"\x00\x01", float("inf"), {3: "int key"})


def test_torch_files_load_in_ember(tmp_path):
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    opt = torch.optim.Adam(tm.parameters(), lr=0.01)
    tm(torch.randn(5, 4)).sum().backward()
    opt.step()
    base = torch.arange(10.0)
    ckpt = {"model": tm.state_dict(), "optim": opt.state_dict(), "epoch": 7,
            "view": base[3:7], "base": base, "bf16": torch.randn(3).to(torch.bfloat16)}
    p = tmp_path / "torch.pth"
    torch.save(ckpt, p)
    back = ember.load(p)
    assert back["epoch"] == 7
    for k, v in ckpt["model"].items():
        np.testing.assert_array_equal(back["model"][k].numpy(), v.numpy())
    st = back["optim"]["state"][0]
    np.testing.assert_array_equal(st["exp_avg"].numpy(), ckpt["optim"]["state"][0]["exp_avg"])
    assert back["optim"]["param_groups"][0]["lr"] == 0.01
    back["base"][4] = -1.0
    assert back["view"][1].item() == -1.0
    np.testing.assert_array_equal(back["bf16"].float().numpy(), ckpt["bf16"].float().numpy())
    em = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 3))
    em.load_state_dict(back["model"])
    x = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    np.testing.assert_allclose(em(ember.from_numpy(x)).detach().numpy(),
                               tm(torch.from_numpy(x)).detach().numpy(), rtol=1e-6, atol=1e-6)


def test_ember_torch_format_loads_in_torch(tmp_path):
    em = ember.nn.Linear(3, 2)
    opt = ember.optim.SGD(em.parameters(), lr=0.1, momentum=0.9)
    em(ember.randn(4, 3)).sum().backward()
    opt.step()
    p = tmp_path / "to_torch.pt"
    ember.save({"model": em.state_dict(), "opt": opt.state_dict(), "step": 3}, p, format="torch")
    back = torch.load(p, weights_only=True)
    for k, v in em.state_dict().items():
        np.testing.assert_array_equal(back["model"][k].numpy(), v.numpy())
    tm = torch.nn.Linear(3, 2)
    tm.load_state_dict(back["model"])
    topt = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9)
    topt.load_state_dict(back["opt"])
    assert back["step"] == 3


def test_safetensors_both_ways(tmp_path):
    from safetensors.numpy import save_file, load_file
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, 2], np.int64),
              "c": np.ones(3, dtype=ml_dtypes.bfloat16)}
    p = tmp_path / "w.safetensors"
    save_file(arrays, str(p), metadata={"format": "np"})
    back = ember.load(p)
    for k, v in arrays.items():
        np.testing.assert_array_equal(back[k].numpy().astype(np.float64), v.astype(np.float64))
    assert ember.serialization.safetensors_metadata(p) == {"format": "np"}
    q = tmp_path / "mine.safetensors"
    ember.save({k: ember.from_numpy(v) for k, v in arrays.items()}, q, metadata={"by": "ember"})
    again = load_file(str(q))
    for k, v in arrays.items():
        np.testing.assert_array_equal(again[k].astype(np.float64), v.astype(np.float64))


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_malicious_pickle_refused(tmp_path):
    marker = tmp_path / "pwned"
    p = tmp_path / "evil.pt"
    torch.save({"x": torch.ones(1), "evil": _Evil(marker)}, p)
    with pytest.raises(pickle.UnpicklingError, match=r"(posix|os)\.system"):
        ember.load(p)
    with pytest.raises(pickle.UnpicklingError):
        ember.load(p, weights_only=False)
    assert not marker.exists()


@pytest.mark.parametrize("object_pickle, match", FORGED_PICKLES)
def test_forged_zip_pickle_refused_before_allocating(tmp_path, object_pickle, match):
    """A torch zip checkpoint whose data.pkl names sizes no pickler writes: refused with
    RuntimeError before the unpickler allocates for them."""
    src = tmp_path / "ok.pt"
    torch.save({"w": torch.ones(2)}, src)
    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bomb, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, object_pickle if item.filename.endswith("/data.pkl") else data)
    with pytest.raises(RuntimeError, match=f"bomb.pt.*{match}"):
        ember.load(bomb)


def test_corrupted_and_truncated_files(tmp_path):
    p = tmp_path / "ok.pt"
    ember.save({"w": ember.ones(100)}, p)
    raw = p.read_bytes()
    (tmp_path / "trunc.pt").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(RuntimeError, match="trunc.pt"):
        ember.load(tmp_path / "trunc.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(RuntimeError, match="junk.pt"):
        ember.load(tmp_path / "junk.pt")
    with pytest.raises(FileNotFoundError):
        ember.load(tmp_path / "missing.pt")


def test_interrupted_save_keeps_previous(tmp_path):
    p = tmp_path / "ckpt.pt"
    ember.save({"epoch": 1, "w": ember.ones(3)}, p)

    with pytest.raises(TypeError):
        ember.save({"epoch": 2, "bad": (x for x in [])}, p)   # unpicklable, as in torch
    orig = ember.serialization._save_ember

    def crash(obj, fh):
        fh.write(b"partial")
        raise KeyboardInterrupt
    ember.serialization._save_ember = crash
    try:
        with pytest.raises(KeyboardInterrupt):
            ember.save({"epoch": 3}, p)
    finally:
        ember.serialization._save_ember = orig
    assert ember.load(p)["epoch"] == 1
    assert [f for f in os.listdir(tmp_path) if f.endswith(".tmp")] == []


def test_mmap_and_map_location_and_file_objects(tmp_path):
    p = tmp_path / "m.pt"
    w = ember.randn(64, 64)
    ember.save({"w": w}, p)
    back = ember.load(p, mmap=True)
    np.testing.assert_array_equal(back["w"].numpy(), w.numpy())
    back["w"][0, 0] = 5.0  # copy-on-write: the file is unchanged
    assert ember.load(p)["w"][0, 0].item() == w[0, 0].item()
    assert ember.load(p, map_location="cpu")["w"].device.type == "cpu"
    assert ember.load(p, map_location=lambda s, loc: s)["w"].shape == (64, 64)
    buf = io.BytesIO()
    ember.save([w], buf)
    buf.seek(0)
    np.testing.assert_array_equal(ember.load(buf)[0].numpy(), w.numpy())


def test_seed_state_dict_flow(tmp_path):
    model = ember.nn.Linear(1, 1)
    p = tmp_path / "model.pth"
    ember.save(model.state_dict(), p)
    other = ember.nn.Linear(1, 1)
    other.load_state_dict(ember.load(p))
    np.testing.assert_array_equal(other.weight.detach().numpy(), model.weight.detach().numpy())


# ------------------------------------------------------------------ the zip writer

def _records(rng):
    return [("a/meta.json", b'{"x": 1}'), ("a/empty", b""),
            ("a/big", rng.standard_normal(300_000).astype(np.float32).view(np.uint8)),
            ("a/small", np.arange(7, dtype=np.int64).view(np.uint8)),
            ("a/big2", rng.standard_normal(400_000).astype(np.float32).view(np.uint8))]


@pytest.mark.parametrize("limits", ["plain", "zip64"])
def test_zip_writer_is_a_valid_archive(monkeypatch, limits):
    import zipfile
    from ember import _zipwrite
    if limits == "zip64":   # sizes, offsets and counts above tiny limits take the zip64 records
        monkeypatch.setattr(_zipwrite, "_LIMIT", 100)
        monkeypatch.setattr(_zipwrite, "_COUNT_LIMIT", 3)
    recs = _records(np.random.default_rng(0))
    buf = io.BytesIO()
    _zipwrite.write_stored_zip(buf, recs)
    z = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    assert z.testzip() is None                       # every CRC-32 checks
    assert z.namelist() == [n for n, _ in recs]
    for (name, data), info in zip(recs, z.infolist()):
        assert z.read(name) == bytes(data)
        header = buf.getvalue()[info.header_offset:info.header_offset + 30]
        name_len, extra_len = (int(v) for v in np.frombuffer(header[26:30], np.uint16))
        assert (info.header_offset + 30 + name_len + extra_len) % 64 == 0   # aligned data


def test_checkpoint_through_zip64_records_and_torch_mmap(monkeypatch, tmp_path):
    from ember import _zipwrite
    sd = {"w": ember.randn(300, 200), "b": ember.arange(10.0), "i": ember.arange(5)}
    monkeypatch.setattr(_zipwrite, "_LIMIT", 1000)
    p = tmp_path / "m.pt"
    ember.save(sd, p)
    back = ember.load(p)
    assert all(ember.equal(sd[k], back[k]) for k in sd)
    ember.save(sd, p, format="torch")
    got = torch.load(p, mmap=True)                   # torch maps aligned records in place
    assert all(np.array_equal(sd[k].numpy(), got[k].numpy()) for k in sd)


@pytest.mark.parametrize("fmt", ["ember", "torch", "safetensors"])
def test_writeback_overlap_writes_every_byte(tmp_path, monkeypatch, fmt):
    """Saving through the writeback-kicking file: the kicks cover the file front to back,
    in order, without gaps, and the file loads back equal (in ember and, for the torch
    format, in torch)."""
    from ember import _atomicfile
    if _atomicfile._writeback_fn() is None:
        pytest.skip("no sync_file_range on this platform: writes are plain there")
    kicks = []
    real = _atomicfile._writeback_fn()

    def kick(fd, start, length, flags):
        kicks.append((start, length))
        return real(fd, start, length, flags)
    monkeypatch.setattr(_atomicfile, "_sync_file_range", [kick])
    monkeypatch.setattr(_atomicfile, "_KICK_BYTES", 1000)
    sd = {f"w{i}": ember.randn(37, 29 + i) for i in range(6)}
    p = tmp_path / ("c.safetensors" if fmt == "safetensors" else "c.pt")
    ember.save(sd, p, format=fmt)
    assert len(kicks) >= 6
    assert kicks[0][0] == 0
    assert all(a + n == b for (a, n), (b, _) in zip(kicks, kicks[1:]))
    assert kicks[-1][0] + kicks[-1][1] <= os.path.getsize(p)
    back = ember.load(p)
    for k, v in sd.items():
        _same(v, back[k])
    if fmt == "torch":
        tb = torch.load(p, weights_only=True)
        np.testing.assert_array_equal(tb["w3"].numpy(), sd["w3"].numpy())


@pytest.mark.parametrize("links", [True, False])
def test_overwrite_frees_the_old_file_and_leaves_nothing(tmp_path, monkeypatch, links):
    """Overwriting a big checkpoint: the old file's hidden second name is removed (off the
    saving thread, with any such name a killed process left), or, where hard links fail, the
    plain rename frees it; files that are not the checkpoint's old names stay."""
    import threading
    from ember import _atomicfile
    monkeypatch.setattr(_atomicfile, "_DEFER_UNLINK_BYTES", 100)
    if not links:
        def no_link(src, dst):
            raise PermissionError(1, "Operation not permitted")
        monkeypatch.setattr(_atomicfile.os, "link", no_link)
    p = tmp_path / "ckpt.pt"
    # a hidden old name a killed process left behind, and two files that are not ours
    (tmp_path / ".ckpt.pt.0123456789ab.old").write_bytes(b"old")
    (tmp_path / ".ckpt.pt.notours.old").write_bytes(b"keep")
    (tmp_path / ".other.pt.0123456789ab.old").write_bytes(b"keep")
    for epoch in range(3):
        ember.save({"epoch": epoch, "w": ember.full((50, 50), float(epoch))}, p)
    for t in threading.enumerate():
        if t.name == "ember-unlink":
            t.join()
    left = {".ckpt.pt.notours.old", ".other.pt.0123456789ab.old", "ckpt.pt"}
    if not links:      # no deferred unlink ran, so nothing swept the leftover
        left.add(".ckpt.pt.0123456789ab.old")
    assert set(os.listdir(tmp_path)) == left
    back = ember.load(p)
    assert back["epoch"] == 2 and float(back["w"][3, 4]) == 2.0


def test_pickled_tensors_keep_their_device(device):
    """pickle brings a tensor, a Parameter and a module's parameters
    back on the device they were on, as PyTorch's pickles do (CUDA ones came back on the
    CPU)."""
    t = ember.arange(3.0, device=device).requires_grad_()
    p = ember.nn.Parameter(ember.ones(2, device=device))
    m = ember.nn.Linear(2, 3).to(device)
    t2, p2, m2 = pickle.loads(pickle.dumps((t, p, m)))
    assert str(t2.device) == str(t.device) and t2.requires_grad and t2.tolist() == [0., 1., 2.]
    assert type(p2) is ember.nn.Parameter and str(p2.device) == str(p.device)
    assert {str(q.device) for q in m2.parameters()} == {str(m.weight.device)}
    assert m2(ember.ones(1, 2, device=device)).shape == (1, 3)


class EmberTagged(ember.Tensor):
    """A Tensor subclass with an attribute of its own (pickled by reference)."""


class TorchTagged(torch.Tensor):
    pass


def _tagged(lib, cls):
    t = lib.arange(4.0).as_subclass(cls)
    t.tag = "hi"
    return t


@pytest.mark.parametrize("fmt", ["ember", "torch"])
def test_tensor_subclass_saved_keeps_class_and_attributes(tmp_path, fmt):
    """save() keeps a Tensor subclass and its attributes for load(weights_only=False); the
    weights-only reader refuses the class, as torch's does."""
    results = {}
    for lib, cls in ((ember, EmberTagged), (torch, TorchTagged)):
        path = tmp_path / f"{lib.__name__}.pt"
        kwargs = {"format": fmt} if lib is ember else {}
        lib.save({"t": _tagged(lib, cls), "x": lib.ones(2)}, path, **kwargs)
        out = lib.load(path, weights_only=False)
        results[lib.__name__] = (type(out["t"]) is cls, out["t"].tag, out["t"].tolist(),
                                 type(out["x"]).__name__, out["x"].tolist())
        with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
            lib.load(path)
    assert results["ember"] == results["torch"]


def test_tensor_subclass_pickles_as_itself():
    for lib, cls in ((ember, EmberTagged), (torch, TorchTagged)):
        back = pickle.loads(pickle.dumps(_tagged(lib, cls)))
        assert type(back) is cls and back.tag == "hi" and back.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_tv_tensor_boxes_saved_and_loaded():
    """torchvision's BoundingBoxes through save/load keep format and canvas size (they were
    plain tensors)."""
    from ember.vision import tv_tensors
    boxes = tv_tensors.BoundingBoxes([[1.0, 2, 3, 4]], format="XYXY", canvas_size=(10, 12))
    buf = io.BytesIO()
    ember.save([boxes], buf)
    buf.seek(0)
    (back,) = ember.load(buf, weights_only=False)
    assert type(back) is tv_tensors.BoundingBoxes
    assert (back.format.name, back.canvas_size, back.tolist()) == ("XYXY", (10, 12),
                                                                   [[1.0, 2, 3, 4]])
