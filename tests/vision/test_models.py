"""ember.vision.models against torchvision's architecture, rebuilt here in plain torch.nn.

Real torchvision cannot be installed next to torch 2.13 here, so the reference ResNet is
written below with torchvision's attribute names; its state dict (saved by torch.save)
must load into ember's model and give the same logits. Parameter counts are checked
against the ``num_params`` torchvision publishes for each architecture.
"""
import os

import numpy as np
import pytest
import torch
import torch.nn as tnn

import ember
from ember.vision import models

# ------------------------------------------------------------------ the torch reference


class TorchBasicBlock(tnn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU(inplace=True)
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class TorchBottleneck(tnn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.conv2 = tnn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.conv3 = tnn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = tnn.BatchNorm2d(planes * 4)
        self.relu = tnn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class TorchResNet(tnn.Module):
    def __init__(self, block, layers, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = tnn.BatchNorm2d(64)
        self.relu = tnn.ReLU(inplace=True)
        self.maxpool = tnn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, 64, layers[0], 1)
        self.layer2 = self._make_layer(block, 128, layers[1], 2)
        self.layer3 = self._make_layer(block, 256, layers[2], 2)
        self.layer4 = self._make_layer(block, 512, layers[3], 2)
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = tnn.Sequential(
                tnn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                tnn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return tnn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _randomise_bn(model, seed):
    """Non-trivial running statistics and affine parameters, so eval mode is tested."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, tnn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def _shapes(state_dict):
    return [(k, tuple(v.shape)) for k, v in state_dict.items()]


@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    path = tmp_path / "torch_home" / "hub" / "checkpoints"
    path.mkdir(parents=True)
    return path


# ------------------------------------------------------------------ tests


@pytest.mark.parametrize("builder, block, layers", [
    ("resnet18", TorchBasicBlock, [2, 2, 2, 2]),
    ("resnet34", TorchBasicBlock, [3, 4, 6, 3]),
    ("resnet50", TorchBottleneck, [3, 4, 6, 3]),
])
def test_resnet_state_dict_keys_order_shapes(builder, block, layers):
    ember_sd = getattr(models, builder)().state_dict()
    torch_sd = TorchResNet(block, layers).state_dict()
    assert _shapes(ember_sd) == _shapes(torch_sd)


def test_resnet18_weights_from_hub_cache_match_torch_logits(hub_dir):
    torch.manual_seed(0)
    reference = TorchResNet(TorchBasicBlock, [2, 2, 2, 2]).eval()
    _randomise_bn(reference, 1)
    torch.save(reference.state_dict(), hub_dir / "resnet18-f37072fd.pth")
    image = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)

    model = models.resnet18(weights=models.ResNet18_Weights.IMAGENET1K_V1).eval()
    with ember.no_grad():
        got = model(ember.from_numpy(image)).numpy()
    with torch.no_grad():
        want = reference(torch.from_numpy(image)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert got.shape == (1, 1000)


def test_legacy_pretrained_and_string_weights_load_the_same_file(hub_dir):
    torch.manual_seed(0)
    reference = TorchResNet(TorchBasicBlock, [2, 2, 2, 2])
    torch.save(reference.state_dict(), hub_dir / "resnet18-f37072fd.pth")
    with pytest.warns(UserWarning, match="pretrained"):
        legacy = models.resnet18(pretrained=True)
    by_name = models.resnet18(weights="ResNet18_Weights.IMAGENET1K_V1")
    by_default = models.resnet18(weights="DEFAULT")
    want = reference.conv1.weight.detach().numpy()
    for model in (legacy, by_name, by_default):
        np.testing.assert_array_equal(model.conv1.weight.detach().numpy(), want)


def test_weights_from_a_local_file(tmp_path):
    torch.manual_seed(0)
    reference = TorchResNet(TorchBasicBlock, [2, 2, 2, 2], num_classes=3)
    path = tmp_path / "mine.pth"
    torch.save(reference.state_dict(), path)
    model = models.resnet18(weights=str(path), num_classes=3)
    np.testing.assert_array_equal(model.fc.weight.detach().numpy(),
                                  reference.fc.weight.detach().numpy())


def test_missing_weights_name_url_and_path(hub_dir):
    with pytest.raises(RuntimeError) as info:
        models.resnet18(weights=models.ResNet18_Weights.DEFAULT)
    message = str(info.value)
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth" in message
    assert str(hub_dir / "resnet18-f37072fd.pth") in message
    assert not list(hub_dir.iterdir())   # no partial download left behind


def test_weights_argument_errors():
    with pytest.raises(ValueError, match="num_classes"):
        models.resnet18(weights="IMAGENET1K_V1", num_classes=2)
    with pytest.raises(ValueError, match="Unknown weights"):
        models.resnet18(weights="IMAGENET1K_V9")
    with pytest.raises(TypeError, match="ResNet18_Weights"):
        models.resnet18(weights=models.ResNet50_Weights.IMAGENET1K_V1)


def test_weights_enum_metadata_and_preset_transforms():
    w = models.ResNet50_Weights.DEFAULT
    assert w is models.ResNet50_Weights.IMAGENET1K_V2
    assert w.url == "https://download.pytorch.org/models/resnet50-11ad3fa6.pth"
    assert w.meta["_metrics"]["ImageNet-1K"]["acc@1"] == 80.858
    preset = w.transforms()
    assert preset.resize_size == [232] and preset.crop_size == [224]
    image = ember.randint(0, 256, (3, 250, 300), dtype=ember.uint8)
    out = preset(image)
    assert out.shape == (3, 224, 224) and out.dtype == ember.float32
    assert "crop_size=[224]" in repr(preset)


@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
                                  "resnext50_32x4d",
                                  "squeezenet1_0", "squeezenet1_1", "mobilenet_v2"])
def test_parameter_count_is_torchvisions(name):
    model = models.get_model(name)
    expected = models.get_model_weights(name).DEFAULT.meta["num_params"]
    assert sum(p.numel() for p in model.parameters()) == expected


def test_vgg_feature_extractors():
    # the full VGGs are not built here: their 25088x4096 classifier takes ~20 s to
    # initialise on this machine (nn.init); the features and the classifier's head are
    # checked against torchvision's layout instead
    from ember.vision.models.vgg import cfgs, make_layers
    convs = {"A": 8, "B": 10, "D": 13, "E": 16}
    for cfg, n_conv in convs.items():
        features = make_layers(cfgs[cfg], batch_norm=True)
        keys = list(features.state_dict())
        assert len(keys) == n_conv * 7
        assert keys[:7] == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                            "1.running_var", "1.num_batches_tracked"]
        with ember.no_grad():
            assert features(ember.randn(1, 3, 32, 32)).shape == (1, 512, 1, 1)
    plain = make_layers(cfgs["A"])
    assert [type(m).__name__ for m in plain][:3] == ["Conv2d", "ReLU", "MaxPool2d"]
    conv_params = sum(p.numel() for p in plain.parameters())
    classifier = 25088 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000
    assert conv_params + classifier == models.VGG11_Weights.DEFAULT.meta["num_params"]


@pytest.mark.parametrize("name, size", [("alexnet", 63), ("squeezenet1_1", 32),
                                        ("mobilenet_v2", 32), ("resnet50", 32)])
def test_forward_shape(name, size):
    model = models.get_model(name).eval()
    expected = models.get_model_weights(name).DEFAULT.meta["num_params"]
    assert sum(p.numel() for p in model.parameters()) == expected
    with ember.no_grad():
        assert model(ember.randn(2, 3, size, size)).shape == (2, 1000)


def test_transfer_learning_replaces_fc_and_trains():
    ember.manual_seed(0)
    model = models.resnet18()
    num_features = model.fc.in_features
    model.fc = ember.nn.Linear(num_features, 2)
    assert list(model.state_dict())[-2:] == ["fc.weight", "fc.bias"]
    x = ember.randn(4, 3, 32, 32)
    y = ember.tensor([0, 1, 0, 1])
    opt = ember.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = ember.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert model.conv1.weight.grad is not None


def test_zero_init_residual():
    model = models.resnet18(zero_init_residual=True)
    assert float(model.layer1[0].bn2.weight.abs().sum()) == 0.0
    assert os.fspath(models._api.get_dir()).endswith("hub")
