"""repr of every module class in ember.nn equals torch's, for default and non-default
constructor arguments (the table must cover every class ember.nn exports), and a layer
given an input of the wrong shape raises torch's exception type."""
import inspect
import warnings

import numpy as np
import pytest
import torch

import ember

# name -> constructors (each: lib -> module); the first uses the defaults
REPRS = {
    "AdaptiveAvgPool1d": [lambda L: L.nn.AdaptiveAvgPool1d(3)],
    "AdaptiveAvgPool2d": [lambda L: L.nn.AdaptiveAvgPool2d((2, None))],
    "AdaptiveAvgPool3d": [lambda L: L.nn.AdaptiveAvgPool3d(2)],
    "AdaptiveMaxPool1d": [lambda L: L.nn.AdaptiveMaxPool1d(3),
                          lambda L: L.nn.AdaptiveMaxPool1d(3, return_indices=True)],
    "AdaptiveMaxPool2d": [lambda L: L.nn.AdaptiveMaxPool2d((2, 3))],
    "AdaptiveMaxPool3d": [lambda L: L.nn.AdaptiveMaxPool3d(2)],
    "AdaptiveLogSoftmaxWithLoss": [
        lambda L: L.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6]),
        lambda L: L.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3], div_value=2.0, head_bias=True)],
    "AlphaDropout": [lambda L: L.nn.AlphaDropout(), lambda L: L.nn.AlphaDropout(0.2, True)],
    "AvgPool1d": [lambda L: L.nn.AvgPool1d(3), lambda L: L.nn.AvgPool1d(3, 2, 1, True, False)],
    "AvgPool2d": [lambda L: L.nn.AvgPool2d(3),
                  lambda L: L.nn.AvgPool2d((2, 3), 1, 1, ceil_mode=True, divisor_override=2)],
    "AvgPool3d": [lambda L: L.nn.AvgPool3d(2)],
    "BCELoss": [lambda L: L.nn.BCELoss(), lambda L: L.nn.BCELoss(reduction="sum")],
    "BCEWithLogitsLoss": [lambda L: L.nn.BCEWithLogitsLoss(),
                          lambda L: L.nn.BCEWithLogitsLoss(pos_weight=L.ones(3))],
    "BatchNorm1d": [lambda L: L.nn.BatchNorm1d(4),
                    lambda L: L.nn.BatchNorm1d(4, 1e-3, 0.2, False, False)],
    "BatchNorm2d": [lambda L: L.nn.BatchNorm2d(4), lambda L: L.nn.BatchNorm2d(4, momentum=None)],
    "BatchNorm3d": [lambda L: L.nn.BatchNorm3d(4)],
    "SyncBatchNorm": [lambda L: L.nn.SyncBatchNorm(4),
                      lambda L: L.nn.SyncBatchNorm(4, momentum=None, affine=False)],
    "DataParallel": [lambda L: L.nn.DataParallel(L.nn.Linear(2, 3)),
                     lambda L: L.nn.DataParallel(L.nn.Sequential(L.nn.ReLU()), dim=1)],
    "LazyLinear": [lambda L: L.nn.LazyLinear(3), lambda L: L.nn.LazyLinear(3, bias=False)],
    "LazyConv1d": [lambda L: L.nn.LazyConv1d(4, 3),
                   lambda L: L.nn.LazyConv1d(4, 3, 2, 1, 2, 2, False, "circular")],
    "LazyConv2d": [lambda L: L.nn.LazyConv2d(4, 3), lambda L: L.nn.LazyConv2d(4, 3, padding="same")],
    "LazyConv3d": [lambda L: L.nn.LazyConv3d(4, 3)],
    "LazyConvTranspose1d": [lambda L: L.nn.LazyConvTranspose1d(4, 3),
                            lambda L: L.nn.LazyConvTranspose1d(4, 3, 2, 1, 1, bias=False)],
    "LazyConvTranspose2d": [lambda L: L.nn.LazyConvTranspose2d(4, 3, groups=2, dilation=2)],
    "LazyConvTranspose3d": [lambda L: L.nn.LazyConvTranspose3d(4, 3)],
    "LazyBatchNorm1d": [lambda L: L.nn.LazyBatchNorm1d(),
                        lambda L: L.nn.LazyBatchNorm1d(1e-3, 0.2, False, False)],
    "LazyBatchNorm2d": [lambda L: L.nn.LazyBatchNorm2d(momentum=None)],
    "LazyBatchNorm3d": [lambda L: L.nn.LazyBatchNorm3d(bias=False)],
    "LazyInstanceNorm1d": [lambda L: L.nn.LazyInstanceNorm1d(),
                           lambda L: L.nn.LazyInstanceNorm1d(affine=False)],
    "LazyInstanceNorm2d": [lambda L: L.nn.LazyInstanceNorm2d(track_running_stats=False)],
    "LazyInstanceNorm3d": [lambda L: L.nn.LazyInstanceNorm3d()],
    "Container": [lambda L: L.nn.Container(), lambda L: L.nn.Container(a=L.nn.ReLU())],
    "NLLLoss2d": [lambda L: L.nn.NLLLoss2d(), lambda L: L.nn.NLLLoss2d(ignore_index=1)],
    "RNNCellBase": [lambda L: L.nn.RNNCellBase(3, 4, True, 2),
                    lambda L: L.nn.RNNCellBase(3, 4, False, 1)],
    "Bilinear": [lambda L: L.nn.Bilinear(2, 3, 4), lambda L: L.nn.Bilinear(2, 3, 4, bias=False)],
    "CELU": [lambda L: L.nn.CELU(), lambda L: L.nn.CELU(0.5, True)],
    "CTCLoss": [lambda L: L.nn.CTCLoss(), lambda L: L.nn.CTCLoss(blank=2, zero_infinity=True)],
    "ChannelShuffle": [lambda L: L.nn.ChannelShuffle(2)],
    "CircularPad1d": [lambda L: L.nn.CircularPad1d(1)],
    "CircularPad2d": [lambda L: L.nn.CircularPad2d((1, 0, 2, 1))],
    "CircularPad3d": [lambda L: L.nn.CircularPad3d(2)],
    "ConstantPad1d": [lambda L: L.nn.ConstantPad1d(1, 2)],
    "ConstantPad2d": [lambda L: L.nn.ConstantPad2d((1, 0, 2, 1), 0.5)],
    "ConstantPad3d": [lambda L: L.nn.ConstantPad3d(2, -1.0)],
    "Conv1d": [lambda L: L.nn.Conv1d(2, 4, 3),
               lambda L: L.nn.Conv1d(2, 4, 3, 2, 1, 2, 2, False, "circular")],
    "Conv2d": [lambda L: L.nn.Conv2d(2, 4, 3),
               lambda L: L.nn.Conv2d(2, 4, (3, 2), padding="same", dilation=(2, 1)),
               lambda L: L.nn.Conv2d(2, 4, 3, padding_mode="reflect", padding=1)],
    "Conv3d": [lambda L: L.nn.Conv3d(2, 4, 3), lambda L: L.nn.Conv3d(2, 4, 3, stride=(1, 2, 1))],
    "ConvTranspose1d": [lambda L: L.nn.ConvTranspose1d(2, 4, 3),
                        lambda L: L.nn.ConvTranspose1d(2, 4, 3, 2, 1, 1, bias=False)],
    "ConvTranspose2d": [lambda L: L.nn.ConvTranspose2d(2, 4, 3),
                        lambda L: L.nn.ConvTranspose2d(2, 4, 3, groups=2, dilation=2)],
    "ConvTranspose3d": [lambda L: L.nn.ConvTranspose3d(2, 4, 3)],
    "CosineEmbeddingLoss": [lambda L: L.nn.CosineEmbeddingLoss(),
                            lambda L: L.nn.CosineEmbeddingLoss(0.5)],
    "CosineSimilarity": [lambda L: L.nn.CosineSimilarity(), lambda L: L.nn.CosineSimilarity(0)],
    "CrossMapLRN2d": [lambda L: L.nn.CrossMapLRN2d(3),
                      lambda L: L.nn.CrossMapLRN2d(5, 1e-3, 0.5, 2)],
    "CrossEntropyLoss": [lambda L: L.nn.CrossEntropyLoss(),
                         lambda L: L.nn.CrossEntropyLoss(label_smoothing=0.1)],
    "Dropout": [lambda L: L.nn.Dropout(), lambda L: L.nn.Dropout(0.2, True)],
    "Dropout1d": [lambda L: L.nn.Dropout1d()],
    "Dropout2d": [lambda L: L.nn.Dropout2d(0.1)],
    "Dropout3d": [lambda L: L.nn.Dropout3d(inplace=True)],
    "ELU": [lambda L: L.nn.ELU(), lambda L: L.nn.ELU(0.5, True)],
    "Embedding": [lambda L: L.nn.Embedding(5, 3),
                  lambda L: L.nn.Embedding(5, 3, padding_idx=1, max_norm=1.0,
                                           scale_grad_by_freq=True, sparse=True)],
    "EmbeddingBag": [lambda L: L.nn.EmbeddingBag(5, 3),
                     lambda L: L.nn.EmbeddingBag(5, 3, mode="max", padding_idx=0)],
    "FeatureAlphaDropout": [lambda L: L.nn.FeatureAlphaDropout(),
                            lambda L: L.nn.FeatureAlphaDropout(0.2, True)],
    "Flatten": [lambda L: L.nn.Flatten(), lambda L: L.nn.Flatten(0, 2)],
    "Fold": [lambda L: L.nn.Fold((4, 5), 2), lambda L: L.nn.Fold(4, (2, 3), 2, 1, 2)],
    "FractionalMaxPool2d": [lambda L: L.nn.FractionalMaxPool2d(2, output_size=3),
                            lambda L: L.nn.FractionalMaxPool2d((2, 3), output_ratio=0.5,
                                                               return_indices=True)],
    "FractionalMaxPool3d": [lambda L: L.nn.FractionalMaxPool3d(2, output_size=(3, 2, 3)),
                            lambda L: L.nn.FractionalMaxPool3d(2, output_ratio=(0.5, 0.6, 0.7))],
    "GELU": [lambda L: L.nn.GELU(), lambda L: L.nn.GELU("tanh")],
    "GLU": [lambda L: L.nn.GLU(), lambda L: L.nn.GLU(1)],
    "GRU": [lambda L: L.nn.GRU(3, 4),
            lambda L: L.nn.GRU(3, 4, 2, batch_first=True, bidirectional=True, dropout=0.1)],
    "GRUCell": [lambda L: L.nn.GRUCell(3, 4), lambda L: L.nn.GRUCell(3, 4, bias=False)],
    "GaussianNLLLoss": [lambda L: L.nn.GaussianNLLLoss(), lambda L: L.nn.GaussianNLLLoss(full=True)],
    "GroupNorm": [lambda L: L.nn.GroupNorm(2, 4), lambda L: L.nn.GroupNorm(2, 4, 1e-3, False)],
    "Hardshrink": [lambda L: L.nn.Hardshrink(), lambda L: L.nn.Hardshrink(0.3)],
    "Hardsigmoid": [lambda L: L.nn.Hardsigmoid(), lambda L: L.nn.Hardsigmoid(True)],
    "Hardswish": [lambda L: L.nn.Hardswish(), lambda L: L.nn.Hardswish(True)],
    "Hardtanh": [lambda L: L.nn.Hardtanh(), lambda L: L.nn.Hardtanh(-2.0, 3.0, True)],
    "HingeEmbeddingLoss": [lambda L: L.nn.HingeEmbeddingLoss()],
    "HuberLoss": [lambda L: L.nn.HuberLoss(), lambda L: L.nn.HuberLoss(delta=0.5)],
    "Identity": [lambda L: L.nn.Identity(), lambda L: L.nn.Identity(3, a=1)],
    "InstanceNorm1d": [lambda L: L.nn.InstanceNorm1d(4),
                       lambda L: L.nn.InstanceNorm1d(4, affine=True, track_running_stats=True)],
    "InstanceNorm2d": [lambda L: L.nn.InstanceNorm2d(4)],
    "InstanceNorm3d": [lambda L: L.nn.InstanceNorm3d(4, momentum=0.3)],
    "KLDivLoss": [lambda L: L.nn.KLDivLoss(), lambda L: L.nn.KLDivLoss(log_target=True)],
    "L1Loss": [lambda L: L.nn.L1Loss()],
    "LPPool1d": [lambda L: L.nn.LPPool1d(2, 3), lambda L: L.nn.LPPool1d(1.5, 3, 2, True)],
    "LPPool2d": [lambda L: L.nn.LPPool2d(2, (2, 3))],
    "LPPool3d": [lambda L: L.nn.LPPool3d(2, 2), lambda L: L.nn.LPPool3d(1.5, (2, 3, 2), 1, True)],
    "LinearCrossEntropyLoss": [
        lambda L: L.nn.LinearCrossEntropyLoss(3, 4),
        lambda L: L.nn.LinearCrossEntropyLoss(3, 4, out_features=(2,), bias=True,
                                              reduction="sum", ignore_index=1,
                                              options=L.nn.LinearCrossEntropyOptions())],
    "LSTM": [lambda L: L.nn.LSTM(3, 4), lambda L: L.nn.LSTM(3, 4, proj_size=2, bias=False)],
    "LSTMCell": [lambda L: L.nn.LSTMCell(3, 4)],
    "LayerNorm": [lambda L: L.nn.LayerNorm(4),
                  lambda L: L.nn.LayerNorm((3, 4), 1e-3, elementwise_affine=False)],
    "LeakyReLU": [lambda L: L.nn.LeakyReLU(), lambda L: L.nn.LeakyReLU(0.2, True)],
    "Linear": [lambda L: L.nn.Linear(2, 3), lambda L: L.nn.Linear(2, 3, False)],
    "LocalResponseNorm": [lambda L: L.nn.LocalResponseNorm(2),
                          lambda L: L.nn.LocalResponseNorm(3, 1e-3, 0.5, 2.0)],
    "LogSigmoid": [lambda L: L.nn.LogSigmoid()],
    "LogSoftmax": [lambda L: L.nn.LogSoftmax(), lambda L: L.nn.LogSoftmax(1)],
    "MSELoss": [lambda L: L.nn.MSELoss(), lambda L: L.nn.MSELoss(reduction="none")],
    "MarginRankingLoss": [lambda L: L.nn.MarginRankingLoss()],
    "MaxPool1d": [lambda L: L.nn.MaxPool1d(3),
                  lambda L: L.nn.MaxPool1d(3, 2, 1, 2, return_indices=True, ceil_mode=True)],
    "MaxPool2d": [lambda L: L.nn.MaxPool2d(2), lambda L: L.nn.MaxPool2d((2, 3), (1, 2))],
    "MaxPool3d": [lambda L: L.nn.MaxPool3d(2)],
    "MaxUnpool1d": [lambda L: L.nn.MaxUnpool1d(2), lambda L: L.nn.MaxUnpool1d(3, 2, 1)],
    "MaxUnpool2d": [lambda L: L.nn.MaxUnpool2d(2)],
    "MaxUnpool3d": [lambda L: L.nn.MaxUnpool3d((2, 2, 1))],
    "Mish": [lambda L: L.nn.Mish()],
    "Module": [lambda L: L.nn.Module()],
    "ModuleDict": [lambda L: L.nn.ModuleDict(),
                   lambda L: L.nn.ModuleDict({"a": L.nn.ReLU(), "b": L.nn.Linear(2, 2)})],
    "ModuleList": [lambda L: L.nn.ModuleList(),
                   lambda L: L.nn.ModuleList([L.nn.ReLU(), L.nn.ReLU(), L.nn.Tanh()])],
    "MultiLabelMarginLoss": [lambda L: L.nn.MultiLabelMarginLoss()],
    "MultiLabelSoftMarginLoss": [lambda L: L.nn.MultiLabelSoftMarginLoss()],
    "MultiMarginLoss": [lambda L: L.nn.MultiMarginLoss(), lambda L: L.nn.MultiMarginLoss(2)],
    "MultiheadAttention": [lambda L: L.nn.MultiheadAttention(4, 2),
                           lambda L: L.nn.MultiheadAttention(4, 2, 0.1, False, True, True, 3, 5,
                                                             True)],
    "NLLLoss": [lambda L: L.nn.NLLLoss()],
    "PReLU": [lambda L: L.nn.PReLU(), lambda L: L.nn.PReLU(3, 0.1)],
    "PairwiseDistance": [lambda L: L.nn.PairwiseDistance(),
                         lambda L: L.nn.PairwiseDistance(1, 1e-3, True)],
    "ParameterDict": [lambda L: L.nn.ParameterDict(),
                      lambda L: L.nn.ParameterDict({"w": L.nn.Parameter(L.ones(2, 3))})],
    "ParameterList": [lambda L: L.nn.ParameterList(),
                      lambda L: L.nn.ParameterList([L.nn.Parameter(L.ones(2, 3))])],
    "PixelShuffle": [lambda L: L.nn.PixelShuffle(2)],
    "PixelUnshuffle": [lambda L: L.nn.PixelUnshuffle(3)],
    "PoissonNLLLoss": [lambda L: L.nn.PoissonNLLLoss()],
    "RMSNorm": [lambda L: L.nn.RMSNorm(4), lambda L: L.nn.RMSNorm([2, 4], eps=1e-3)],
    "RNN": [lambda L: L.nn.RNN(3, 4), lambda L: L.nn.RNN(3, 4, 2, "relu", batch_first=True)],
    "RNNBase": [lambda L: L.nn.RNNBase("LSTM", 3, 4)],
    "RNNCell": [lambda L: L.nn.RNNCell(3, 4), lambda L: L.nn.RNNCell(3, 4, nonlinearity="relu")],
    "RReLU": [lambda L: L.nn.RReLU(), lambda L: L.nn.RReLU(0.1, 0.2, True)],
    "ReLU": [lambda L: L.nn.ReLU(), lambda L: L.nn.ReLU(True)],
    "ReLU6": [lambda L: L.nn.ReLU6(), lambda L: L.nn.ReLU6(True)],
    "ReflectionPad1d": [lambda L: L.nn.ReflectionPad1d(2)],
    "ReflectionPad2d": [lambda L: L.nn.ReflectionPad2d((1, 2, 0, 1))],
    "ReflectionPad3d": [lambda L: L.nn.ReflectionPad3d(1)],
    "ReplicationPad1d": [lambda L: L.nn.ReplicationPad1d((1, 2))],
    "ReplicationPad2d": [lambda L: L.nn.ReplicationPad2d(2)],
    "ReplicationPad3d": [lambda L: L.nn.ReplicationPad3d(1)],
    "SELU": [lambda L: L.nn.SELU(), lambda L: L.nn.SELU(True)],
    "Sequential": [lambda L: L.nn.Sequential(),
                   lambda L: L.nn.Sequential(L.nn.Linear(2, 3), L.nn.Sequential(L.nn.ReLU()))],
    "SiLU": [lambda L: L.nn.SiLU()],
    "Sigmoid": [lambda L: L.nn.Sigmoid()],
    "SmoothL1Loss": [lambda L: L.nn.SmoothL1Loss(), lambda L: L.nn.SmoothL1Loss(beta=0.5)],
    "SoftMarginLoss": [lambda L: L.nn.SoftMarginLoss()],
    "Softmax": [lambda L: L.nn.Softmax(), lambda L: L.nn.Softmax(-1)],
    "Softmax2d": [lambda L: L.nn.Softmax2d()],
    "Softmin": [lambda L: L.nn.Softmin(), lambda L: L.nn.Softmin(1)],
    "Softplus": [lambda L: L.nn.Softplus(), lambda L: L.nn.Softplus(2, 10)],
    "Softshrink": [lambda L: L.nn.Softshrink(), lambda L: L.nn.Softshrink(0.1)],
    "Softsign": [lambda L: L.nn.Softsign()],
    "Tanh": [lambda L: L.nn.Tanh()],
    "Tanhshrink": [lambda L: L.nn.Tanhshrink()],
    "Threshold": [lambda L: L.nn.Threshold(0.1, 20), lambda L: L.nn.Threshold(0.1, 2.0, True)],
    "Transformer": [lambda L: L.nn.Transformer(8, 2, 1, 1, 16),
                    lambda L: L.nn.Transformer(8, 2, 2, 1, 16, 0.0, "gelu", batch_first=True,
                                               norm_first=True, bias=False)],
    "TransformerDecoder": [lambda L: L.nn.TransformerDecoder(
        L.nn.TransformerDecoderLayer(8, 2, 16), 2, L.nn.LayerNorm(8))],
    "TransformerDecoderLayer": [lambda L: L.nn.TransformerDecoderLayer(8, 2),
                                lambda L: L.nn.TransformerDecoderLayer(8, 2, 16, 0.2, "gelu",
                                                                       1e-3, True, True)],
    "TransformerEncoder": [lambda L: L.nn.TransformerEncoder(
        L.nn.TransformerEncoderLayer(8, 2, 16), 2)],
    "TransformerEncoderLayer": [lambda L: L.nn.TransformerEncoderLayer(8, 2),
                                lambda L: L.nn.TransformerEncoderLayer(8, 2, 16, 0.0,
                                                                       L.nn.functional.gelu,
                                                                       bias=False)],
    "TripletMarginLoss": [lambda L: L.nn.TripletMarginLoss(),
                          lambda L: L.nn.TripletMarginLoss(0.5, 1, swap=True)],
    "TripletMarginWithDistanceLoss": [
        lambda L: L.nn.TripletMarginWithDistanceLoss(),
        lambda L: L.nn.TripletMarginWithDistanceLoss(distance_function=L.nn.PairwiseDistance(1),
                                                     margin=0.5)],
    "Unflatten": [lambda L: L.nn.Unflatten(1, (2, 3))],
    "Unfold": [lambda L: L.nn.Unfold(2), lambda L: L.nn.Unfold((2, 3), 2, 1, 2)],
    "Upsample": [lambda L: L.nn.Upsample(), lambda L: L.nn.Upsample(scale_factor=2),
                 lambda L: L.nn.Upsample((3, 4), mode="bilinear", align_corners=True),
                 lambda L: L.nn.Upsample(scale_factor=(2, 3), mode="nearest-exact")],
    "UpsamplingBilinear2d": [lambda L: L.nn.UpsamplingBilinear2d(scale_factor=2)],
    "UpsamplingNearest2d": [lambda L: L.nn.UpsamplingNearest2d(size=4)],
    "ZeroPad1d": [lambda L: L.nn.ZeroPad1d(1)],
    "ZeroPad2d": [lambda L: L.nn.ZeroPad2d((1, 0, 2, 1))],
    "ZeroPad3d": [lambda L: L.nn.ZeroPad3d(2)],
}


