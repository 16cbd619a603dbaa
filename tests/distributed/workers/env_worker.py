"""Prints the rank's torchrun variables and what the process group says (one line)."""
import os

import ember as torch
import ember.distributed as dist

dist.init_process_group()
t = torch.tensor([1.0])
dist.all_reduce(t)
print("rank-info", os.environ.get("RANK"), os.environ.get("LOCAL_RANK"),
      os.environ.get("WORLD_SIZE"), os.environ.get("MASTER_ADDR"), os.environ.get("MASTER_PORT"),
      dist.get_rank(), dist.get_world_size(), int(t.item()), flush=True)
dist.destroy_process_group()
