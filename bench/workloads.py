"""Workloads, written once against the torch API and run with `lib` = ember or torch.

Each workload is a function `setup(lib) -> step`: setup builds the model and the data
outside the timed region, `step()` runs one iteration (one training step, one epoch of
a DataLoader ...). `Workload` adds how to time it and, for the training workloads, the
floating-point work of one step (multiply-adds counted as 2 FLOPs, backward as twice the
forward), so the report can say what fraction of the machine's GEMM peak each framework
reaches.

All data is synthetic float32 from fixed seeds (NumPy's generator, identical for both
frameworks).
"""
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np


@dataclass
class Workload:
    setup: callable
    group: str                 # the row of the target table this belongs to
    min_time: float = 0.05     # seconds per timing: the iteration count is chosen to reach it
    repeats: int = 5           # timings per process; the process reports their median
    flops: float = 0.0         # FLOPs per step (training workloads), 0 when not meaningful
    direction: str = "time"    # "time": lower is better


def _data(lib, *shape, seed=0):
    rng = np.random.default_rng(seed)
    return lib.from_numpy(rng.standard_normal(shape, dtype=np.float32))


def _labels(lib, n, classes, seed=1):
    rng = np.random.default_rng(seed)
    return lib.from_numpy(rng.integers(0, classes, n))


# ---------------------------------------------------------------------------- 1. tiny ops

def _pair(lib, n, requires_grad):
    a = _data(lib, n, n, seed=0).requires_grad_(requires_grad)
    b = _data(lib, n, n, seed=1).requires_grad_(requires_grad)
    return a, b


def add_4x4(lib):
    a, b = _pair(lib, 4, False)
    return lambda: a + b


def add_4x4_grad(lib):
    a, b = _pair(lib, 4, True)
    return lambda: a + b


def matmul_4x4(lib):
    a, b = _pair(lib, 4, False)
    return lambda: a @ b


def matmul_4x4_grad(lib):
    a, b = _pair(lib, 4, True)
    return lambda: a @ b


def mul_sum_backward_4x4(lib):
    a, b = _pair(lib, 4, True)

    def step():
        (a * b).sum().backward()
    return step


# ---------------------------------------------------------------------------- GEMM peak

def gemm_1024(lib):
    """A 1024x1024 float32 matrix product: the machine's GEMM rate for this framework."""
    a, b = _data(lib, 1024, 1024, seed=0), _data(lib, 1024, 1024, seed=1)
    return lambda: a @ b


# ---------------------------------------------------------------------------- training steps

def _train_step(lib, model, opt, loss_fn, x, y):
    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    return step


def mlp_model(lib):
    """MLP 784-512-512-10 with ReLU."""
    nn = lib.nn
    lib.manual_seed(0)
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 10))


_MLP_MACS = 784 * 512 + 512 * 512 + 512 * 10


def mlp_train(lib):
    """MLP 784-512-512-10, ReLU, cross-entropy, SGD momentum 0.9, batch 128."""
    model = mlp_model(lib)
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return _train_step(lib, model, opt, lib.nn.CrossEntropyLoss(), _data(lib, 128, 784),
                       _labels(lib, 128, 10))


def cnn_model(lib):
    """conv 1->32 3x3, ReLU, conv 32->64 3x3, ReLU, maxpool 2, linear 9216->128, ReLU,
    linear 128->10 on 1x28x28."""
    nn = lib.nn
    lib.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def cnn_train(lib):
    """The CNN, batch 64, Adam."""
    model = cnn_model(lib)
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    return _train_step(lib, model, opt, lib.nn.CrossEntropyLoss(), _data(lib, 64, 1, 28, 28),
                       _labels(lib, 64, 10))


_CNN_MACS = (26 * 26 * 32 * 9) + (24 * 24 * 64 * 32 * 9) + 9216 * 128 + 128 * 10


def resnet_model(lib):
    """conv 64 + BatchNorm2d + ReLU, two basic residual blocks, adaptive average pool,
    linear 10 (on 3x32x32)."""
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(c)
            self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(c)
            self.relu = nn.ReLU()

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + x)

    lib.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64),
                         nn.ReLU(), Block(64), Block(64), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(64, 10))


