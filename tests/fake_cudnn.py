"""A CPU fake of libcudnn (tests/fake_cudnn.c), for testing ember's ctypes cuDNN binding
under the fake CuPy (EMBER_FAKE_CUDA=1), whose device pointers are host pointers.

path() builds the library with gcc into a cache keyed by the source's hash (as
tests/cuda_emu.py caches its kernels) and returns where it lies, or None without gcc.
helpers() wraps the fake's own `fake_cudnn_*` functions, which the real library lacks:
call counts per entry point, the stream set on a handle, the last algorithm run, the
handles and descriptors still alive."""
import ctypes
import hashlib
import os
import shutil
import subprocess
import threading
from pathlib import Path

SOURCE = Path(__file__).with_name("fake_cudnn.c")
FLAGS = ("-O2", "-shared", "-fPIC", "-std=c11")
LIBS = ("-lm",)

_LOCK = threading.Lock()
_BUILT = {}   # source hash -> path of the library
_VERSIONS = {}   # compiler -> its --version


class BuildError(RuntimeError):
    """gcc rejected tests/fake_cudnn.c."""


def compiler():
    """The gcc to use, or None."""
    return shutil.which(os.environ.get("EMBER_FAKE_CUDNN_CC", "gcc"))


def path():
    """The fake libcudnn's path (str), built on first use; None where gcc is missing."""
    cc = compiler()
    if cc is None:
        return None
    source = SOURCE.read_text()
    with _LOCK:
        if cc not in _VERSIONS:
            _VERSIONS[cc] = subprocess.run([cc, "--version"], capture_output=True,
                                           text=True).stdout
        parts = (source, " ".join(FLAGS + LIBS), _VERSIONS[cc])
        key = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]
        if key not in _BUILT:
            _BUILT[key] = _build(cc, source, key)
        return _BUILT[key]


def _build(cc, source, key):
    from .cuda_emu import cached_build
    return str(cached_build(
        "ember-fake-cudnn", f"libcudnn-fake-{key}.so", source, ".c",
        lambda src, out: [cc, *FLAGS, str(src), "-o", str(out), *LIBS],
        lambda src, err: BuildError(f"gcc failed on {SOURCE}:\n{err}")))


class Helpers:
    """The fake's test helpers, on the library loaded from path() (ctypes loads a path once
    per process, so these see the same state as a binding that loads it too)."""

    def __init__(self, lib_path):
        lib = self.lib = ctypes.CDLL(lib_path)
        lib.fake_cudnn_stream.argtypes = [ctypes.c_void_p]
        lib.fake_cudnn_stream.restype = ctypes.c_void_p
        lib.fake_cudnn_calls.argtypes = [ctypes.c_char_p]
        lib.fake_cudnn_calls.restype = ctypes.c_int
        lib.fake_cudnn_last_algo.argtypes = [ctypes.c_char_p]
        lib.fake_cudnn_last_algo.restype = ctypes.c_int
        lib.fake_cudnn_live_objects.argtypes = []
        lib.fake_cudnn_live_objects.restype = ctypes.c_int
        lib.fake_cudnn_reset.argtypes = []
        lib.fake_cudnn_reset.restype = None

    def calls(self, name=None):
        """Calls of cuDNN function `name` (all of them: None) since the last reset(),
        failed ones included."""
        return self.lib.fake_cudnn_calls(None if name is None else name.encode())

    def stream(self, handle):
        """The stream (an int; 0: the default stream) last set on a live handle (an int
        or c_void_p); 0 for a handle that is not live."""
        handle = handle.value if isinstance(handle, ctypes.c_void_p) else handle
        return self.lib.fake_cudnn_stream(handle) or 0

    def last_algo(self, name):
        """The algorithm of the last successful call of 'cudnnConvolutionForward',
        'cudnnConvolutionBackwardData' or 'cudnnConvolutionBackwardFilter' since the last
        reset(), or -1."""
        return self.lib.fake_cudnn_last_algo(name.encode())

    def live_objects(self):
        """Handles and descriptors created and not yet destroyed."""
        return self.lib.fake_cudnn_live_objects()

    def reset(self):
        """Forgets the call counts and last algorithms (live objects stay live)."""
        self.lib.fake_cudnn_reset()


def helpers():
    """Helpers for the library at path(), or None where gcc is missing."""
    lib_path = path()
    return None if lib_path is None else Helpers(lib_path)
