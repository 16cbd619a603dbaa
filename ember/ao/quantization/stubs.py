"""QuantStub / DeQuantStub / QuantWrapper (torch.ao.quantization.stubs): the places where a
model's tensors enter and leave the quantized world. In float (and after ``prepare``) they
pass their input on; ``convert`` swaps them for Quantize / DeQuantize modules."""
from ember import nn

__all__ = ["QuantStub", "DeQuantStub", "QuantWrapper"]


class QuantStub(nn.Module):
    """Identity until convert, then quantizes its input (with the observed qparams)."""

    def __init__(self, qconfig=None):
        super().__init__()
        if qconfig:
            self.qconfig = qconfig

    def forward(self, x):
        return x


class DeQuantStub(nn.Module):
    """Identity until convert, then dequantizes its input to float."""

    def __init__(self, qconfig=None):
        super().__init__()
        if qconfig:
            self.qconfig = qconfig

    def forward(self, x):
        return x


class QuantWrapper(nn.Module):
    """module between a QuantStub and a DeQuantStub: dequant(module(quant(x)))."""

    def __init__(self, module):
        super().__init__()
        qconfig = getattr(module, "qconfig", None)
        self.add_module("quant", QuantStub(qconfig))
        self.add_module("dequant", DeQuantStub(qconfig))
        self.add_module("module", module)
        self.train(module.training)

    def forward(self, X):
        X = self.quant(X)
        X = self.module(X)
        return self.dequant(X)
