"""ShuffleNet V2 (Ma et al. 2018, "ShuffleNet V2: Practical Guidelines for Efficient CNN
Architecture Design"), torchvision's layout and state_dict keys."""
from ... import cat, nn, transpose
from ._api import WeightsEnum, imagenet_weights, load_weights, resolve_weights, \
    set_num_classes

__all__ = ["ShuffleNetV2", "ShuffleNet_V2_X0_5_Weights", "ShuffleNet_V2_X1_0_Weights",
           "ShuffleNet_V2_X1_5_Weights", "ShuffleNet_V2_X2_0_Weights", "shufflenet_v2_x0_5",
           "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"]


def channel_shuffle(x, groups):
    """Interleave the channels of `groups` groups: (N, g*c, H, W) viewed as (N, g, c, H, W),
    transposed to (N, c, g, H, W) and flattened back, so the next block's split mixes
    information from both branches."""
    batchsize, num_channels, height, width = x.size()
    x = x.view(batchsize, groups, num_channels // groups, height, width)
    x = transpose(x, 1, 2).contiguous()
    return x.view(batchsize, num_channels, height, width)


class InvertedResidual(nn.Module):
    """The ShuffleNet V2 unit. Stride 1: the channels split in halves, one half passes
    unchanged, the other goes through 1x1-BN-ReLU, depthwise 3x3-BN, 1x1-BN-ReLU
    (`branch2`). Stride 2: both branches see the whole input, `branch1` being depthwise
    3x3/2-BN, 1x1-BN-ReLU. The halves are concatenated and channel-shuffled."""

    def __init__(self, inp, oup, stride):
        super().__init__()
        if not 1 <= stride <= 3:
            raise ValueError("illegal stride value")
        self.stride = stride
        branch_features = oup // 2
        if self.stride == 1 and inp != branch_features << 1:
            raise ValueError(f"Invalid combination of stride {stride}, inp {inp} and oup {oup} "
                             f"values. If stride == 1 then inp should be equal to oup // 2 << 1.")
        if self.stride > 1:
            self.branch1 = nn.Sequential(
                self.depthwise_conv(inp, inp, kernel_size=3, stride=self.stride, padding=1),
                nn.BatchNorm2d(inp),
                nn.Conv2d(inp, branch_features, kernel_size=1, stride=1, padding=0, bias=False),
                nn.BatchNorm2d(branch_features),
                nn.ReLU(inplace=True),
            )
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if self.stride > 1 else branch_features, branch_features,
                      kernel_size=1, stride=1, padding=0, bias=False),
            nn.BatchNorm2d(branch_features),
            nn.ReLU(inplace=True),
            self.depthwise_conv(branch_features, branch_features, kernel_size=3,
                                stride=self.stride, padding=1),
            nn.BatchNorm2d(branch_features),
            nn.Conv2d(branch_features, branch_features, kernel_size=1, stride=1, padding=0,
                      bias=False),
            nn.BatchNorm2d(branch_features),
            nn.ReLU(inplace=True),
        )

    @staticmethod
    def depthwise_conv(i, o, kernel_size, stride=1, padding=0, bias=False):
        return nn.Conv2d(i, o, kernel_size, stride, padding, bias=bias, groups=i)

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = cat((x1, self.branch2(x2)), dim=1)
        else:
            out = cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    """3x3/2 conv-BN-ReLU, 3x3/2 max pool, stages 2-4 (a stride-2 unit then
    ``stages_repeats[i] - 1`` stride-1 units), 1x1 conv-BN-ReLU (`conv5`), global mean,
    `fc`. Layers keep PyTorch's default initialisation."""

    def __init__(self, stages_repeats, stages_out_channels, num_classes=1000,
                 inverted_residual=InvertedResidual):
        super().__init__()
        if len(stages_repeats) != 3:
            raise ValueError("expected stages_repeats as list of 3 positive ints")
        if len(stages_out_channels) != 5:
            raise ValueError("expected stages_out_channels as list of 5 positive ints")
        self._stage_out_channels = stages_out_channels
        input_channels = 3
        output_channels = self._stage_out_channels[0]
        self.conv1 = nn.Sequential(
            nn.Conv2d(input_channels, output_channels, 3, 2, 1, bias=False),
            nn.BatchNorm2d(output_channels),
            nn.ReLU(inplace=True),
        )
        input_channels = output_channels
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        for name, repeats, output_channels in zip(("stage2", "stage3", "stage4"),
                                                  stages_repeats,
                                                  self._stage_out_channels[1:]):
            seq = [inverted_residual(input_channels, output_channels, 2)]
            seq += [inverted_residual(output_channels, output_channels, 1)
                    for _ in range(repeats - 1)]
            setattr(self, name, nn.Sequential(*seq))
            input_channels = output_channels
        output_channels = self._stage_out_channels[-1]
        self.conv5 = nn.Sequential(
            nn.Conv2d(input_channels, output_channels, 1, 1, 0, bias=False),
            nn.BatchNorm2d(output_channels),
            nn.ReLU(inplace=True),
        )
        self.fc = nn.Linear(output_channels, num_classes)

    def _forward_impl(self, x):
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(x.mean([2, 3]))   # global average pool

    def forward(self, x):
        return self._forward_impl(x)


