"""One of three processes sharing a TCPStore and a FileStore: on each, counters, a
compare_set election, barriers.

usage: store_worker.py RANK FILE_STORE_PATH
Rank 0 is the TCPStore's master: it listens on a free port, which the others read from
the FileStore.
The last line printed is the JSON result; rank 0 then waits for a line on stdin before
it exits (and its TCPStore server stops). Each process exits with threads still blocked
in a get on the stores: that must not hang the exit.
"""
import datetime
import json
import sys
import threading

import ember.distributed as dist

rank, path = int(sys.argv[1]), sys.argv[2]
timeout = datetime.timedelta(seconds=15)


def exercise(store):
    arrival = store.add("arrived", 1)
    store.set(f"rank{rank}", str(10 * rank))
    if arrival == 3:                       # the last to arrive opens the gate
        store.set("gate", "open")
    store.wait(["gate"])
    values = store.multi_get(["rank0", "rank1", "rank2"])
    leader = store.compare_set("leader", "", str(rank))   # the first caller wins
    for _ in range(50):
        store.add("count", 1)
    store.barrier("after-count", 3)
    count = int(store.get("count"))
    store.append("log", f"{rank};")
    store.barrier("after-log", 3)
    log = sorted(store.get("log").decode().split(";")[:-1])
    blocked = store.clone()
    blocked.set_timeout(datetime.timedelta(0))   # no time limit
    threading.Thread(target=blocked.get, args=("never",), daemon=True).start()
    return {"arrival": arrival, "values": [v.decode() for v in values],
            "leader": leader.decode(), "count": count, "log": log}


files = dist.FileStore(path, 3)
files.set_timeout(timeout)
if rank == 0:   # the master takes a free port and tells the others through the FileStore
    tcp = dist.TCPStore("127.0.0.1", 0, 3, True, timeout, wait_for_workers=False)
    files.set("tcp_port", str(tcp.port))
else:
    tcp = dist.TCPStore("127.0.0.1", int(files.get("tcp_port")), 3, False, timeout)
result = {"tcp": exercise(tcp), "file": exercise(files)}
print(json.dumps(result), flush=True)
if rank == 0:   # the master serves until the test, seeing the others done, says "exit"
    sys.stdin.readline()
