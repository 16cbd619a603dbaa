"""The worker process loop, WorkerInfo and get_worker_info()."""
import queue
import random
import sys
import traceback

import numpy as np

from . import _shm

__all__ = ["get_worker_info", "WorkerInfo"]

_worker_info = None

# control messages
class _IterableStop:
    """Sent by a worker whose iterable dataset is exhausted."""

    def __init__(self, worker_id):
        self.worker_id = worker_id


class _ResumeIteration:
    """Tells a persistent worker to start a new epoch (re-create its dataset iterator)."""

    def __init__(self, seed=None):
        self.seed = seed


class WorkerInfo:
    """What a worker knows about itself: id, num_workers, seed, dataset (its own copy)."""
    __initialized = False

    def __init__(self, **kwargs):
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs)
        self.__initialized = True

    def __setattr__(self, key, val):
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        return super().__setattr__(key, val)

    def __repr__(self):
        items = [f"{k}={getattr(self, k)}" for k in self.__keys]
        return f"{self.__class__.__name__}({', '.join(items)})"


def get_worker_info():
    """In a DataLoader worker: its WorkerInfo; in the main process: None."""
    return _worker_info


class ExceptionWrapper:
    """An exception raised in a worker, with its formatted traceback, re-raised in the main
    process as the same type."""

    def __init__(self, exc_info, where):
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        try:
            exc = self.exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        raise exc


class KeyErrorMessage(str):
    def __repr__(self):
        return self


def _seed_everything(base_seed, worker_id):
    """Seed a worker as PyTorch does: ember's generator and `random` with base_seed +
    worker_id, NumPy's global generator with four words hashed from both by NumPy's
    SeedSequence (what PyTorch's _generate_state computes)."""
    from ... import _random
    seed = base_seed + worker_id
    _random.manual_seed(seed)
    random.seed(seed)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed & 0xFFFF_FFFF, base_seed >> 32,
                                           0]).generate_state(4))


def worker_loop(dataset_kind, dataset, index_queue, data_queue, done_event, auto_collation,
                collate_fn, drop_last, base_seed, init_fn, worker_id, num_workers, main_pid,
                use_shm):
    """Fetch the batches whose indices arrive on index_queue and put them on data_queue."""
    global _worker_info
    from .dataloader import _make_fetcher
    try:
        import signal
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process handles Ctrl-C
        seed = base_seed + worker_id
        _seed_everything(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)
        init_exception = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = _make_fetcher(dataset_kind, dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            init_exception = ExceptionWrapper(sys.exc_info(), f"in DataLoader worker process "
                                                             f"{worker_id}")
        iteration_end = False
        while True:
            try:
                r = index_queue.get(timeout=1.0)
            except queue.Empty:
                if done_event.is_set():
                    break
                continue
            if isinstance(r, _ResumeIteration):
                data_queue.put((r, None))
                iteration_end = False
                if r.seed is not None:
                    _seed_everything(r.seed, worker_id)
                fetcher = _make_fetcher(dataset_kind, dataset, auto_collation, collate_fn,
                                        drop_last)
                continue
            if r is None:
                break
            if done_event.is_set() or iteration_end:
                continue
            idx, indices = r
            if init_exception is not None:
                data, init_exception = init_exception, None
            else:
                try:
                    data = fetcher.fetch(indices)
                    if use_shm:
                        data = _shm.to_shared(data, main_pid, worker_id)
                except StopIteration:
                    iteration_end = True
                    data = _IterableStop(worker_id)
                except Exception:
                    data = ExceptionWrapper(sys.exc_info(), f"in DataLoader worker process "
                                                            f"{worker_id}")
            data_queue.put((idx, data))
    except KeyboardInterrupt:
        pass
    if done_event.is_set():
        data_queue.cancel_join_thread()
        data_queue.close()
