"""COCO's category names (index = label of the COCO-trained detectors; 'N/A' are ids
COCO skips) and the inference preset of the detectors."""
from .... import float32, nn, Tensor
from ...transforms import functional as TF

__all__ = ["ObjectDetection"]


class ObjectDetection(nn.Module):
    """The detectors' preset: a PIL image or uint8 tensor to float in [0, 1] (resizing and
    normalizing happen inside the model)."""

    def forward(self, img):
        if not isinstance(img, Tensor):
            img = TF.pil_to_tensor(img)
        return TF.convert_image_dtype(img, float32)

    def __repr__(self):
        return self.__class__.__name__ + "()"


_COCO_CATEGORIES = [
    '__background__', 'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train',
    'truck', 'boat', 'traffic light', 'fire hydrant', 'N/A', 'stop sign', 'parking meter',
    'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra',
    'giraffe', 'N/A', 'backpack', 'umbrella', 'N/A', 'N/A', 'handbag', 'tie', 'suitcase',
    'frisbee', 'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove',
    'skateboard', 'surfboard', 'tennis racket', 'bottle', 'N/A', 'wine glass', 'cup', 'fork',
    'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot',
    'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch', 'potted plant', 'bed', 'N/A',
    'dining table', 'N/A', 'N/A', 'toilet', 'N/A', 'tv', 'laptop', 'mouse', 'remote',
    'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'N/A',
    'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush',
]
