"""AlexNet (Krizhevsky et al. 2012, the "one weird trick" variant torchvision ships)."""
from ... import flatten, nn
from ._api import WeightsEnum, imagenet_weights, load_weights, resolve_weights, \
    set_num_classes

__all__ = ["AlexNet", "alexnet", "AlexNet_Weights"]


class AlexNet(nn.Module):
    """Five convolutions (11x11/4, 5x5, 3x3 x3) with max pools, a 6x6 adaptive average
    pool and a dropout-4096-4096-`num_classes` classifier (default PyTorch init)."""

    def __init__(self, num_classes=1000, dropout=0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2))
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(flatten(x, 1))


class AlexNet_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth", 61100840, 56.522, 79.066,
        min_size=(63, 63),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg",
        _ops=0.714,
        _file_size=233.087)
    DEFAULT = IMAGENET1K_V1


def alexnet(weights=None, progress=True, **kwargs):
    weights = resolve_weights(AlexNet_Weights, weights, kwargs, "IMAGENET1K_V1")
    set_num_classes(kwargs, weights)
    return load_weights(AlexNet(**kwargs), weights, progress)
