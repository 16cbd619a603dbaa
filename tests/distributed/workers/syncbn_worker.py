"""nn.SyncBatchNorm on 2 ranks, each with half of every batch, against BatchNorm2d in one
process on the whole batch: outputs, input gradients, summed parameter gradients and
running statistics. Rank 0 writes {what: max abs difference} as JSON to argv[1]."""
import json
import sys

import numpy as np

import ember as torch
import ember.distributed as dist
import ember.nn as nn

dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
rng = np.random.default_rng(0)
weight, bias = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)


def model(cls):
    m = cls(3)
    with torch.no_grad():
        m.weight.copy_(torch.from_numpy(weight.copy()))
        m.bias.copy_(torch.from_numpy(bias.copy()))
    return m


sync, ref = model(nn.SyncBatchNorm), model(nn.BatchNorm2d)
diffs = {"out": 0.0, "input_grad": 0.0, "weight_grad": 0.0, "bias_grad": 0.0}
per = 8 // world
for step in range(2):
    full = rng.standard_normal((8, 3, 4, 4)).astype(np.float32) * 2 + 1
    cot = rng.standard_normal((8, 3, 4, 4)).astype(np.float32)
    part = slice(rank * per, (rank + 1) * per)
    for m in (sync, ref):
        m.zero_grad()
    x = torch.from_numpy(full[part].copy()).requires_grad_()
    y = sync(x)
    (y * torch.from_numpy(cot[part].copy())).sum().backward()
    xf = torch.from_numpy(full.copy()).requires_grad_()
    yf = ref(xf)
    (yf * torch.from_numpy(cot.copy())).sum().backward()
    gw, gb = sync.weight.grad.clone(), sync.bias.grad.clone()
    dist.all_reduce(gw)
    dist.all_reduce(gb)
    diffs["out"] = max(diffs["out"], float((y - yf[part]).abs().max()))
    diffs["input_grad"] = max(diffs["input_grad"], float((x.grad - xf.grad[part]).abs().max()))
    diffs["weight_grad"] = max(diffs["weight_grad"], float((gw - ref.weight.grad).abs().max()))
    diffs["bias_grad"] = max(diffs["bias_grad"], float((gb - ref.bias.grad).abs().max()))
diffs["running_mean"] = float((sync.running_mean - ref.running_mean).abs().max())
diffs["running_var"] = float((sync.running_var - ref.running_var).abs().max())
diffs["num_batches_tracked"] = int(sync.num_batches_tracked) - int(ref.num_batches_tracked)
sync.eval()
ref.eval()
x = torch.from_numpy(rng.standard_normal((2, 3, 4, 4)).astype(np.float32))
diffs["eval_out"] = float((sync(x) - ref(x)).abs().max())
everyone = [None] * world
dist.all_gather_object(everyone, diffs)
if rank == 0:
    with open(sys.argv[1], "w") as f:
        json.dump({k: max(d[k] for d in everyone) for k in diffs}, f)
dist.destroy_process_group()
