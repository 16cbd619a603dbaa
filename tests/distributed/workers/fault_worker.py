"""Rank 1 fails (argv[1]: raise | kill | exit | hang) while rank 0 waits in all_reduce."""
import datetime
import os
import sys
import time

import ember as torch
import ember.distributed as dist

mode = sys.argv[1]
dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=3))
if dist.get_rank() == 1:
    time.sleep(0.2)
    if mode == "raise":
        raise ValueError("rank 1 fails on purpose")
    if mode == "kill":
        os.kill(os.getpid(), 9)
    if mode == "exit":
        sys.exit(7)
    if mode == "hang":
        time.sleep(60)
t = torch.ones(3)
dist.all_reduce(t)
print("finished", dist.get_rank())
