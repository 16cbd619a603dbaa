"""ember.vision.tv_tensors against torchvision.tv_tensors, live: construction, metadata,
which operations keep the subclass, set_return_type, wrap, pickling, errors."""
import copy
import pickle
import types

import numpy as np
import pytest

from tests.vision._tv import tv

torch = pytest.importorskip("torch")
torchvision = tv()
from torchvision import tv_tensors as TTV  # noqa: E402

import ember  # noqa: E402
from ember.vision import tv_tensors as ETV  # noqa: E402

TORCH = types.SimpleNamespace(torch=torch, tvt=TTV)
EMBER = types.SimpleNamespace(torch=ember, tvt=ETV)
BOXES = [[1.0, 2.0, 8.0, 9.0], [0.0, 0.0, 4.0, 3.0]]


def _boxes(L, **kw):
    return L.tvt.BoundingBoxes(BOXES, format=kw.pop("format", "XYWH"), canvas_size=(10, 12),
                               **kw)


def _describe(x):
    """What a result is: its class name, metadata and values."""
    if isinstance(x, (tuple, list)):
        return [_describe(y) for y in x]
    meta = {k: (v.name if hasattr(v, "name") else v) for k, v in vars(x).items()
            if k in ("format", "canvas_size", "clamping_mode")}
    return type(x).__name__, meta, str(x.dtype).split(".")[1], x.detach().numpy().tolist()


OPS = {
    "add": lambda L, x: x + 1,
    "getitem": lambda L, x: x[0],
    "cat": lambda L, x: L.torch.cat([x, x]),
    "clone": lambda L, x: x.clone(),
    "to": lambda L, x: x.to(L.torch.float64),
    "detach": lambda L, x: x.detach(),
    "requires_grad_": lambda L, x: x.requires_grad_(True),
    "flip": lambda L, x: x.flip(-1),
    "unbind": lambda L, x: x.unbind(0),
    "sum": lambda L, x: x.sum(),
    "add_": lambda L, x: x.add_(1),
    "zero_": lambda L, x: x.zero_(),
    "iadd": lambda L, x: _iadd(x),
}


def _iadd(x):
    x += 2
    return x


@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("kind", ["boxes", "image", "mask"])
def test_which_ops_keep_the_subclass(op, kind):
    results = []
    for L in (TORCH, EMBER):
        x = {"boxes": lambda: _boxes(L),
             "image": lambda: L.tvt.Image(L.torch.arange(12.0).reshape(1, 3, 4)),
             "mask": lambda: L.tvt.Mask(L.torch.arange(12.0).reshape(3, 4))}[kind]()
        results.append(_describe(OPS[op](L, x)))
    assert results[0] == results[1]


@pytest.mark.parametrize("op", ["add", "getitem", "cat", "flip", "unbind", "sum", "add_", "iadd"])
def test_set_return_type_tvtensor_keeps_the_subclass(op):
    results = []
    for L in (TORCH, EMBER):
        x = _boxes(L)
        with L.tvt.set_return_type("TVTensor"):
            inside = _describe(OPS[op](L, x))
        after = _describe(OPS[op](L, x))
        results.append((inside, after))
    assert results[0] == results[1]


def test_set_return_type_as_a_global_switch_and_bad_value():
    for L in (TORCH, EMBER):
        img = L.tvt.Image(L.torch.zeros(1, 2, 2))
        L.tvt.set_return_type("tvtensor")
        try:
            assert type(img + 1).__name__ == "Image"
        finally:
            L.tvt.set_return_type("Tensor")
        assert type(img + 1).__name__ == "Tensor"
        with pytest.raises(ValueError):
            L.tvt.set_return_type("numpy")


def test_constructors_and_metadata():
    from PIL import Image
    pil = Image.fromarray(np.arange(24, dtype=np.uint8).reshape(2, 4, 3))
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    for make in (lambda L: L.tvt.Image(L.torch.from_numpy(arr)),          # 2-d gets C=1
                 lambda L: L.tvt.Image(pil),
                 lambda L: L.tvt.Image([[1, 2], [3, 4]], dtype=L.torch.float64),
                 lambda L: L.tvt.Mask(pil),
                 lambda L: L.tvt.Video(L.torch.zeros(2, 3, 1, 2, 2)),
                 lambda L: L.tvt.BoundingBoxes([1, 2, 3, 4], format=L.tvt.BoundingBoxFormat.XYXY,
                                               canvas_size=(5, 5)),
                 lambda L: _boxes(L, clamping_mode=None),
                 lambda L: L.tvt.KeyPoints([[1.0, 2.0], [3.0, 4.0]], canvas_size=(5, 6))):
        assert _describe(make(TORCH)) == _describe(make(EMBER))
    b_t, b_e = _boxes(TORCH, requires_grad=True), _boxes(EMBER, requires_grad=True)
    assert b_t.requires_grad == b_e.requires_grad
    assert TTV.is_rotated_bounding_format("XYWHR") == ETV.is_rotated_bounding_format("XYWHR")
    assert [f.name for f in TTV.BoundingBoxFormat] == [f.name for f in ETV.BoundingBoxFormat]