def _shufflenetv2(weights_enum, weights, progress, kwargs, repeats, channels):
    weights = resolve_weights(weights_enum, weights, kwargs, "IMAGENET1K_V1")
    set_num_classes(kwargs, weights)
    return load_weights(ShuffleNetV2(repeats, channels, **kwargs), weights, progress)


class ShuffleNet_V2_X0_5_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/shufflenetv2_x0.5-f707e7126e.pth", 1366792, 60.552, 81.746,
        recipe="https://github.com/ericsun99/Shufflenet-v2-Pytorch",
        _ops=0.04,
        _file_size=5.282)
    DEFAULT = IMAGENET1K_V1


class ShuffleNet_V2_X1_0_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/shufflenetv2_x1-5666bf0f80.pth", 2278604, 69.362, 88.316,
        recipe="https://github.com/ericsun99/Shufflenet-v2-Pytorch",
        _ops=0.145,
        _file_size=8.791)
    DEFAULT = IMAGENET1K_V1


class ShuffleNet_V2_X1_5_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/shufflenetv2_x1_5-3c479a10.pth", 3503624, 72.996, 91.086,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/pull/5906",
        _ops=0.296,
        _file_size=13.557)
    DEFAULT = IMAGENET1K_V1


class ShuffleNet_V2_X2_0_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/shufflenetv2_x2_0-8be3c8ee.pth", 7393996, 76.23, 93.006,
        resize_size=232,
        recipe="https://github.com/pytorch/vision/pull/5906",
        _ops=0.583,
        _file_size=28.433)
    DEFAULT = IMAGENET1K_V1


def shufflenet_v2_x0_5(weights=None, progress=True, **kwargs):
    """ShuffleNet V2 with 0.5x output channels."""
    return _shufflenetv2(ShuffleNet_V2_X0_5_Weights, weights, progress, kwargs, [4, 8, 4],
                         [24, 48, 96, 192, 1024])


def shufflenet_v2_x1_0(weights=None, progress=True, **kwargs):
    """ShuffleNet V2 with 1.0x output channels."""
    return _shufflenetv2(ShuffleNet_V2_X1_0_Weights, weights, progress, kwargs, [4, 8, 4],
                         [24, 116, 232, 464, 1024])


def shufflenet_v2_x1_5(weights=None, progress=True, **kwargs):
    """ShuffleNet V2 with 1.5x output channels."""
    return _shufflenetv2(ShuffleNet_V2_X1_5_Weights, weights, progress, kwargs, [4, 8, 4],
                         [24, 176, 352, 704, 1024])


def shufflenet_v2_x2_0(weights=None, progress=True, **kwargs):
    """ShuffleNet V2 with 2.0x output channels."""
    return _shufflenetv2(ShuffleNet_V2_X2_0_Weights, weights, progress, kwargs, [4, 8, 4],
                         [24, 244, 488, 976, 2048])