def ember_module_classes():
    return sorted(n for n in dir(ember.nn) if inspect.isclass(getattr(ember.nn, n))
                  and issubclass(getattr(ember.nn, n), ember.nn.Module))


def test_table_covers_every_class():
    missing = set(ember_module_classes()) - set(REPRS)
    assert not missing, f"module classes without a repr case: {sorted(missing)}"


CASES = [(f"{name}-{i}", make) for name, makes in REPRS.items() for i, make in enumerate(makes)]


@pytest.mark.parametrize("name,make", CASES, ids=[c[0] for c in CASES])
def test_repr(name, make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t, e = make(torch), make(ember)
    # torch's modules are on the CPU; ember's on the device under test
    assert repr(e).replace(", device='cuda:0'", "").replace("torch.cuda.", "torch.") == repr(t)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert list(e.state_dict()) == list(t.state_dict())


BAD_SHAPES = [
    ("Linear", lambda L: L.nn.Linear(4, 3), (2, 5)),
    ("Conv2d-channels", lambda L: L.nn.Conv2d(3, 4, 3), (1, 2, 5, 5)),
    ("Conv2d-dims", lambda L: L.nn.Conv2d(3, 4, 3), (3, 5)),
    ("Conv2d-small", lambda L: L.nn.Conv2d(3, 4, 3), (1, 3, 2, 2)),
    ("Conv1d-dims", lambda L: L.nn.Conv1d(3, 4, 3), (1, 1, 3, 5)),
    ("ConvTranspose2d", lambda L: L.nn.ConvTranspose2d(3, 4, 3), (1, 2, 5, 5)),
    ("BatchNorm1d", lambda L: L.nn.BatchNorm1d(4), (2, 3)),
    ("BatchNorm2d-dims", lambda L: L.nn.BatchNorm2d(4), (2, 4, 3)),
    ("BatchNorm1d-one-value", lambda L: L.nn.BatchNorm1d(4), (1, 4)),
    ("LayerNorm", lambda L: L.nn.LayerNorm(4), (2, 3)),
    ("GroupNorm", lambda L: L.nn.GroupNorm(2, 4), (2, 3, 5)),
    ("MaxPool2d", lambda L: L.nn.MaxPool2d(3), (1, 1, 2, 2)),
    ("AvgPool2d-dims", lambda L: L.nn.AvgPool2d(2), (4,)),
    ("LSTM", lambda L: L.nn.LSTM(3, 4), (5, 2, 4)),
    ("GRU-dims", lambda L: L.nn.GRU(3, 4), (5, 2, 3, 1)),
    ("RNNCell", lambda L: L.nn.RNNCell(3, 4), (2, 5)),
    ("MultiheadAttention", lambda L: L.nn.MultiheadAttention(4, 2), (5, 2, 3)),
    ("TransformerEncoderLayer", lambda L: L.nn.TransformerEncoderLayer(4, 2, 8), (5, 2, 3)),
    ("Bilinear", lambda L: L.nn.Bilinear(2, 3, 4), (5, 2)),
    ("PixelShuffle", lambda L: L.nn.PixelShuffle(2), (1, 3, 2, 2)),
    ("Unflatten", lambda L: L.nn.Unflatten(1, (2, 3)), (2, 5)),
]


def _call(make, L, x):
    m = make(L)
    if isinstance(m, (L.nn.MultiheadAttention,)):
        return m(x, x, x)
    if isinstance(m, L.nn.Bilinear):
        return m(x, x)
    return m(x)


@pytest.mark.parametrize("name,make,shape", BAD_SHAPES, ids=[c[0] for c in BAD_SHAPES])
def test_wrong_input_shape_raises_like_torch(name, make, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    with pytest.raises(Exception) as te:
        _call(make, torch, torch.from_numpy(x))
    with pytest.raises(type(te.value)):
        _call(make, ember, ember.tensor(x))
