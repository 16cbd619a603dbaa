"""torchvision.datasets: image data sets read from their published file formats."""
from .cifar import CIFAR10, CIFAR100
from .fakedata import FakeData
from .folder import DatasetFolder, ImageFolder
from .mnist import EMNIST, KMNIST, MNIST, FashionMNIST
from .vision import VisionDataset
from ..tv_tensors._dataset_wrapper import wrap_dataset_for_transforms_v2

__all__ = ["VisionDataset", "MNIST", "FashionMNIST", "KMNIST", "EMNIST", "CIFAR10",
           "CIFAR100", "DatasetFolder", "ImageFolder", "FakeData",
           "wrap_dataset_for_transforms_v2"]
