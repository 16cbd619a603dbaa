"""Records read straight into their arrays (ember.load without the zipfile reader):
every dtype, every source (path, file object, mmap), ember's and torch's format, files
written by torch itself, and a record cut short."""
import io
import struct
import zipfile

import numpy as np
import pytest
import torch

import ember

DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int8", "uint8", "bool",
          "complex64"]


def _tensors(lib):
    rng = np.random.default_rng(0)
    base = rng.standard_normal((3, 5)) * 10
    out = {}
    for name in DTYPES:
        dt = getattr(lib, name)
        t = lib.from_numpy(base.copy())
        out[name] = t.to(dt) if name != "bool" else t > 0
    out["view"] = out["float32"][1:, ::2]   # a strided view of a shared storage
    out["empty"] = lib.zeros(0, 4)
    return out


def _check(loaded):
    want = _tensors(torch)
    assert set(loaded) == set(want)
    for k, t in want.items():
        got = loaded[k]
        assert tuple(got.shape) == tuple(t.shape), k
        assert str(got.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], k
        np.testing.assert_array_equal(got.float().numpy() if k != "complex64" else got.numpy(),
                                      t.float().numpy() if k != "complex64" else t.numpy())


@pytest.mark.parametrize("fmt", ["ember", "torch"])
@pytest.mark.parametrize("source", ["path", "fileobj", "mmap"])
def test_round_trip(tmp_path, fmt, source):
    p = tmp_path / "ckpt.pt"
    ember.save(_tensors(ember), p, **({} if fmt == "ember" else {"format": "torch"}))
    if source == "path":
        _check(ember.load(p))
    elif source == "fileobj":
        with open(p, "rb") as fh:
            _check(ember.load(fh))
    else:
        loaded = ember.load(p, mmap=True)
        _check(loaded)
        loaded["float32"].add_(1)   # copy-on-write: the file is left alone
        _check(ember.load(p))


def test_files_written_by_torch(tmp_path):
    p = tmp_path / "t.pt"
    torch.save(_tensors(torch), p)
    _check(ember.load(p))
    buf = io.BytesIO()
    torch.save(_tensors(torch), buf)
    buf.seek(0)
    _check(ember.load(buf))


def test_truncated_record_raises(tmp_path):
    """A central directory that promises more bytes than the file holds."""
    p = tmp_path / "t.pt"
    ember.save({"w": ember.ones(1000)}, p)
    raw = bytearray(p.read_bytes())
    with zipfile.ZipFile(p) as z:
        info = next(i for i in z.infolist() if i.filename.endswith("data/0"))
    # cut the record's bytes out, keep the directory (with its offsets shifted back)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    cut = 3000
    del raw[start + 1000:start + 1000 + cut]
    cd = raw.rfind(b"PK\x05\x06")
    cd_offset = struct.unpack("<I", raw[cd + 16:cd + 20])[0] - cut
    raw[cd + 16:cd + 20] = struct.pack("<I", cd_offset)
    i = cd_offset
    while raw[i:i + 4] == b"PK\x01\x02":   # shift local-header offsets of later entries
        off = struct.unpack("<I", raw[i + 42:i + 46])[0]
        if off > start:
            raw[i + 42:i + 46] = struct.pack("<I", off - cut)
        n, m, k = struct.unpack("<HHH", raw[i + 28:i + 34])
        i += 46 + n + m + k
    bad = tmp_path / "bad.pt"
    bad.write_bytes(bytes(raw))
    with pytest.raises(RuntimeError, match="bad.pt"):
        ember.load(bad)
