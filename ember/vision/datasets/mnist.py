"""MNIST, FashionMNIST, KMNIST and EMNIST: IDX files (gzipped or not).

The IDX format: a magic number ``0x00 0x00 <type> <ndim>`` then ``ndim`` big-endian
int32 sizes, then the data in big-endian order. Type codes: 0x08 uint8, 0x09 int8,
0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
"""
import gzip
import os
import string
import warnings

import numpy as np

from .utils import download_and_extract_archive, download_url, extract_archive, \
    verify_str_arg
from .vision import VisionDataset

__all__ = ["MNIST", "FashionMNIST", "KMNIST", "EMNIST", "read_sn3_pascalvincent_tensor",
           "read_image_file", "read_label_file"]

_IDX_TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _read_bytes(path):
    """The file's bytes; a ``.gz`` file (or gzip data under any name) is decompressed."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
    except (OSError, EOFError) as err:
        raise RuntimeError(f"Could not read {path}: {err} (corrupted file?)") from None
    return data


def read_sn3_pascalvincent_tensor(path, strict=True):
    """Parse an IDX file into an ember tensor (native byte order)."""
    from ... import from_numpy
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise RuntimeError(f"{path} is not an IDX file: bad magic number {data[:4].hex()}")
    type_code, ndim = data[2], data[3]
    if type_code not in _IDX_TYPES:
        raise RuntimeError(f"{path}: unknown IDX data type 0x{type_code:02x}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise RuntimeError(f"{path} is truncated: the header needs {header} bytes, the file "
                           f"has {len(data)}")
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">i4", count=ndim, offset=4))
    dtype = _IDX_TYPES[type_code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) < expected or (strict and len(data) != expected):
        raise RuntimeError(f"{path} is corrupted: shape {shape} of {dtype.name} needs "
                           f"{expected} bytes, the file has {len(data)}")
    arr = np.frombuffer(data, dtype=dtype, count=int(np.prod(shape)), offset=header)
    return from_numpy(arr.astype(dtype.newbyteorder("=")).reshape(shape))


def read_label_file(path):
    from ... import uint8
    x = read_sn3_pascalvincent_tensor(path, strict=False)
    if x.dtype != uint8 or x.ndimension() != 1:
        raise RuntimeError(f"{path}: a label file holds a 1-d uint8 array, got "
                           f"{x.dtype} of shape {tuple(x.shape)}")
    return x.long()


def read_image_file(path):
    from ... import uint8
    x = read_sn3_pascalvincent_tensor(path, strict=False)
    if x.dtype != uint8 or x.ndimension() != 3:
        raise RuntimeError(f"{path}: an image file holds a 3-d uint8 array, got "
                           f"{x.dtype} of shape {tuple(x.shape)}")
    return x


class MNIST(VisionDataset):
    """The MNIST digits: ``root/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``
    (each possibly ``.gz``). Items are ``(PIL image (mode L), int target)``."""

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/",
               "http://yann.lecun.com/exdb/mnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    training_file = "training.pt"
    test_file = "test.pt"
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train=True, transform=None, target_transform=None,
                 download=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError(f"Dataset not found. You can use download=True to download it "
                               f"(or place the files {[r[0] for r in self.resources]} in "
                               f"{self.raw_folder})")
        self.data, self.targets = self._load_data()

    # The names before torchvision 0.2.2 (older tutorials read train_data, test_labels):
    # the same tensors, with torchvision's warning.
    @property
    def train_labels(self):
        warnings.warn("train_labels has been renamed targets")
        return self.targets

    @property
    def test_labels(self):
        warnings.warn("test_labels has been renamed targets")
        return self.targets

    @property
    def train_data(self):
        warnings.warn("train_data has been renamed data")
        return self.data

    @property
    def test_data(self):
        warnings.warn("test_data has been renamed data")
        return self.data

    @property
    def raw_folder(self):
        return os.path.join(self.root, self.__class__.__name__, "raw")

    @property
    def class_to_idx(self):
        return {_class: i for i, _class in enumerate(self.classes)}

    @property
    def _file_prefix(self):
        return "train" if self.train else "t10k"

    def _find(self, stem):
        """The path of ``raw/<stem>`` or ``raw/<stem>.gz``, whichever exists."""
        for name in (stem, stem + ".gz"):
            path = os.path.join(self.raw_folder, name)
            if os.path.isfile(path):
                return path
        return None

    def _check_exists(self):
        stems = [os.path.splitext(os.path.basename(url))[0] for url, _ in self.resources]
        return all(self._find(stem) is not None for stem in stems)

    def _load_data(self):
        images = read_image_file(self._find(f"{self._file_prefix}-images-idx3-ubyte"))
        labels = read_label_file(self._find(f"{self._file_prefix}-labels-idx1-ubyte"))
        if images.shape[0] != labels.shape[0]:
            raise RuntimeError(f"{self.raw_folder}: {images.shape[0]} images but "
                               f"{labels.shape[0]} labels")
        return images, labels

    def download(self):
        """Fetch the files from the mirrors (MD5-checked) and extract them."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        for filename, md5 in self.resources:
            errors = []
            for mirror in self.mirrors:
                url = f"{mirror}{filename}"
                try:
                    download_url(url, root=self.raw_folder, filename=filename, md5=md5)
                except RuntimeError as error:
                    errors.append(f"Tried {url}, got:\n{error}")
                    continue
                extract_archive(os.path.join(self.raw_folder, filename))
                break
            else:
                raise RuntimeError(f"Error downloading {filename}:\n" + "\n".join(errors) +
                                   f"\nPlace {filename} (or its uncompressed form) in "
                                   f"{self.raw_folder} by hand to use it offline.")

    def __getitem__(self, index):
        from PIL import Image
        img, target = self.data[index], int(self.targets[index])
        img = Image.fromarray(img.numpy())
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self):
        return len(self.data)

    def extra_repr(self):
        return f"Split: {'Train' if self.train is True else 'Test'}"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST (same layout as MNIST, under ``root/FashionMNIST``)."""
    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


class KMNIST(MNIST):
    """Kuzushiji-MNIST (cursive Japanese characters), under ``root/KMNIST``."""
    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
        ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
        ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
        ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"),
    ]
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


class EMNIST(MNIST):
    """Extended MNIST: `split` is byclass | bymerge | balanced | letters | digits | mnist;
    files ``raw/emnist-<split>-<train|test>-<images-idx3|labels-idx1>-ubyte``."""
    url = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
    md5 = "58c8d27c78d21e728a6bc7b3cc06412e"
    splits = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
    _merged_classes = {"c", "i", "j", "k", "l", "m", "o", "p", "s", "u", "v", "w", "x", "y",
                       "z"}
    _all_classes = set(string.digits + string.ascii_letters)
    classes_split_dict = {
        "byclass": sorted(_all_classes),
        "bymerge": sorted(_all_classes - _merged_classes),
        "balanced": sorted(_all_classes - _merged_classes),
        "letters": ["N/A"] + list(string.ascii_lowercase),
        "digits": list(string.digits),
        "mnist": list(string.digits),
    }

    def __init__(self, root, split, **kwargs):
        self.split = verify_str_arg(split, "split", self.splits)
        self.classes = self.classes_split_dict[self.split]
        super().__init__(root, **kwargs)

    @property
    def _file_prefix(self):
        return f"emnist-{self.split}-{'train' if self.train else 'test'}"

    def _check_exists(self):
        return all(self._find(f"{self._file_prefix}-{kind}-ubyte") is not None
                   for kind in ("images-idx3", "labels-idx1"))

    def download(self):
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        download_and_extract_archive(self.url, download_root=self.raw_folder, md5=self.md5)
        gzip_folder = os.path.join(self.raw_folder, "gzip")
        for name in os.listdir(gzip_folder):
            if name.endswith(".gz"):
                extract_archive(os.path.join(gzip_folder, name), self.raw_folder)

    def extra_repr(self):
        return f"Split: {self.split}"
