"""DDP equivalence, run by tests/distributed/test_ddp.py under the launcher (2 ranks).

Each rank trains a DDP model on its half of every batch; rank 0 also trains a plain copy
on the whole batches. The DDP parameters must end equal to the plain ones (rtol 1e-5),
although every rank starts from different weights (DDP broadcasts rank 0's). Writes
{case: max relative difference} as JSON to argv[1] (rank 0).
"""
import copy
import json
import sys

import numpy as np

import ember as torch
import ember.distributed as dist
import ember.nn as nn
from ember.nn.parallel import DistributedDataParallel as DDP


def mlp():
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(),
                         nn.Linear(16, 3))


def cnn():
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 4, 3, padding=1), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


class TwoHeads(nn.Module):
    """The second head is unused: needs find_unused_parameters=True."""

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(6, 8)
        self.used = nn.Linear(8, 3)
        self.unused = nn.Linear(8, 3)

    def forward(self, x):
        return self.used(torch.relu(self.body(x)))


def batches(shape, steps, seed):
    rng = np.random.default_rng(seed)
    return [(torch.from_numpy(rng.standard_normal(shape).astype(np.float32)),
             torch.from_numpy(rng.integers(0, 3, shape[0]))) for _ in range(steps)]


def train(make, shape, steps=4, accumulate=1, find_unused=False, opt="sgd", bucket_cap_mb=None):
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(100 + rank)               # different weights on every rank
    model = make()
    reference = copy.deepcopy(model)           # rank 0's copy trained on whole batches
    ddp = DDP(model, find_unused_parameters=find_unused, bucket_cap_mb=bucket_cap_mb)
    make_opt = (lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)) if opt == "sgd" else \
        (lambda ps: torch.optim.Adam(ps, lr=0.01))
    opt_ddp, opt_ref = make_opt(ddp.parameters()), make_opt(reference.parameters())
    loss_fn = nn.CrossEntropyLoss()
    half = shape[0] // world
    data = batches(shape, steps * accumulate, seed=7)
    for step in range(steps):
        micro = data[step * accumulate:(step + 1) * accumulate]
        for i, (x, y) in enumerate(micro):
            xs, ys = x[rank * half:(rank + 1) * half], y[rank * half:(rank + 1) * half]
            last = i == len(micro) - 1
            ctx = ddp.no_sync() if not last else _nothing()
            with ctx:
                (loss_fn(ddp(xs), ys) / accumulate).backward()
            if rank == 0:
                (loss_fn(reference(x), y) / accumulate).backward()
        opt_ddp.step()
        opt_ddp.zero_grad()
        if rank == 0:
            opt_ref.step()
            opt_ref.zero_grad()
    # every rank must hold the same parameters
    gathered = [None] * world
    dist.all_gather_object(gathered, [p.detach().numpy().copy() for p in model.parameters()])
    same = all(np.array_equal(a, b) for g in gathered for a, b in zip(g, gathered[0]))
    close, diff = True, 0.0
    if rank == 0:
        for p, q in zip(model.parameters(), reference.parameters()):
            a, b = p.detach().numpy(), q.detach().numpy()
            close = close and bool(np.allclose(a, b, rtol=1e-5, atol=1e-7))
            diff = max(diff, float(np.max(np.abs(a - b))))
    keys_ok = list(ddp.state_dict()) == ["module." + k for k in model.state_dict()]
    return {"allclose": close, "max_abs_diff": diff, "ranks_equal": bool(same),
            "keys_ok": keys_ok, "buckets": len(ddp.reducer.buckets)}


def unused_without_find():
    """torch's error at the next forward when a parameter got no gradient."""
    ddp = DDP(TwoHeads())
    x = torch.randn(4, 6)
    ddp(x).sum().backward()
    try:
        ddp(x)
    except RuntimeError as e:
        return {"raised": "find_unused_parameters=True" in str(e)}
    return {"raised": False}


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def main(out_path):
    dist.init_process_group("mpi")
    results = {
        "mlp": train(mlp, (8, 6)),
        "mlp_adam_small_buckets": train(mlp, (8, 6), opt="adam", bucket_cap_mb=0.0005),
        "cnn": train(cnn, (8, 2, 8, 8), steps=3),
        "no_sync_accumulation": train(mlp, (8, 6), steps=2, accumulate=3),
        "find_unused_parameters": train(TwoHeads, (8, 6), find_unused=True),
        "unused_without_find_raises": unused_without_find(),
    }
    if dist.get_rank() == 0:
        with open(out_path, "w") as f:
            json.dump(results, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
