"""CIFAR-10 and CIFAR-100: the pickled batches of the "python version" archives.

Each batch is a dict with ``data`` (uint8, N x 3072: the red, green then blue 32x32
planes of each image) and ``labels`` (CIFAR-10) or ``fine_labels`` (CIFAR-100). The
batches are read with a restricted unpickler that admits only dicts, lists, strings,
bytes, numbers and NumPy arrays, never arbitrary objects.
"""
import os
import pickle

import numpy as np

from .utils import check_integrity, download_and_extract_archive, restricted_pickle_load
from .vision import VisionDataset

__all__ = ["CIFAR10", "CIFAR100"]


class CIFAR10(VisionDataset):
    """CIFAR-10 from ``root/cifar-10-batches-py``; items are ``(PIL RGB image, int)``.
    Every file is checked against its published MD5, as torchvision does."""
    base_folder = "cifar-10-batches-py"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    train_list = [
        ["data_batch_1", "c99cafc152244af753f735de768cd75f"],
        ["data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"],
        ["data_batch_3", "54ebc095f3ab1f0389bbae665268c751"],
        ["data_batch_4", "634d18415352ddfa80567beed471001a"],
        ["data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"],
    ]
    test_list = [["test_batch", "40351d587109b95175f43aff81a1287e"]]
    meta = {"filename": "batches.meta", "key": "label_names",
            "md5": "5ff9c542aee3614f3951f8cda6e48888"}

    def __init__(self, root, train=True, transform=None, target_transform=None,
                 download=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError(f"Dataset not found or corrupted. You can use download=True to "
                               f"download it (or extract {self.url} into {self.root})")
        self.data = []
        self.targets = []
        for file_name, _ in (self.train_list if self.train else self.test_list):
            entry = self._unpickle(file_name)
            labels = entry.get("labels", entry.get("fine_labels"))
            data = entry.get("data")
            if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or labels is None \
                    or data.size != len(labels) * 3072:
                raise RuntimeError(f"{file_name} is not a CIFAR batch: expected 'data' (uint8, "
                                   f"N x 3072) and N labels")
            self.data.append(data.reshape(-1, 3072))
            self.targets.extend(int(t) for t in labels)
        self.data = np.vstack(self.data).reshape(-1, 3, 32, 32).transpose((0, 2, 3, 1))
        self._load_meta()

    def _unpickle(self, file_name):
        path = os.path.join(self.root, self.base_folder, file_name)
        try:
            with open(path, "rb") as f:
                entry = restricted_pickle_load(f, encoding="latin1")
        except (pickle.UnpicklingError, EOFError, ValueError) as err:
            raise RuntimeError(f"Could not read {path}: {err}") from None
        if not isinstance(entry, dict):
            raise RuntimeError(f"{path} is not a CIFAR file: it holds a {type(entry).__name__}, "
                               f"not a dict")
        return entry

    def _load_meta(self):
        data = self._unpickle(self.meta["filename"])
        if self.meta["key"] not in data:
            raise RuntimeError(f"{self.meta['filename']} has no '{self.meta['key']}' entry")
        self.classes = list(data[self.meta["key"]])
        self.class_to_idx = {_class: i for i, _class in enumerate(self.classes)}

    def __getitem__(self, index):
        from PIL import Image
        img, target = self.data[index], self.targets[index]
        img = Image.fromarray(img)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self):
        return len(self.data)

    def _check_integrity(self):
        for filename, md5 in self.train_list + self.test_list + [[self.meta["filename"],
                                                                  self.meta["md5"]]]:
            if not check_integrity(os.path.join(self.root, self.base_folder, filename), md5):
                return False
        return True

    def download(self):
        if self._check_integrity():
            return
        download_and_extract_archive(self.url, self.root, filename=self.filename,
                                     md5=self.tgz_md5)

    def extra_repr(self):
        return f"Split: {'Train' if self.train is True else 'Test'}"


class CIFAR100(CIFAR10):
    """CIFAR-100 (fine labels) from ``root/cifar-100-python``."""
    base_folder = "cifar-100-python"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    filename = "cifar-100-python.tar.gz"
    tgz_md5 = "eb9058c3a382ffc7106e4002c42a8d85"
    train_list = [["train", "16019d7e3df5f24257cddd939b257f8d"]]
    test_list = [["test", "f0ef6b0ae62326f3e7ffdfab6717acfc"]]
    meta = {"filename": "meta", "key": "fine_label_names",
            "md5": "7973b15100ade9c7d40fb424638fde48"}
