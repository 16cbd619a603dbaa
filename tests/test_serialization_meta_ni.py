"""Saving and loading meta tensors (shape, strides, dtype, no data) as PyTorch does:
ember's format, format='torch' (read by real torch.load), torch's own files read by
ember.load, whole modules built on the meta device, and pickling a meta Parameter. Each
case is compared with what torch.save/torch.load give for the same objects."""
import io
import pickle

import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402


def objects(lib):
    """A state of meta tensors: a plain one, a strided view, a Parameter, a tensor that
    requires grad, an integer and a half one, a 0-dim and an empty one."""
    base = lib.empty(4, 5, device="meta")
    return {
        "w": lib.empty(2, 3, device="meta"),
        "view": base[:, 1:4],
        "t": base.t(),
        "p": lib.nn.Parameter(lib.empty(3, 2, device="meta")),
        "frozen": lib.nn.Parameter(lib.empty(2, device="meta"), requires_grad=False),
        "g": lib.empty(3, device="meta", requires_grad=True),
        "i": lib.empty(2, 2, dtype=lib.int64, device="meta"),
        "h": lib.empty(5, dtype=lib.float16, device="meta"),
        "s": lib.empty((), device="meta"),
        "e": lib.empty(0, 3, device="meta"),
    }


def describe(obj):
    """What a loaded meta tensor is, comparable across the libraries. The strides of the
    views made non-contiguous ("view", "t") are left out: ember's meta tensors are laid
    out contiguously whatever view made them (its meta backend keeps shapes, not
    strides), so they differ from torch's before any saving."""
    return {k: (type(v).__name__, v.device.type, str(v.dtype).split(".")[-1], tuple(v.shape),
                None if k in ("view", "t") else tuple(v.stride()), v.requires_grad)
            for k, v in obj.items()}


def torch_roundtrip(**load_kw):
    buf = io.BytesIO()
    torch.save(objects(torch), buf)
    buf.seek(0)
    return describe(torch.load(buf, **load_kw))


@pytest.mark.parametrize("fmt", ["ember", "torch"])
@pytest.mark.parametrize("map_location", [None, "cpu"])
def test_save_load_meta_matches_torch(fmt, map_location):
    buf = io.BytesIO()
    ember.save(objects(ember), buf, format=fmt)
    buf.seek(0)
    ours = describe(ember.load(buf, map_location=map_location))
    assert ours == torch_roundtrip(map_location=map_location)
    assert all(d[1] == "meta" for d in ours.values())


def test_torch_reads_embers_meta_file_as_its_own():
    buf = io.BytesIO()
    ember.save(objects(ember), buf, format="torch")
    buf.seek(0)
    assert describe(torch.load(buf)) == torch_roundtrip()   # weights_only=True


def test_ember_reads_torchs_meta_file():
    buf = io.BytesIO()
    torch.save(objects(torch), buf)
    buf.seek(0)
    assert describe(ember.load(buf)) == torch_roundtrip()


def test_module_built_on_meta_saves_and_loads():
    buf = io.BytesIO()
    with ember.device("meta"):
        model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.BatchNorm1d(4))
    ember.save(model, buf)
    buf.seek(0)
    loaded = ember.load(buf, weights_only=False)
    with torch.device("meta"):
        ref = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    assert describe(dict(loaded.state_dict())) == describe(dict(ref.state_dict()))
    # and its state_dict through both formats
    for fmt in ("ember", "torch"):
        buf = io.BytesIO()
        ember.save(model.state_dict(), buf, format=fmt)
        buf.seek(0)
        assert describe(ember.load(buf)) == describe(dict(ref.state_dict()))


def test_pickle_meta_parameter():
    p = ember.nn.Parameter(ember.empty(2, 3, device="meta"))
    q = pickle.loads(pickle.dumps(p))
    ref = pickle.loads(pickle.dumps(torch.nn.Parameter(torch.empty(2, 3, device="meta"))))
    assert describe({"p": q}) == describe({"p": ref})


def test_bad_meta_record_is_refused():
    from ember._ember_format import _Decoder
    with pytest.raises(ValueError, match="invalid meta tensor record"):
        _Decoder(None, None).dec({"__meta_tensor__": "float32", "shape": [2, -1],
                                  "strides": [1, 1], "requires_grad": False})
    with pytest.raises(ValueError, match="invalid meta tensor record"):
        _Decoder(None, None).dec({"__meta_tensor__": "Tensor", "shape": [2],
                                  "strides": [1], "requires_grad": False})
