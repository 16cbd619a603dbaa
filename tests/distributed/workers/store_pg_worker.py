"""init_process_group(store=FileStore, rank=, world_size=): the ranks meet in the store and
run a collective on MPI (one line per rank)."""
import os
import sys

import ember as torch
import ember.distributed as dist

rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
store = dist.FileStore(sys.argv[1], world_size)
dist.init_process_group("gloo", store=store, rank=rank, world_size=world_size)
t = torch.tensor([float(rank + 1)])
dist.all_reduce(t)
store.add("joined", 1)
store.barrier("all-joined", world_size)
print("store-pg", dist.get_rank(), dist.get_world_size(), t.item(), store.get("joined"),
      flush=True)
dist.destroy_process_group()
