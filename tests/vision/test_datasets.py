"""ember.vision.datasets read small files written here in the genuine formats."""
import gzip
import hashlib
import os
import pickle
import struct

import numpy as np
import pytest
from PIL import Image

import ember
from ember.utils.data import DataLoader
from ember.vision import datasets, transforms
from ember.vision.datasets import utils as dutils

RNG = np.random.default_rng(0)


def _idx_bytes(arr, type_code=0x08):
    header = bytes([0, 0, type_code, arr.ndim]) + b"".join(struct.pack(">i", s)
                                                           for s in arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def _write_mnist(root, cls="MNIST", n_train=6, n_test=4, gz=True):
    raw = root / cls / "raw"
    raw.mkdir(parents=True)
    data = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = RNG.integers(0, 10, n, dtype=np.uint8)
        for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{prefix}-{kind}-ubyte"
            payload = _idx_bytes(arr)
            if gz:
                (raw / (name + ".gz")).write_bytes(gzip.compress(payload))
            else:
                (raw / name).write_bytes(payload)
        data[prefix] = (images, labels)
    return data


@pytest.mark.parametrize("cls", ["MNIST", "FashionMNIST", "KMNIST"])
@pytest.mark.parametrize("gz", [True, False])
def test_mnist_family_reads_idx_files(tmp_path, cls, gz):
    data = _write_mnist(tmp_path, cls, gz=gz)
    train = getattr(datasets, cls)(str(tmp_path), train=True)
    test = getattr(datasets, cls)(str(tmp_path), train=False,
                                  transform=transforms.ToTensor(),
                                  target_transform=lambda t: t + 100)
    assert len(train) == 6 and len(test) == 4
    img, target = train[2]
    assert isinstance(img, Image.Image) and img.mode == "L"
    np.testing.assert_array_equal(np.asarray(img), data["train"][0][2])
    assert target == int(data["train"][1][2])
    x, t = test[1]
    assert x.shape == (1, 28, 28) and x.dtype == ember.float32
    np.testing.assert_allclose(x.numpy()[0], data["t10k"][0][1] / np.float32(255), rtol=1e-6)
    assert t == int(data["t10k"][1][1]) + 100
    assert train.data.dtype == ember.uint8 and train.targets.dtype == ember.int64
    assert len(train.classes) == 10 and train.class_to_idx[train.classes[3]] == 3
    assert repr(train).startswith(f"Dataset {cls}\n    Number of datapoints: 6\n")
    assert "Split: Train" in repr(train)


def test_mnist_through_dataloader(tmp_path):
    _write_mnist(tmp_path, n_train=8)
    ds = datasets.MNIST(str(tmp_path), transform=transforms.Compose([
        transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]))
    batches = list(DataLoader(ds, batch_size=4, num_workers=2))
    assert len(batches) == 2
    assert batches[0][0].shape == (4, 1, 28, 28) and batches[0][1].dtype == ember.int64


def test_emnist_split(tmp_path):
    raw = tmp_path / "EMNIST" / "raw"
    raw.mkdir(parents=True)
    images = RNG.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    labels = np.array([1, 5, 26], np.uint8)
    (raw / "emnist-letters-train-images-idx3-ubyte").write_bytes(_idx_bytes(images))
    (raw / "emnist-letters-train-labels-idx1-ubyte").write_bytes(_idx_bytes(labels))
    ds = datasets.EMNIST(str(tmp_path), split="letters")
    assert len(ds) == 3 and ds[2][1] == 26 and ds.classes[26] == "z"
    with pytest.raises(ValueError, match="split"):
        datasets.EMNIST(str(tmp_path), split="words")


def test_idx_corruption_errors(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x01\x02\x08\x01" + struct.pack(">i", 3) + b"abc")
    with pytest.raises(RuntimeError, match="magic"):
        datasets.mnist.read_sn3_pascalvincent_tensor(str(path))
    path.write_bytes(_idx_bytes(np.zeros(10, np.uint8))[:-3])
    with pytest.raises(RuntimeError, match="needs"):
        datasets.mnist.read_label_file(str(path))
    path.write_bytes(_idx_bytes(np.zeros((2, 2), np.uint8)))
    with pytest.raises(RuntimeError, match="1-d uint8"):
        datasets.mnist.read_label_file(str(path))
    path.write_bytes(_idx_bytes(np.arange(6, dtype=np.int32).reshape(2, 3), type_code=0x0C))
    np.testing.assert_array_equal(datasets.mnist.read_sn3_pascalvincent_tensor(str(path)).numpy(),
                                  np.arange(6).reshape(2, 3))


def test_missing_mnist_and_offline_download(tmp_path):
    with pytest.raises(RuntimeError, match="download=True"):
        datasets.MNIST(str(tmp_path))
    with pytest.raises(RuntimeError) as info:
        datasets.MNIST(str(tmp_path), download=True)
    message = str(info.value)
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz" in message
    assert str(tmp_path / "MNIST" / "raw") in message
    assert not [p for p in os.listdir(tmp_path / "MNIST" / "raw") if p.endswith(".part")]


# ------------------------------------------------------------------ CIFAR


def _write_cifar(root, base, train_files, test_files, meta_file, label_key, meta_key, n=5):
    folder = root / base
    folder.mkdir(parents=True)
    contents = {}
    for name in train_files + test_files:
        data = RNG.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = [int(v) for v in RNG.integers(0, 10, n)]
        entry = {"batch_label": "synthetic", label_key: labels, "data": data,
                 "filenames": [f"img{i}.png" for i in range(n)]}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f, protocol=2)
        contents[name] = (data, labels)
    with open(folder / meta_file, "wb") as f:
        pickle.dump({meta_key: [f"class{i}" for i in range(10)], "num_cases_per_batch": n}, f)
    md5s = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    return contents, md5s


@pytest.fixture
def cifar10(tmp_path, monkeypatch):
    train_files = [f"data_batch_{i}" for i in range(1, 6)]
    contents, md5s = _write_cifar(tmp_path, "cifar-10-batches-py", train_files, ["test_batch"],
                                  "batches.meta", "labels", "label_names")
    # the published MD5s are of the real files; point them at the synthetic ones
    monkeypatch.setattr(datasets.CIFAR10, "train_list", [[f, md5s[f]] for f in train_files])
    monkeypatch.setattr(datasets.CIFAR10, "test_list", [["test_batch", md5s["test_batch"]]])
    monkeypatch.setattr(datasets.CIFAR10, "meta", {"filename": "batches.meta",
                                                   "key": "label_names",
                                                   "md5": md5s["batches.meta"]})
    return tmp_path, contents


def test_cifar10_reads_pickled_batches(cifar10):
    root, contents = cifar10
    train = datasets.CIFAR10(str(root), train=True)
    test = datasets.CIFAR10(str(root), train=False, transform=transforms.ToTensor())
    assert len(train) == 25 and len(test) == 5
    img, target = train[7]
    data, labels = contents["data_batch_2"]
    np.testing.assert_array_equal(np.asarray(img), data[2].reshape(3, 32, 32).transpose(1, 2, 0))
    assert target == labels[2]
    x, _ = test[0]
    assert x.shape == (3, 32, 32)
    assert train.classes[4] == "class4" and train.class_to_idx["class4"] == 4


def test_cifar_corrupted_file_fails_md5(cifar10):
    root, _ = cifar10
    path = root / "cifar-10-batches-py" / "data_batch_3"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(RuntimeError, match="corrupted"):
        datasets.CIFAR10(str(root))


def test_cifar100_fine_labels(tmp_path, monkeypatch):
    contents, md5s = _write_cifar(tmp_path, "cifar-100-python", ["train"], ["test"], "meta",
                                  "fine_labels", "fine_label_names")
    monkeypatch.setattr(datasets.CIFAR100, "train_list", [["train", md5s["train"]]])
    monkeypatch.setattr(datasets.CIFAR100, "test_list", [["test", md5s["test"]]])
    monkeypatch.setattr(datasets.CIFAR100, "meta", {"filename": "meta",
                                                    "key": "fine_label_names",
                                                    "md5": md5s["meta"]})
    ds = datasets.CIFAR100(str(tmp_path), train=False)
    assert [ds[i][1] for i in range(5)] == contents["test"][1]


def test_restricted_unpickler_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "evil"
    path.write_bytes(pickle.dumps({"data": Evil()}, protocol=2))
    with open(path, "rb") as f, pytest.raises(pickle.UnpicklingError, match="posix.system|system"):
        dutils.restricted_pickle_load(f)
    obj_array = pickle.dumps({"data": np.array([1, "a"], dtype=object)}, protocol=2)
    path.write_bytes(obj_array)
    with open(path, "rb") as f, pytest.raises(pickle.UnpicklingError):
        dutils.restricted_pickle_load(f)


def test_cifar_offline_download_names_url(tmp_path):
    with pytest.raises(RuntimeError) as info:
        datasets.CIFAR10(str(tmp_path), download=True)
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in str(info.value)
    assert str(tmp_path) in str(info.value)


# ------------------------------------------------------------------ folders, fake data


def _write_folder(root):
    for cls, n in (("cat", 3), ("dog", 2)):
        (root / cls / "nested").mkdir(parents=True)
        for i in range(n):
            arr = RNG.integers(0, 256, (6, 5, 3), dtype=np.uint8)
            ext = "png" if i % 2 == 0 else "JPEG"
            Image.fromarray(arr).save(root / cls / f"{i}.{ext}")
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(root / cls / "nested" / "g.bmp")
        (root / cls / "notes.txt").write_text("not an image")


def test_image_folder(tmp_path):
    _write_folder(tmp_path)
    ds = datasets.ImageFolder(str(tmp_path), transform=transforms.ToTensor())
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    names = [os.path.relpath(p, tmp_path) for p, _ in ds.samples]
    assert names == ["cat/0.png", "cat/1.JPEG", "cat/2.png", "cat/nested/g.bmp", "dog/0.png",
                     "dog/1.JPEG", "dog/nested/g.bmp"]
    assert ds.targets == [0, 0, 0, 0, 1, 1, 1] and ds.imgs is ds.samples
    x, y = ds[3]
    assert x.shape == (3, 4, 4) and y == 0       # grayscale converted to RGB
    only_png = datasets.ImageFolder(str(tmp_path), is_valid_file=lambda p: p.endswith(".png"))
    assert len(only_png) == 3


def test_dataset_folder_loader_extensions_and_errors(tmp_path):
    _write_folder(tmp_path)
    ds = datasets.DatasetFolder(str(tmp_path), loader=lambda p: open(p).read(),
                                extensions=".txt")
    assert len(ds) == 2 and ds[1] == ("not an image", 1)
    with pytest.raises(FileNotFoundError, match="Supported extensions are: .xyz"):
        datasets.DatasetFolder(str(tmp_path), loader=open, extensions=(".xyz",))
    empty = datasets.DatasetFolder(str(tmp_path), loader=open, extensions=(".xyz",),
                                   allow_empty=True)
    assert len(empty) == 0
    with pytest.raises(ValueError, match="Both extensions and is_valid_file"):
        datasets.folder.make_dataset(str(tmp_path), extensions=".png",
                                     is_valid_file=lambda p: True)
    with pytest.raises(FileNotFoundError, match="class folder"):
        datasets.folder.find_classes(str(tmp_path / "cat" / "nested"))
    (tmp_path / "cat" / "broken.png").write_bytes(b"\x89PNG garbage")
    broken = datasets.ImageFolder(str(tmp_path))
    index = [os.path.basename(p) for p, _ in broken.samples].index("broken.png")
    with pytest.raises(RuntimeError, match="broken.png"):
        broken[index]


def test_fake_data_is_deterministic_per_index():
    ds = datasets.FakeData(size=4, image_size=(3, 8, 6), num_classes=3,
                           transform=transforms.PILToTensor())
    ember.manual_seed(5)
    before = ember.rand(1).item()
    a, ta = ds[2]
    ember.manual_seed(5)
    b, tb = ds[2]
    assert ember.rand(1).item() == before      # the global stream is left alone
    assert a.shape == (3, 8, 6) and a.dtype == ember.uint8 and 0 <= ta < 3
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert ta == tb
    with pytest.raises(IndexError):
        ds[4]


def test_extract_archive_and_verify_str_arg(tmp_path):
    import tarfile
    src = tmp_path / "f.txt"
    src.write_text("hello")
    with tarfile.open(tmp_path / "a.tar.gz", "w:gz") as tar:
        tar.add(src, arcname="inner/f.txt")
    out = tmp_path / "out"
    out.mkdir()
    dutils.extract_archive(str(tmp_path / "a.tar.gz"), str(out))
    assert (out / "inner" / "f.txt").read_text() == "hello"
    with gzip.open(tmp_path / "g.bin.gz", "wb") as f:
        f.write(b"xyz")
    dutils.extract_archive(str(tmp_path / "g.bin.gz"))
    assert (tmp_path / "g.bin").read_bytes() == b"xyz"
    with tarfile.open(tmp_path / "evil.tar", "w") as tar:
        tar.add(src, arcname="../escape.txt")
    with pytest.raises(RuntimeError, match="outside"):
        dutils.extract_archive(str(tmp_path / "evil.tar"), str(out))
    assert dutils.check_integrity(str(src), hashlib.md5(b"hello").hexdigest())
    assert not dutils.check_integrity(str(src), "0" * 32)
    assert dutils.verify_str_arg("a", "x", ("a", "b")) == "a"
    with pytest.raises(ValueError, match="Unknown value 'c'"):
        dutils.verify_str_arg("c", "x", ("a", "b"))
