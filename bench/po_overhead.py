"""Per-op overhead: tiny workloads on ember and torch side by side in one process.

    python -m bench.po_overhead [--rounds 15] [--only add_4x4,mlp_step] [--clock thread|wall]
                                [--ember-from DIR]

Each workload is built once per framework; a round times a batch of calls of ember, then
of torch (the order flips every round), each batch long enough to take ~20 ms. The figure
per framework is the median over rounds of the time per call; the ratio is ember/torch.
BLAS (threadpoolctl) and torch's intra-op pool are limited to one thread, and the default
clock is the calling thread's CPU time (`time.thread_time`), which other processes on a
shared machine disturb far less than wall time (`--clock wall` for that). `--ember-from`
imports ember from another checkout (a `git archive` of an older commit) for a
before/after comparison; torch is the same in both runs, so compare the ratios.

The workloads are what small-op-heavy training loops pay per op: one tiny op with and
without a graph, a reduction, a 4x4 matmul, a Linear forward+backward, a 2-layer MLP
step with SGD, an LSTMCell step, a chain of 20 recorded ops run backward (the
engine's cost per node), four views (view, reshape, unsqueeze, t) and a chunk + cat.
"""
import argparse
import statistics
import sys
import time


def _add(lib, grad):
    a = lib.randn(4, 4, requires_grad=grad)
    b = lib.randn(4, 4, requires_grad=grad)
    return lambda: a + b


def _relu(lib):
    x = lib.randn(4, 4)
    return lambda: x.relu()


def _sum(lib):
    x = lib.randn(4, 4)
    return lambda: x.sum()


def _matmul(lib):
    a, b = lib.randn(4, 4), lib.randn(4, 4)
    return lambda: a @ b


def _linear(lib):
    lin = lib.nn.Linear(16, 16)
    x = lib.randn(8, 16)

    def step():
        lin.weight.grad = lin.bias.grad = None
        lin(x).sum().backward()
    return step


def _mlp_step(lib):
    nn = lib.nn
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    opt = lib.optim.SGD(model.parameters(), lr=0.01)
    x = lib.randn(8, 16)
    y = lib.randint(0, 4, (8,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return step


def _lstm_cell(lib):
    cell = lib.nn.LSTMCell(16, 32)
    x = lib.randn(8, 16)
    h, c = lib.zeros(8, 32), lib.zeros(8, 32)

    def step():
        cell.zero_grad()
        h1, c1 = cell(x, (h, c))
        (h1.sum() + c1.sum()).backward()
    return step


def _chain_backward(lib):
    x = lib.randn(4, 4, requires_grad=True)

    def step():
        x.grad = None
        y = x
        for _ in range(20):
            y = y * 1.01
        y.sum().backward()
    return step


def _views(lib):
    x = lib.randn(8, 16)

    def step():
        x.view(16, 8)
        x.reshape(-1)
        x.unsqueeze(1)
        x.t()
    return step


def _chunk_cat(lib):
    x = lib.randn(8, 128)
    return lambda: lib.cat(x.chunk(4, 1), 1)


WORKLOADS = {
    "add_4x4": lambda lib: _add(lib, False),
    "add_4x4_grad": lambda lib: _add(lib, True),
    "relu_4x4": _relu,
    "sum_4x4": _sum,
    "matmul_4x4": _matmul,
    "linear_fwd_bwd": _linear,
    "mlp_step": _mlp_step,
    "lstm_cell_step": _lstm_cell,
    "chain20_backward": _chain_backward,
    "views_x4": _views,
    "chunk_cat": _chunk_cat,
}


def _batch_size(fn, clock, target=0.02):
    """Calls per timed batch: enough for about `target` seconds."""
    n = 1
    while True:
        t0 = clock()
        for _ in range(n):
            fn()
        if clock() - t0 >= target / 4 or n >= 1 << 20:
            return max(1, int(n * target / max(clock() - t0, 1e-9)))
        n *= 4


def _time(fn, n, clock):
    t0 = clock()
    for _ in range(n):
        fn()
    return (clock() - t0) / n


def _fmt(s):
    return f"{s * 1e3:8.3f} ms" if s >= 1e-4 else f"{s * 1e6:8.2f} us"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--only", help="comma-separated workload names")
    p.add_argument("--clock", choices=("thread", "wall"), default="thread")
    p.add_argument("--ember-from", help="import ember from this directory")
    a = p.parse_args(argv)
    if a.ember_from:
        sys.path.insert(0, a.ember_from)
    import ember
    import torch
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
    torch.set_num_threads(1)
    ember.set_num_threads(1)
    clock = time.thread_time if a.clock == "thread" else time.perf_counter
    names = a.only.split(",") if a.only else list(WORKLOADS)
    print(f"ember from {ember.__file__}; clock {a.clock}; {a.rounds} rounds; "
          f"load average {' '.join(f'{v:.2f}' for v in _loadavg())}")
    print(f"{'workload':18s} {'ember':>11s} {'torch':>11s}  ember/torch")
    ratios = {}
    for name in names:
        ember.manual_seed(0)
        torch.manual_seed(0)
        fns = {"ember": WORKLOADS[name](ember), "torch": WORKLOADS[name](torch)}
        for fn in fns.values():
            for _ in range(20):
                fn()
        sizes = {k: _batch_size(fn, clock) for k, fn in fns.items()}
        got = {"ember": [], "torch": []}
        for r in range(a.rounds):
            for k in (("ember", "torch") if r % 2 == 0 else ("torch", "ember")):
                got[k].append(_time(fns[k], sizes[k], clock))
        med = {k: statistics.median(v) for k, v in got.items()}
        ratios[name] = med["ember"] / med["torch"]
        print(f"{name:18s} {_fmt(med['ember'])} {_fmt(med['torch'])}  {ratios[name]:.2f}")
    return ratios


def _loadavg():
    try:
        with open("/proc/loadavg") as f:
            return [float(v) for v in f.read().split()[:3]]
    except OSError:
        return []


if __name__ == "__main__":
    main()