def test_reprs_match_up_to_the_package_name():
    for make in (lambda L: _boxes(L), lambda L: L.tvt.Image(L.torch.zeros(1, 2, 2)),
                 lambda L: L.tvt.Mask(L.torch.zeros(2, 2)),
                 lambda L: L.tvt.KeyPoints([[1.0, 2.0]], canvas_size=(3, 3))):
        assert repr(make(EMBER)) == repr(make(TORCH)).replace("torch.", "ember.")


@pytest.mark.parametrize("make", [
    lambda L: L.tvt.Image(L.torch.zeros(3)),
    lambda L: L.tvt.Video(L.torch.zeros(3, 2, 2)),
    lambda L: L.tvt.BoundingBoxes(L.torch.zeros(1, 1, 4), format="XYXY", canvas_size=(2, 2)),
    lambda L: L.tvt.BoundingBoxes([1, 2, 3, 4], format="XYXY", canvas_size=(2, 2),
                                  clamping_mode="firm"),
    lambda L: L.tvt.BoundingBoxes([1, 2, 3, 4, 5], format="XYWHR", canvas_size=(2, 2)),
    lambda L: L.tvt.BoundingBoxes([1, 2, 3, 4], format="XYZW", canvas_size=(2, 2)),
    lambda L: L.tvt.KeyPoints(L.torch.zeros(2, 3), canvas_size=(2, 2)),
])
def test_bad_construction_raises_like_torchvision(make):
    errors = []
    for L in (TORCH, EMBER):
        with pytest.raises(Exception) as info:
            make(L)
        errors.append(type(info.value))
    assert errors[0] is errors[1]


def test_wrap_copies_metadata_and_overrides():
    results = []
    for L in (TORCH, EMBER):
        b = _boxes(L)
        plain = b.as_subclass(L.torch.Tensor) * 2
        results.append([_describe(L.tvt.wrap(plain, like=b)),
                        _describe(L.tvt.wrap(plain, like=b, canvas_size=(20, 24))),
                        _describe(L.tvt.wrap(plain, like=L.tvt.Mask(L.torch.zeros(2, 2))))])
    assert results[0] == results[1]


def test_pickle_and_deepcopy_keep_class_and_metadata():
    for L in (TORCH, EMBER):
        b = _boxes(L)
        for c in (pickle.loads(pickle.dumps(b)), copy.deepcopy(b)):
            assert _describe(c) == _describe(b)


def test_importing_tv_tensors_leaves_plain_ops_undispatched():
    # ember's design: TVTensor opts out of the __torch_function__ protocol until
    # set_return_type("TVTensor") needs it, so importing it costs ordinary programs nothing
    import subprocess
    import sys
    code = ("import ember.vision.tv_tensors, ember._torch_function as tf; "
            "print(tf.ACTIVE[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_wrap_dataset_for_transforms_v2(tmp_path):
    from PIL import Image
    import torchvision.datasets as TD
    import ember.vision.datasets as ED
    from torchvision.transforms import v2 as TV2
    from ember.vision.transforms import v2 as EV2
    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(
                tmp_path / cls / f"{i}.png")
    results = []
    for L, D, V2 in ((TORCH, TD, TV2), (EMBER, ED, EV2)):
        L.torch.manual_seed(0)
        tf = V2.Compose([V2.ToImage(), V2.RandomResizedCrop(8), V2.ToDtype(L.torch.float32,
                                                                            scale=True)])
        ds = D.wrap_dataset_for_transforms_v2(D.ImageFolder(str(tmp_path), transform=tf))
        samples = [ds[i] for i in range(len(ds))]
        results.append((type(ds).__name__, len(ds), ds.classes,
                        [(type(x).__name__, x.numpy().round(5).tolist(), y) for x, y in samples]))
        copied = pickle.loads(pickle.dumps(ds))
        assert type(copied).__name__ == type(ds).__name__ and len(copied) == len(ds)
        errors = []
        for make in (lambda: D.wrap_dataset_for_transforms_v2(D.FakeData(size=2)),
                     lambda: D.wrap_dataset_for_transforms_v2(samples),
                     lambda: D.wrap_dataset_for_transforms_v2(
                         D.ImageFolder(str(tmp_path)), target_keys=["boxes"]),
                     lambda: D.wrap_dataset_for_transforms_v2(
                         D.ImageFolder(str(tmp_path)), target_keys=3)):
            with pytest.raises(Exception) as info:
                make()
            errors.append(type(info.value))
        results.append(errors)
    assert results[0] == results[2] and results[1] == results[3]


def test_subclass_handler_calling_super():
    results = []
    for L in (TORCH, EMBER):
        class Mine(L.tvt.TVTensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                return super().__torch_function__(func, types, args, kwargs)
        m = L.torch.arange(4.0).as_subclass(Mine)
        with L.tvt.set_return_type("TVTensor"):
            inside = _describe(m * 2)
        results.append((_describe(m + 1), inside, _describe(m.clone())))
    assert results[0] == results[1]