_RESNET_MACS = 32 * 32 * (64 * 3 * 9 + 4 * 64 * 64 * 9) + 64 * 10


def resnet_train(lib):
    """conv 64 + BatchNorm2d + ReLU, two basic residual blocks, adaptive average pool,
    linear 10 on 3x32x32, batch 32, SGD."""
    model = resnet_model(lib)
    opt = lib.optim.SGD(model.parameters(), lr=0.01)
    return _train_step(lib, model, opt, lib.nn.CrossEntropyLoss(), _data(lib, 32, 3, 32, 32),
                       _labels(lib, 32, 10))


def lstm_model(lib):
    """LSTM input 32, hidden 128, batch_first, and a linear head on every step."""
    nn = lib.nn
    lib.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(32, 128, batch_first=True)
            self.head = nn.Linear(128, 1)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out)

    return Net()


def lstm_train(lib):
    """The LSTM over 35 steps, batch 32; MSELoss; Adam."""
    model = lstm_model(lib)
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    return _train_step(lib, model, opt, lib.nn.MSELoss(), _data(lib, 32, 35, 32),
                       _data(lib, 32, 35, 1, seed=2))


_LSTM_MACS = 35 * (4 * 128 * (32 + 128)) + 35 * 128


def transformer_model(lib):
    """TransformerEncoderLayer d_model 128, 4 heads, feed-forward 512, batch_first,
    dropout 0."""
    lib.manual_seed(0)
    return lib.nn.TransformerEncoderLayer(128, 4, dim_feedforward=512, dropout=0.0,
                                          batch_first=True)


def transformer_train(lib):
    """The encoder layer on sequences of 64, batch 16; MSELoss against a random target;
    Adam."""
    model = transformer_model(lib)
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    return _train_step(lib, model, opt, lib.nn.MSELoss(), _data(lib, 16, 64, 128),
                       _data(lib, 16, 64, 128, seed=2))


# per token: q,k,v,out projections 4*d*d, attention scores and weighted sum 2*L*d,
# feed-forward 2*d*ff
_TRANSFORMER_MACS = 64 * (4 * 128 * 128 + 2 * 64 * 128 + 2 * 128 * 512)


# ---------------------------------------------------------------------------- inference

def _mlp_inference(lib, batch):
    model = mlp_model(lib).eval()
    x = _data(lib, batch, 784)

    def step():
        with lib.no_grad():
            model(x)
    return step


def mlp_infer_b1(lib):
    return _mlp_inference(lib, 1)


def mlp_infer_b256(lib):
    return _mlp_inference(lib, 256)


# ---------------------------------------------------------------------------- optimizer step

def _many_params(lib):
    """200 parameter tensors (100 weights 256x384, 100 biases 384): ~9.9M values, with
    gradients set."""
    rng = np.random.default_rng(0)
    params = []
    for shape in [(256, 384), (384,)] * 100:
        p = lib.from_numpy(rng.standard_normal(shape, dtype=np.float32)).requires_grad_()
        p.grad = lib.from_numpy(rng.standard_normal(shape, dtype=np.float32))
        params.append(p)
    return params


def adam_step(lib):
    """Adam over 200 parameter tensors, ~10M values (gradients fixed)."""
    params = _many_params(lib)
    opt = lib.optim.Adam(params, lr=1e-3)
    return opt.step


def sgd_momentum_step(lib):
    """SGD with momentum 0.9 over the same parameters."""
    params = _many_params(lib)
    opt = lib.optim.SGD(params, lr=1e-3, momentum=0.9)
    return opt.step


# ---------------------------------------------------------------------------- DataLoader

class _SlowDataset:
    """256 samples of 3x32x32 float32 and an int label; __getitem__ takes ~1 ms (sleep),
    like decoding a file."""

    def __init__(self, n=256):
        self.n = n
        self.images = np.random.default_rng(0).standard_normal((n, 3, 32, 32), dtype=np.float32)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        time.sleep(0.001)
        return self.images[i], int(i % 10)


