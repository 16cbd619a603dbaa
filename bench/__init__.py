"""The benchmark suite: the same workloads timed on ember and on PyTorch.

    python -m bench                 # every workload, table of both times and the ratio
    python -m bench --only add      # workloads whose name contains "add"
    python -m bench --json out.json
"""
