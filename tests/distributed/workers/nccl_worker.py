"""One rank on one GPU with the 'nccl' backend: every collective on CUDA tensors, and
DistributedDataParallel on CUDA against the same model trained without it. Writes a JSON
file of results (argv[1]). Started directly (world size 1, MPI singleton)."""
import copy
import json
import sys

import numpy as np

import ember
import ember.distributed as dist
from ember.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("nccl")
out = {"backend": dist.get_backend(), "rank": dist.get_rank(), "world": dist.get_world_size()}
R = dist.ReduceOp
base = np.arange(1, 7, dtype=np.float32)


def cuda(a):
    return ember.from_numpy(np.array(a)).cuda()


for dt in ("float32", "float64", "float16", "bfloat16", "int32", "int64"):
    for op in ("SUM", "AVG", "PRODUCT", "MIN", "MAX"):
        if op == "AVG" and not dt.startswith(("float", "bfloat")):
            continue
        t = cuda(base).to(getattr(ember, dt))
        dist.all_reduce(t, op=getattr(R, op))
        out[f"all_reduce_{op}_{dt}"] = [t.device.type, t.float().cpu().tolist()]
t = cuda(base)
work = dist.all_reduce(t, async_op=True)
work.wait()
out["all_reduce_async"] = t.cpu().tolist()
t = cuda(base)
dist.broadcast(t, src=0)
out["broadcast"] = t.cpu().tolist()
gathered = [ember.zeros(6, device="cuda")]
dist.all_gather(gathered, cuda(base))
out["all_gather"] = gathered[0].cpu().tolist()
dst = ember.zeros(6, device="cuda")
dist.all_gather_into_tensor(dst, cuda(base))
out["all_gather_into_tensor"] = dst.cpu().tolist()
dst = ember.zeros(6, device="cuda")
dist.reduce_scatter_tensor(dst, cuda(base))
out["reduce_scatter_tensor"] = dst.cpu().tolist()
t = cuda(base)
dist.reduce(t, dst=0)
out["reduce"] = t.cpu().tolist()
dist.barrier()
objs = [None]
dist.all_gather_object(objs, {"rank": 0})
out["all_gather_object"] = objs

# DDP on CUDA, world size 1: the same steps as the plain model
ember.manual_seed(0)
model = ember.nn.Sequential(ember.nn.Linear(8, 16), ember.nn.ReLU(), ember.nn.Linear(16, 3)).cuda()
plain = copy.deepcopy(model)
ddp = DDP(model, device_ids=[0])
opt_d = ember.optim.SGD(ddp.parameters(), lr=0.1)
opt_p = ember.optim.SGD(plain.parameters(), lr=0.1)
rng = np.random.default_rng(0)
for _ in range(3):
    x = cuda(rng.standard_normal((4, 8), dtype=np.float32))
    y = cuda(rng.integers(0, 3, 4))
    for m, opt in ((ddp, opt_d), (plain, opt_p)):
        opt.zero_grad()
        ember.nn.functional.cross_entropy(m(x), y).backward()
        opt.step()
diff = max(float((a - b).abs().max()) for a, b in zip(model.parameters(), plain.parameters()))
out["ddp_max_abs_diff"] = diff
out["ddp_param_device"] = str(next(ddp.parameters()).device)
out["ddp_keys"] = list(ddp.state_dict())[:2]
dist.destroy_process_group()
with open(sys.argv[1], "w") as f:
    json.dump(out, f)