def _loader_epoch(lib, workers):
    from importlib import import_module
    data = import_module(lib.__name__ + ".utils.data")
    loader = data.DataLoader(_SlowDataset(), batch_size=32, num_workers=workers)

    def step():
        for _x, _y in loader:
            pass
    return step


def dataloader_w0(lib):
    """One epoch (256 samples, batch 32) with the data loaded in the main process."""
    return _loader_epoch(lib, 0)


def dataloader_w2(lib):
    """The same epoch with 2 worker processes (started anew each epoch)."""
    return _loader_epoch(lib, 2)


# ---------------------------------------------------------------------------- checkpoints

def _state_dict_100mb(lib):
    rng = np.random.default_rng(0)
    return {f"layer{i}.weight": lib.from_numpy(rng.standard_normal((1024, 1024),
                                                                   dtype=np.float32))
            for i in range(25)}   # 25 * 4 MiB = 100 MiB


def checkpoint_save(lib):
    """lib.save of a 100 MiB state dict to a temporary file."""
    sd = _state_dict_100mb(lib)
    path = os.path.join(tempfile.mkdtemp(prefix="bench_"), "ckpt.pt")
    return lambda: lib.save(sd, path)


def checkpoint_load(lib):
    """lib.load of that file (weights_only=True, the default)."""
    sd = _state_dict_100mb(lib)
    path = os.path.join(tempfile.mkdtemp(prefix="bench_"), "ckpt.pt")
    lib.save(sd, path)
    return lambda: lib.load(path)


# ---------------------------------------------------------------------------- import

def import_time(lib):
    """`import <lib>` in a fresh interpreter, minus the interpreter's own start-up
    (`python -c pass`), so the figure is the import alone.

    Both packages import from compiled bytecode, as after `pip install`: torch's wheel
    install wrote its `.pyc` files, while ember runs from an editable checkout and this
    environment sets PYTHONDONTWRITEBYTECODE, so ember's are compiled here first (into the
    git-ignored `__pycache__` folders); without them every import recompiles ember's
    sources (~0.45 s on this machine)."""
    env = dict(os.environ)
    name = lib.__name__
    if name == "ember":
        import compileall
        compileall.compile_dir(os.path.dirname(lib.__file__), quiet=1)

    def run(code):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
        return time.perf_counter() - t0

    def step():
        return run(f"import {name}") - run("pass")
    step.returns_time = True
    return step


# ---------------------------------------------------------------------------- 7. on a CUDA GPU
# The training models above, on the GPU with larger batches (the CPU ones would time
# kernel launches alone); each step ends with a synchronize so the time is the GPU's.

def _on_gpu(lib, make_model, make_opt, loss_fn, x, y):
    model = make_model(lib).to("cuda")
    opt = make_opt(lib, model)
    x, y = x.to("cuda"), y.to("cuda")
    step = _train_step(lib, model, opt, loss_fn, x, y)

    def synced():
        step()
        lib.cuda.synchronize()
    return synced


def gemm_4096_cuda(lib):
    """A 4096x4096 float32 matrix product on the GPU."""
    a, b = _data(lib, 4096, 4096, seed=0).cuda(), _data(lib, 4096, 4096, seed=1).cuda()

    def step():
        a @ b
        lib.cuda.synchronize()
    return step


def mlp_train_cuda(lib):
    """The MLP, batch 1024, SGD momentum 0.9, on the GPU."""
    return _on_gpu(lib, mlp_model, lambda L, m: L.optim.SGD(m.parameters(), lr=0.01, momentum=0.9),
                   lib.nn.CrossEntropyLoss(), _data(lib, 1024, 784), _labels(lib, 1024, 10))


def cnn_train_cuda(lib):
    """The CNN, batch 256, Adam, on the GPU."""
    return _on_gpu(lib, cnn_model, lambda L, m: L.optim.Adam(m.parameters(), lr=1e-3),
                   lib.nn.CrossEntropyLoss(), _data(lib, 256, 1, 28, 28), _labels(lib, 256, 10))


