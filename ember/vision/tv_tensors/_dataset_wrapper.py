"""datasets.wrap_dataset_for_transforms_v2: a dataset whose samples the v2 transforms can
take whole. For the classification datasets ember has (CIFAR, MNIST and its variants,
DatasetFolder/ImageFolder) a sample stays (image, label); the wrapper moves the dataset's
transform/target_transform/transforms to itself and calls them on the sample. Detection,
segmentation and video datasets are not in ember.vision.datasets."""
import collections.abc
import contextlib
from copy import copy

__all__ = ["wrap_dataset_for_transforms_v2"]

_DETECTION_NAMES = ("CocoDetection", "VOCDetection", "Kitti", "WIDERFace")


def _classification_wrapper(idx, sample):
    return sample


def _wrapper_classes():
    from .. import datasets
    return (datasets.CIFAR10, datasets.CIFAR100, datasets.MNIST, datasets.FashionMNIST,
            datasets.DatasetFolder, datasets.ImageFolder)


def wrap_dataset_for_transforms_v2(dataset, target_keys=None):
    """The dataset wrapped so that its samples suit the v2 transforms (target_keys: only
    for detection datasets, which ember does not have)."""
    if not (target_keys is None or target_keys == "all" or
            (isinstance(target_keys, collections.abc.Collection) and
             all(isinstance(key, str) for key in target_keys))):
        raise ValueError(f"`target_keys` can be None, 'all', or a collection of strings denoting "
                         f"the keys to be returned, but got {target_keys}")
    wrapped_cls = type(f"Wrapped{type(dataset).__name__}",
                       (VisionDatasetTVTensorWrapper, type(dataset)), {})
    return wrapped_cls(dataset, target_keys)


class VisionDatasetTVTensorWrapper:
    """Serves the wrapped dataset's samples with the transforms applied to the whole
    sample."""

    def __init__(self, dataset, target_keys):
        from .. import datasets
        dataset_cls = type(dataset)
        if not isinstance(dataset, datasets.VisionDataset):
            raise TypeError(f"This wrapper is meant for subclasses of "
                            f"`torchvision.datasets.VisionDataset`, but got a "
                            f"'{dataset_cls.__name__}' instead.\nFor an example of how to "
                            f"perform the wrapping for custom datasets, see\n\nhttps://pytorch"
                            f".org/vision/main/auto_examples/plot_tv_tensors.html#do-i-have-to-"
                            f"wrap-the-output-of-the-datasets-myself")
        supported = _wrapper_classes()
        for cls in dataset_cls.mro():
            if cls in supported:
                if target_keys is not None:
                    raise ValueError(f"`target_keys` is currently only supported for "
                                     f"`{'`, `'.join(_DETECTION_NAMES[:-1])}`, and "
                                     f"`{_DETECTION_NAMES[-1]}`, but got {cls.__name__}.")
                break
            if cls is datasets.VisionDataset:
                msg = f"No wrapper exists for dataset class {dataset_cls.__name__}. Please " \
                      f"wrap the output yourself."
                if dataset_cls in vars(datasets).values():
                    msg = f"{msg} If an automated wrapper for this dataset would be useful for " \
                          f"you, please open an issue at https://github.com/pytorch/vision/" \
                          f"issues."
                raise TypeError(msg)
        self._dataset = dataset
        self._target_keys = target_keys
        self._wrapper = _classification_wrapper
        # the transforms move to the wrapper, which applies them to the whole sample
        self.transform, dataset.transform = dataset.transform, None
        self.target_transform, dataset.target_transform = dataset.target_transform, None
        self.transforms, dataset.transforms = dataset.transforms, None

    def __getattr__(self, item):
        with contextlib.suppress(AttributeError):
            return object.__getattribute__(self, item)
        return getattr(self._dataset, item)

    def __getitem__(self, idx):
        sample = self._wrapper(idx, self._dataset[idx])
        if self.transforms is not None:
            sample = self.transforms(*sample)
        return sample

    def __len__(self):
        return len(self._dataset)

    def __reduce__(self):
        dataset = copy(self._dataset)
        dataset.transform = self.transform
        dataset.transforms = self.transforms
        dataset.target_transform = self.target_transform
        return wrap_dataset_for_transforms_v2, (dataset, self._target_keys)
