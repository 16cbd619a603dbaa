"""ember.distributed: data-parallel training across processes and machines (torch.distributed).

Ranks are started by an MPI launcher, ``python -m ember.distributed.run --nproc-per-node N
script.py`` (torchrun's interface) or plain ``mpirun -n N python script.py``. Backends:
``'mpi'`` (CPU tensors, through mpi4py: ``pip install 'ember[mpi]'``; ``'gloo'`` is accepted
and runs on MPI) and ``'nccl'`` (CUDA tensors, through CuPy's NCCL bindings). Ranks started
without MPI (``ember.multiprocessing.spawn``, by hand) connect over TCP instead
(``backend_tcp``) when MASTER_ADDR/MASTER_PORT, a tcp:// or file:// init_method or a store
say where to meet.
``ember.nn.parallel.DistributedDataParallel`` builds on the collectives here. The key-value
stores (``TCPStore``, ``FileStore``, ``HashStore``, ``PrefixStore``) are in ``store.py``.
"""
from .process_group import *  # noqa: F401,F403
from .process_group import __all__ as _pg_all
from .collectives import *  # noqa: F401,F403
from .collectives import __all__ as _collectives_all
from .store import *  # noqa: F401,F403
from .store import __all__ as _store_all

__all__ = list(_pg_all) + list(_collectives_all) + list(_store_all)
