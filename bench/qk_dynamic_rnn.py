"""The forward of dynamically quantized LSTM and GRU (quantize_dynamic, qint8 weights) in
ember and in PyTorch, side by side, on the same weights and input: median time of
alternating runs, one BLAS thread, and the ratio ember / torch; also the largest output
difference (ember's float sigmoid/tanh/exp differ from PyTorch's in the last bit, so the
outputs do; see tests/test_quant_dynamic_rnn_qk.py).

    python -m bench.qk_dynamic_rnn [repeats] [--profile]
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


def models(kind):
    torch.manual_seed(0)
    t = torch.nn.Sequential(getattr(torch.nn, kind)(**KW)).eval()
    e = ember.nn.Sequential(getattr(ember.nn, kind)(**KW)).eval()
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    tq = torch.ao.quantization.quantize_dynamic(t, {getattr(torch.nn, kind)}, torch.qint8)
    eq = ember.ao.quantization.quantize_dynamic(e, {getattr(ember.nn, kind)}, ember.qint8)
    x = np.random.default_rng(1).standard_normal((T, N, KW["input_size"])).astype(np.float32)
    return (tq, torch.tensor(x)), (eq, ember.tensor(x))


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 15
    torch.set_num_threads(1)
    for kind in ("LSTM", "GRU"):
        (tq, tx), (eq, ex) = models(kind)
        diff = np.abs(tq(tx)[0].detach().numpy() - eq(ex)[0].detach().numpy()).max()
        if "--profile" in sys.argv:
            import cProfile
            import pstats
            with threadpool_limits(1):
                cProfile.runctx("for _ in range(5): eq(ex)", globals(), locals(), "/tmp/qk.prof")
            pstats.Stats("/tmp/qk.prof").sort_stats("tottime").print_stats(15)
            continue
        times = {"torch": [], "ember": []}
        with threadpool_limits(1), torch.no_grad(), ember.no_grad():
            for _ in range(repeats):
                for name, m, x in (("torch", tq, tx), ("ember", eq, ex)):
                    t0 = time.perf_counter()
                    m(x)
                    times[name].append(time.perf_counter() - t0)
        mt, me = np.median(times["torch"]), np.median(times["ember"])
        print(f"dynamic quantized {kind} {KW} T={T} N={N}: torch {mt * 1e3:.2f} ms, "
              f"ember {me * 1e3:.2f} ms, ratio {me / mt:.2f}x (largest difference {diff:.1e})")


if __name__ == "__main__":
    main()
