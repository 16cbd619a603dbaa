"""Static quantized Conv2d and Linear layers (eager prepare -> calibrate -> convert, x86
qconfig) in ember and in PyTorch, side by side, on the same weights and input: median time
of alternating runs, one BLAS thread, the ratio ember / torch, and whether the output
integers are equal.

    python -m bench.qk_quantized_layers [repeats]
"""
import sys
import time
import warnings

import numpy as np
import torch
from threadpoolctl import threadpool_limits

import ember

warnings.filterwarnings("ignore")

CASES = {
    "conv3x3 16->32, 2x16x32x32": (lambda m: m.nn.Conv2d(16, 32, 3, padding=1), (2, 16, 32, 32)),
    "conv1x1 64->64, 1x64x28x28": (lambda m: m.nn.Conv2d(64, 64, 1), (1, 64, 28, 28)),
    "linear 256->256, 64x256": (lambda m: m.nn.Linear(256, 256), (64, 256)),
}


def _net(m, layer):
    class Net(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = m.ao.quantization.QuantStub()
            self.layer = layer(m)
            self.dequant = m.ao.quantization.DeQuantStub()

        def forward(self, x):
            return self.dequant(self.layer(self.quant(x)))
    return Net().eval()


def models(layer, shape):
    torch.manual_seed(0)
    t, e = _net(torch, layer), _net(ember, layer)
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    out = []
    for lib, m in ((torch, t), (ember, e)):
        m.qconfig = lib.ao.quantization.get_default_qconfig("x86")
        p = lib.ao.quantization.prepare(m)
        p(lib.tensor(x))
        q = lib.ao.quantization.convert(p)
        out.append((q.layer, q.quant(lib.tensor(x))))
    return out


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 15
    torch.set_num_threads(1)
    for name, (layer, shape) in CASES.items():
        (tq, tx), (eq, ex) = models(layer, shape)
        same = np.array_equal(tq(tx).int_repr().numpy(), eq(ex).int_repr().numpy())
        times = {"torch": [], "ember": []}
        with threadpool_limits(1):
            for _ in range(repeats):
                for lib, m, x in (("torch", tq, tx), ("ember", eq, ex)):
                    t0 = time.perf_counter()
                    m(x)
                    times[lib].append(time.perf_counter() - t0)
        mt, me = np.median(times["torch"]), np.median(times["ember"])
        print(f"quantized {name}: torch {mt * 1e3:.3f} ms, ember {me * 1e3:.3f} ms, "
              f"ratio {me / mt:.2f}x (integers equal: {same})")


if __name__ == "__main__":
    main()
