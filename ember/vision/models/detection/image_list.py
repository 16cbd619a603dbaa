"""ImageList: a batch of images padded to one size, with each image's own size."""

__all__ = ["ImageList"]


class ImageList:
    """``tensors`` (N, C, H, W), the images zero-padded to a common size, and
    ``image_sizes``, the (height, width) of each image before padding."""

    def __init__(self, tensors, image_sizes):
        self.tensors = tensors
        self.image_sizes = image_sizes

    def to(self, device):
        return ImageList(self.tensors.to(device), self.image_sizes)