def resnet_train_cuda(lib):
    """The ResNet-style net, batch 128, SGD, on the GPU."""
    return _on_gpu(lib, resnet_model, lambda L, m: L.optim.SGD(m.parameters(), lr=0.01),
                   lib.nn.CrossEntropyLoss(), _data(lib, 128, 3, 32, 32), _labels(lib, 128, 10))


def transformer_train_cuda(lib):
    """The encoder layer, batch 64 of sequences of 128, Adam, on the GPU."""
    return _on_gpu(lib, transformer_model, lambda L, m: L.optim.Adam(m.parameters(), lr=1e-3),
                   lib.nn.MSELoss(), _data(lib, 64, 128, 128), _data(lib, 64, 128, 128, seed=2))


WORKLOADS = {
    "add_4x4": Workload(add_4x4, "tiny-op overhead"),
    "add_4x4_grad": Workload(add_4x4_grad, "tiny-op overhead"),
    "matmul_4x4": Workload(matmul_4x4, "tiny-op overhead"),
    "matmul_4x4_grad": Workload(matmul_4x4_grad, "tiny-op overhead"),
    "mul_sum_backward_4x4": Workload(mul_sum_backward_4x4, "tiny forward+backward"),
    "gemm_1024": Workload(gemm_1024, "GEMM peak", min_time=0.2, flops=2 * 1024 ** 3),
    "mlp_train": Workload(mlp_train, "MLP training step", min_time=0.3,
                          flops=3 * 2 * 128 * _MLP_MACS),
    "cnn_train": Workload(cnn_train, "CNN training step", min_time=0.5, repeats=3,
                          flops=3 * 2 * 64 * _CNN_MACS),
    "resnet_train": Workload(resnet_train, "ResNet-style training step", min_time=0.5,
                             repeats=3, flops=3 * 2 * 32 * _RESNET_MACS),
    "lstm_train": Workload(lstm_train, "LSTM training step", min_time=0.5, repeats=3,
                           flops=3 * 2 * 32 * _LSTM_MACS),
    "transformer_train": Workload(transformer_train, "Transformer encoder training step",
                                  min_time=0.5, repeats=3,
                                  flops=3 * 2 * 16 * _TRANSFORMER_MACS),
    "mlp_infer_b1": Workload(mlp_infer_b1, "MLP inference batch 1"),
    "mlp_infer_b256": Workload(mlp_infer_b256, "MLP inference batch 256", min_time=0.2),
    "adam_step": Workload(adam_step, "optimizer step", min_time=0.3, repeats=3),
    "sgd_momentum_step": Workload(sgd_momentum_step, "optimizer step", min_time=0.3, repeats=3),
    "dataloader_w0": Workload(dataloader_w0, "DataLoader, 0 workers", min_time=0, repeats=3),
    "dataloader_w2": Workload(dataloader_w2, "DataLoader, 2 workers", min_time=0, repeats=3),
    "checkpoint_save": Workload(checkpoint_save, "checkpoint save/load", min_time=0, repeats=3),
    "checkpoint_load": Workload(checkpoint_load, "checkpoint save/load", min_time=0, repeats=3),
    "import_time": Workload(import_time, "import time", min_time=0, repeats=3),
    "gemm_4096_cuda": Workload(gemm_4096_cuda, "GPU GEMM peak", min_time=0.2,
                               flops=2 * 4096 ** 3),
    "mlp_train_cuda": Workload(mlp_train_cuda, "GPU MLP training step", min_time=0.3,
                               flops=3 * 2 * 1024 * _MLP_MACS),
    "cnn_train_cuda": Workload(cnn_train_cuda, "GPU CNN training step", min_time=0.3,
                               flops=3 * 2 * 256 * _CNN_MACS),
    "resnet_train_cuda": Workload(resnet_train_cuda, "GPU ResNet-style training step",
                                  min_time=0.3, flops=3 * 2 * 128 * _RESNET_MACS),
    "transformer_train_cuda": Workload(transformer_train_cuda, "GPU Transformer training step",
                                       min_time=0.3, flops=3 * 2 * 64 * 128 * (4 * 128 * 128 + 2 * 128 * 128 + 2 * 128 * 512)),
}
