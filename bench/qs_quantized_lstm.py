"""The forward of a statically quantized LSTM (prepare -> calibrate -> convert, x86 qconfig)
in ember and in PyTorch, side by side, on the same weights and input: median time of
alternating runs, one BLAS thread, and the ratio ember / torch.

    python -m bench.qs_quantized_lstm [repeats] [--profile]
"""
import sys
import time
import warnings

import numpy as np
import torch
from threadpoolctl import threadpool_limits

import ember

warnings.filterwarnings("ignore")
KW = dict(input_size=32, hidden_size=64, num_layers=1)
T, N = 20, 4


def _net(m):
    class Net(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = m.ao.quantization.QuantStub()
            self.lstm = m.nn.LSTM(**KW)

        def forward(self, x):
            return self.lstm(self.quant(x))
    return Net().eval()


def models():
    torch.manual_seed(0)
    t, e = _net(torch), _net(ember)
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((T, N, KW["input_size"])).astype(np.float32)
    out = []
    for lib, m in ((torch, t), (ember, e)):
        m.qconfig = lib.ao.quantization.get_default_qconfig("x86")
        p = lib.ao.quantization.prepare(m)
        p(lib.tensor(x))
        out.append((lib.ao.quantization.convert(p), lib.tensor(x)))
    return out


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 15
    torch.set_num_threads(1)
    (tq, tx), (eq, ex) = models()
    y_t, y_e = tq(tx)[0], eq(ex)[0]
    same = np.array_equal(y_t.int_repr().numpy(), y_e.int_repr().numpy())
    if "--profile" in sys.argv:
        import cProfile
        import pstats
        with threadpool_limits(1):
            cProfile.runctx("for _ in range(5): eq(ex)", globals(), locals(), "/tmp/qs_lstm.prof")
        pstats.Stats("/tmp/qs_lstm.prof").sort_stats("tottime").print_stats(25)
        return
    times = {"torch": [], "ember": []}
    with threadpool_limits(1):
        for _ in range(repeats):
            for name, m, x in (("torch", tq, tx), ("ember", eq, ex)):
                t0 = time.perf_counter()
                m(x)
                times[name].append(time.perf_counter() - t0)
    mt, me = np.median(times["torch"]), np.median(times["ember"])
    print(f"quantized LSTM {KW} T={T} N={N}: torch {mt * 1e3:.2f} ms, ember {me * 1e3:.2f} ms, "
          f"ratio {me / mt:.2f}x (outputs' integers equal: {same})")


if __name__ == "__main__":
    main()
