"""Two "machines" (network namespaces), run by tests/distributed/test_multinode.py.

Each rank all-reduces small and large tensors, takes a few DDP steps from different
starting weights, and writes what it saw as JSON to argv[1].rank<R>.json.
"""
import json
import os
import socket
import sys

import numpy as np

import ember as torch
import ember.distributed as dist
import ember.nn as nn
from ember.nn.parallel import DistributedDataParallel as DDP


def main(out_prefix):
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    small = torch.arange(8, dtype=torch.float64) + 100 * rank
    dist.all_reduce(small)
    big = torch.full((1 << 20,), float(rank + 1))            # 4 MiB: many TCP fragments
    dist.all_reduce(big)
    torch.manual_seed(100 + rank)                            # different weights per rank
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))
    ddp = DDP(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(rank)                        # different data per rank
    for _ in range(3):
        x = torch.from_numpy(rng.standard_normal((4, 6)).astype(np.float32))
        y = torch.from_numpy(rng.integers(0, 3, 4))
        nn.CrossEntropyLoss()(ddp(x), y).backward()
        opt.step()
        opt.zero_grad()
    result = {"rank": rank, "world": world, "hostname": socket.gethostname(),
              "group_rank": os.environ.get("GROUP_RANK"),
              "small": small.numpy().tolist(),
              "big_min": float(big.min().item()), "big_max": float(big.max().item()),
              "params": [p.detach().numpy().ravel().tolist() for p in model.parameters()]}
    with open(f"{out_prefix}.rank{rank}.json", "w") as f:
        json.dump(result, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
