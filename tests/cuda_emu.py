"""CUDA kernels on the CPU: CuPy's RawModule and ElementwiseKernel for NumPy arrays, by g++.

The CUDA C++ is compiled for the CPU (g++ -std=c++20 -O1) behind tests/cuda_emu.h, a
header that supplies the CUDA language's subset that ember's kernels use
(ember/_backend/cupy_kernels.py): __global__/__device__/__shared__, threadIdx and friends,
__syncthreads, the warp shuffles, atomicAdd, CUDA's math. A block's threads run as fibers
on the calling thread, switching at barriers and warp intrinsics; blocks run one after
another (see the header for what is and is not modelled). Libraries are cached per source
hash in a temporary directory, so each kernel is compiled once per machine.

Arrays are NumPy arrays standing for device memory (tests/fakecupy.py unwraps its arrays
into these). A raw kernel sees each array as a bare pointer to its first element, as on a
GPU; unlike CuPy, a launch here refuses a non-contiguous array (a raw kernel would read
it as contiguous), and checks each argument against the kernel's parameter: an array for
a pointer with the right element type, a scalar of the parameter's size and kind (CuPy
passes a NumPy scalar's bytes as they are, so a mismatch is a bug on a GPU too).

`available()` is False where g++ is missing or EMBER_CUDA_EMU=0.

New device memory (the outputs an ElementwiseKernel allocates here, and fakecupy's
empty/empty_like) starts as garbage(): NaN, or a large integer, never the zeros or stale
values that NumPy's allocator tends to give, so that a kernel or op reading memory it
never wrote fails every time instead of now and then (EMBER_FAKE_CUDA_POISON=0: off)."""
import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import numpy

HEADER = Path(__file__).with_name("cuda_emu.h")
FLAGS = ("-std=c++20", "-O1", "-shared", "-fPIC", "-fvisibility=hidden", "-fno-gnu-unique",
         "-w")
# one launch at a time: a library's fibers and __shared__ variables serve one launch
_LOCK = threading.Lock()
_LIBS = {}   # source hash -> loaded library


class CompileError(RuntimeError):
    """g++ rejected a kernel source."""


class LaunchError(RuntimeError):
    """A launch that would fail, hang or be undefined on a GPU (bad configuration,
    arguments that do not fit the kernel, a deadlock, a lane missing from a warp mask)."""


def cached_build(cache_name, so_name, source, suffix, command, error):
    """The path of shared library `so_name` in the per-user cache directory `cache_name`
    under the temporary directory, built there once: `source` written to a file ending in
    `suffix`, command(source file, output file) run, the output moved into place atomically
    (another process may be building the same library). A compiler failure raises
    error(source file, its stderr) and keeps the source file for a look."""
    cache = Path(tempfile.gettempdir(), f"{cache_name}-{os.getuid()}")
    cache.mkdir(exist_ok=True)
    so = cache / so_name
    if not so.exists():
        stem = f"{so_name}.{os.getpid()}.{threading.get_ident()}"
        src, tmp = cache / f"{stem}{suffix}", cache / f"{stem}.tmp.so"
        src.write_text(source)
        proc = subprocess.run(command(src, tmp), capture_output=True, text=True)
        if proc.returncode:
            raise error(src, proc.stderr)
        src.unlink()
        os.replace(tmp, so)
    return so


def compiler():
    """The g++ to use, or None."""
    return shutil.which(os.environ.get("EMBER_CUDA_EMU_CXX", "g++"))


def available():
    """Whether kernels can run: g++ found and EMBER_CUDA_EMU is not '0'."""
    return os.environ.get("EMBER_CUDA_EMU", "1") != "0" and compiler() is not None


def poisoning():
    """Whether new device memory starts as garbage() (EMBER_FAKE_CUDA_POISON is not '0')."""
    return os.environ.get("EMBER_FAKE_CUDA_POISON", "1") != "0"


_GARBAGE_BYTE = 0x5A   # integers: 0x5A5A...: large, positive, far outside any index range


def garbage(a):
    """`a` (new device memory) filled, where poisoning() is on, with what no code should
    read before writing it: NaN for floats, 0x5A5A... in every byte for integers, True for
    bools. Returns `a`."""
    if not poisoning() or a.size == 0:
        return a
    kind = a.dtype.kind
    if kind in "iu":
        a.fill(int.from_bytes(bytes([_GARBAGE_BYTE]) * a.itemsize, "little"))
    elif kind == "b":
        a.fill(True)
    else:   # floats, complex, ml_dtypes' bfloat16
        try:
            a.fill(numpy.nan)
        except (TypeError, ValueError):   # a structured or object dtype: left as it is
            pass
    return a


_VERSION = []


def _compiler_version(cxx):
    if not _VERSION:
        proc = subprocess.run([cxx, "--version"], capture_output=True, text=True)
        _VERSION.append(proc.stdout)
    return _VERSION[0]


def build(source, options=()):
    """The ctypes library of CUDA C++ `source` (with g++ `options`, e.g. -DNAME=1), compiled
    behind cuda_emu.h, or loaded from the cache."""
    cxx = compiler()
    if cxx is None:
        raise CompileError("g++ not found")
    flags = FLAGS + tuple(options)
    header = HEADER.read_text()
    key = _hash(header, " ".join(flags), _compiler_version(cxx), source)
    lib = _LIBS.get(key)
    if lib is not None:
        return lib
    def command(src, out):
        include = _precompiled(cxx, src.parent, header, flags)
        return [cxx, *flags, "-include", str(include), str(src), "-o", str(out)]
    so = cached_build("ember-cuda-emu", f"{key}.so", source, ".cpp", command,
                      lambda src, err: CompileError(f"g++ failed on a CUDA source ({src}):\n{err}"))
    lib = _LIBS[key] = ctypes.CDLL(str(so))
    lib.emu_error.restype = ctypes.c_char_p
    return lib


def _hash(*parts):
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _precompiled(cxx, cache, header, flags):
    """The header to include: a copy with its precompiled form beside it (g++ then skips
    parsing it and <cmath>, 0.45 -> 0.13 s a small kernel), or HEADER where that fails."""
    pch_flags = [f for f in flags if f != "-shared"]
    folder = cache / f"pch-{_hash(header, ' '.join(pch_flags), _compiler_version(cxx))}"
    if not (folder / "cuda_emu.h.gch").exists():
        tmp = cache / f"pch.{os.getpid()}.{threading.get_ident()}"
        tmp.mkdir(exist_ok=True)
        (tmp / "cuda_emu.h").write_text(header)
        proc = subprocess.run([cxx, *pch_flags, "-x", "c++-header", str(tmp / "cuda_emu.h"),
                               "-o", str(tmp / "cuda_emu.h.gch")], capture_output=True)
        try:
            if proc.returncode:
                return HEADER
            os.rename(tmp, folder)   # atomic; fails if another process got there first
        except OSError:
            pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return folder / "cuda_emu.h"


# ------------------------------------------------------------------ raw kernels

_NUMPY_KIND = {"f": "f", "i": "i", "u": "u", "b": "b"}   # dtype.kind -> the header's kind
_KIND_NAME = {"f": "floating", "i": "signed integer", "u": "unsigned integer", "b": "bool",
              "v": "void", "?": "other", "p": "pointer"}


def _launch_wrappers(names):
    """C++ that exports, per kernel expression (`name<float>`, or a plain name), a launcher
    and a description of its parameters, numbered as in `names`."""
    out = ['\n#line 1 "cuda_emu launch wrappers"']
    for i, name in enumerate(names):
        out.append(
            f"EMU_EXPORT int emu_launch_{i}(unsigned gx, unsigned gy, unsigned gz, unsigned bx,"
            f" unsigned by, unsigned bz, void** args) {{\n"
            f"    return emu::launch(&{name}, dim3(gx, gy, gz), dim3(bx, by, bz), args);\n}}\n"
            f"EMU_EXPORT int emu_params_{i}(char* k, int* s, char* pk, int* ps) {{\n"
            f"    return emu::params(&{name}, k, s, pk, ps);\n}}")
    return "\n".join(out) + "\n"


class Module:
    """CUDA C++ `code` whose kernels get_function() returns: `name_expressions` (as
    CuPy's RawModule takes them, e.g. 'chan_partial<float>') are built together; other
    names of extern "C" kernels are built on request. Compiles at the first get_function.
    Of `options`, only -D definitions apply (the standard is C++20 here)."""

    def __init__(self, code, options=(), name_expressions=()):
        self.code = code
        self.options = tuple(o for o in options if o.startswith(("-D", "-U")))
        self.names = tuple(name_expressions)
        self._functions = {}

    def get_function(self, name):
        fn = self._functions.get(name)
        if fn is None:
            names = self.names if name in self.names else (name,)
            lib = build(self.code + _launch_wrappers(names), self.options)
            fn = self._functions[name] = Function(lib, names.index(name), name)
        return fn


class Function:
    """A kernel: fn(grid, block, args) launches it, as CuPy's RawKernel (grid and block an
    int or a tuple of up to 3; args a tuple of arrays and scalars)."""

    def __init__(self, lib, index, name):
        self.name = name
        self._launch = getattr(lib, f"emu_launch_{index}")
        self._launch.argtypes = [ctypes.c_uint] * 6 + [ctypes.c_void_p]
        self._launch.restype = ctypes.c_int
        self._error = lib.emu_error
        kinds, pkinds = ctypes.create_string_buffer(64), ctypes.create_string_buffer(64)
        sizes, psizes = (ctypes.c_int * 64)(), (ctypes.c_int * 64)()
        n = getattr(lib, f"emu_params_{index}")(kinds, sizes, pkinds, psizes)
        if n > 64:
            raise CompileError(f"{name}: more than 64 parameters")
        self.params = [(kinds.raw[i:i + 1].decode(), sizes[i], pkinds.raw[i:i + 1].decode(),
                        psizes[i]) for i in range(n)]
        # each argument's bytes in an 8-byte slot (little-endian), and the slots' addresses
        self._slots = (ctypes.c_uint64 * max(1, n))()
        base = ctypes.addressof(self._slots)
        self._addresses = (ctypes.c_void_p * max(1, n))(*[base + 8 * i for i in range(n)])

    def __call__(self, grid, block, args, shared_mem=0, stream=None):
        grid, block = _dim3(grid, "grid"), _dim3(block, "block")
        if shared_mem:
            raise NotImplementedError("cuda_emu: dynamic shared memory")
        if len(args) != len(self.params):
            raise LaunchError(f"{self.name} takes {len(self.params)} arguments, "
                              f"{len(args)} given")
        with _LOCK:   # (the slots are the Function's)
            slots = self._slots
            for i, arg in enumerate(args):
                slots[i] = self._argument(i, arg, *self.params[i])
            if self._launch(*grid, *block, self._addresses):
                raise LaunchError(f"{self.name}: {self._error().decode()}")

    def _argument(self, i, arg, kind, size, pkind, psize):
        """Argument i's bytes as an integer (an array's data pointer), checked against its
        parameter."""
        where = f"{self.name} argument {i}"
        if type(arg) is numpy.ndarray:
            dt = arg.dtype
            if kind != "p":
                raise LaunchError(f"{where}: an array for a {size}-byte {_KIND_NAME[kind]} "
                                  f"parameter")
            if pkind != "v" and (dt.itemsize != psize or _NUMPY_KIND.get(dt.kind) != pkind):
                raise LaunchError(f"{where}: a {dt} array for a pointer to a "
                                  f"{psize}-byte {_KIND_NAME[pkind]} type")
            if not arg.flags.c_contiguous:
                raise LaunchError(f"{where}: a non-contiguous array (shape {arg.shape}, "
                                  f"strides {arg.strides}), which the kernel reads as "
                                  f"contiguous")
            return arg.__array_interface__["data"][0]
        if not isinstance(arg, numpy.generic):
            if not isinstance(arg, (bool, int, float)):
                raise TypeError(f"{where}: unsupported type {type(arg)}")
            arg = numpy.asarray(arg)[()]   # CuPy: Python scalars as bool, int64, float64
        dt = arg.dtype
        if kind == "p":
            raise LaunchError(f"{where}: a {dt} scalar for a pointer parameter")
        if dt.itemsize != size or _NUMPY_KIND.get(dt.kind) != kind:
            raise LaunchError(f"{where}: a {dt} scalar for a {size}-byte "
                              f"{_KIND_NAME[kind]} parameter")
        return int.from_bytes(arg.tobytes(), "little")


def _dim3(d, what):
    d = (d,) if isinstance(d, (int, numpy.integer)) else d
    if not 1 <= len(d) <= 3 or any(int(v) < 1 for v in d):
        raise LaunchError(f"invalid {what} {d}")
    d = tuple(int(v) for v in d) + (1,) * (3 - len(d))
    limits = (2 ** 31 - 1, 65535, 65535) if what == "grid" else (1024, 1024, 64)
    if any(v > m for v, m in zip(d, limits)) or (what == "block" and d[0] * d[1] * d[2] > 1024):
        raise LaunchError(f"invalid {what} {d}")
    return d


# ------------------------------------------------------------------ elementwise kernels

_C_TYPES = {"bool": "bool", "int8": "signed char", "int16": "short", "int32": "int",
            "int64": "long long", "uint8": "unsigned char", "uint16": "unsigned short",
            "uint32": "unsigned int", "uint64": "unsigned long long", "float32": "float",
            "float64": "double"}


class _Param:
    """One parameter of an ElementwiseKernel ('T x', 'raw T x', 'float32 y'), read as CuPy
    reads it: a one-letter type is a placeholder, any other a dtype name."""

    def __init__(self, text, is_const):
        words = text.split()
        if len(words) < 2:
            raise ValueError(f"Syntax error: {text}")
        *quals, typ, self.name = words
        self.raw, self.is_const = "raw" in quals, is_const
        if set(quals) - {"raw"}:
            raise ValueError(f"Unknown keyword in {text!r}")
        if len(typ) == 1:
            self.placeholder, self.dtype = typ, None
        else:
            self.placeholder, self.dtype = None, numpy.dtype(typ)
            if self.dtype.name != typ:
                raise ValueError(f"Wrong type {typ}")


def _parse(spec, is_const):
    return [_Param(p, is_const) for p in spec.split(",") if p.strip()]


def _ctype(dtype):
    ctype = _C_TYPES.get(numpy.dtype(dtype).name)
    if ctype is None:
        raise TypeError(f"cuda_emu: no C type for {numpy.dtype(dtype)}")
    return ctype


class ElementwiseKernel:
    """CuPy's ElementwiseKernel for NumPy arrays: k(*inputs) or k(*inputs, *outputs).

    As CuPy: type placeholders take the dtypes of the output arrays, then of the input
    arrays (a conflict raises TypeError), scalars are cast to their parameter's type and
    passed by value; the array arguments (not `raw` ones) broadcast together; missing
    outputs are allocated; the body sees `const T &g` per input, `T &x` per output and the
    element index `i`; a `raw` parameter is indexed by the body (x[j], flat C order)."""

    def __init__(self, in_params, out_params, operation, name="kernel", reduce_dims=True,
                 preamble="", no_return=False, return_tuple=False, loop_prep="",
                 after_loop="", options=()):
        self.in_params, self.out_params = _parse(in_params, True), _parse(out_params, False)
        self.params = self.in_params + self.out_params
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"Parameter names are not unique: {names}")
        self.nin, self.nout, self.nargs = len(self.in_params), len(self.out_params), len(names)
        self.operation, self.name, self.preamble = operation, name, preamble
        self.loop_prep, self.after_loop = loop_prep, after_loop
        self.no_return, self.return_tuple = no_return, return_tuple
        self.options = tuple(o for o in options if o.startswith(("-D", "-U")))
        self._built = {}

    def __call__(self, *args, size=None, block_size=None, stream=None):
        if len(args) not in (self.nin, self.nargs):
            raise TypeError(f"Wrong number of arguments for {self.name!r}")
        types = self._types(args)
        arrays = [a for p, a in zip(self.params, args)
                  if isinstance(a, numpy.ndarray) and not p.raw]
        if arrays:
            shape = numpy.broadcast_shapes(*(a.shape for a in arrays))
        elif size is not None:
            shape = (size,)
        else:
            raise ValueError("Loop size is undecided")
        outs = list(args[self.nin:])
        for p in self.out_params[len(outs):]:
            outs.append(garbage(numpy.empty(shape, dtype=types[p.placeholder] if p.placeholder
                                            else p.dtype)))
        for p, o in zip(self.out_params, outs):
            if not isinstance(o, numpy.ndarray):
                raise TypeError("Output arguments must be cupy.ndarray")
            if not p.raw and o.shape != shape:
                raise ValueError(f"Out shape is mismatched: {o.shape}, expected {shape}")
        values = list(args[:self.nin]) + outs
        pattern = tuple(isinstance(v, numpy.ndarray) for v in values)
        run = self._library(tuple(sorted(types.items())), pattern)
        run(values, types, shape)
        if self.no_return:
            return None
        return tuple(outs) if self.nout != 1 or self.return_tuple else outs[0]

    def _types(self, args):
        """placeholder -> dtype, decided by the output arrays, then the input arrays, then
        the scalars (CuPy's order)."""
        types = {}
        order = list(zip(self.out_params, args[self.nin:])) + list(zip(self.in_params, args))
        for p, a in order:
            if not isinstance(a, numpy.ndarray):
                continue
            if p.dtype is not None:
                if a.dtype != p.dtype:
                    raise TypeError(f"Type is mismatched. {p.name} {a.dtype} {p.dtype}")
            elif types.setdefault(p.placeholder, a.dtype) != a.dtype:
                raise TypeError(f"Type is mismatched. {p.name} {a.dtype} "
                                f"{types[p.placeholder]} {p.placeholder}")
        for p, a in zip(self.in_params, args):
            if p.placeholder and p.placeholder not in types:
                types[p.placeholder] = numpy.asarray(a).dtype
        for p in self.out_params:
            if p.placeholder and p.placeholder not in types:
                raise TypeError(f"Cannot determine the type of {p.name}")
        return types

    def _library(self, types, pattern):
        """The compiled loop for these placeholder types and which arguments are arrays."""
        key = (types, pattern)
        run = self._built.get(key)
        if run is None:
            lib = build(self._source(dict(types), pattern), self.options)
            run = self._built[key] = _ElementwiseRun(lib, self.params, pattern)
        return run

    def _source(self, types, pattern):
        ctype = {p.name: p.placeholder if p.placeholder else _ctype(p.dtype) for p in self.params}
        lines = [f"typedef {_ctype(dt)} {name};" for name, dt in types.items()]
        lines += [self.preamble,
                  "EMU_EXPORT void emu_elementwise(char** _emu_ptr, const long long* _emu_step,"
                  " const long long* _emu_shape, int _emu_ndim, long long _emu_n,"
                  " void** _emu_scalar, char** _emu_raw, const long long** _emu_raw_meta) {"]
        strided, n_arrays, n_scalars, n_raw = [], 0, 0, 0
        for p, is_array in zip(self.params, pattern):
            t = ctype[p.name]
            const = "const " if p.is_const else ""
            if p.raw:
                lines.append(f"    emu::CArray<{const}{t}> {p.name}(_emu_raw[{n_raw}], "
                             f"_emu_raw_meta[{n_raw}]);")
                n_raw += 1
            elif is_array:
                strided.append(f"        {const}{t} &{p.name} = *({const}{t}*)"
                               f"(_emu_ptr[{n_arrays}] + _emu_off[{n_arrays}]);")
                n_arrays += 1
            else:
                lines.append(f"    {t} {p.name} = *({t}*)_emu_scalar[{n_scalars}];")
                n_scalars += 1
        na = max(1, n_arrays)
        lines += [f"    long long _emu_off[{na}] = {{0}}, _emu_idx[32] = {{0}};",
                  self.loop_prep,
                  "    for (long long i = 0; i < _emu_n; ++i) {",
                  *strided,
                  "        {",
                  f'#line 1 "{self.name}"',
                  self.operation,
                  "        ;}",
                  "        for (int d = _emu_ndim - 1; d >= 0; --d) {",
                  f"            for (int a = 0; a < {n_arrays}; ++a) "
                  "_emu_off[a] += _emu_step[a * _emu_ndim + d];",
                  "            if (++_emu_idx[d] < _emu_shape[d]) break;",
                  f"            for (int a = 0; a < {n_arrays}; ++a) "
                  "_emu_off[a] -= _emu_step[a * _emu_ndim + d] * _emu_shape[d];",
                  "            _emu_idx[d] = 0;",
                  "        }",
                  "    }",
                  self.after_loop,
                  "}"]
        return "\n".join(lines) + "\n"


class _ElementwiseRun:
    """Calls one compiled elementwise loop with the arguments laid out for it."""

    def __init__(self, lib, params, pattern):
        self.fn = lib.emu_elementwise
        self.fn.restype = None
        self.fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int,
                            ctypes.c_longlong, ctypes.c_void_p, ctypes.c_void_p,
                            ctypes.c_void_p]
        self.params, self.pattern = params, pattern

    def __call__(self, values, types, shape):
        n = 1
        for s in shape:
            n *= s
        if n == 0:
            return
        strided, scalars, raws = [], [], []
        for p, v in zip(self.params, values):
            dt = types[p.placeholder] if p.placeholder else p.dtype
            if p.raw:
                if not isinstance(v, numpy.ndarray) or v.dtype != dt:
                    raise TypeError(f"raw parameter {p.name} needs a {dt} array")
                raws.append(v)
            elif isinstance(v, numpy.ndarray):
                strided.append(numpy.broadcast_to(v, shape) if v.shape != shape else v)
            else:
                scalars.append(numpy.asarray(v).astype(dt))
        if all(a.flags.c_contiguous for a in strided):
            ndim, dims = 1, (n,)
            steps = [a.itemsize for a in strided]
        else:
            ndim, dims = len(shape), shape
            steps = [s for a in strided for s in a.strides]
        ptr = (ctypes.c_void_p * max(1, len(strided)))(
            *[a.__array_interface__["data"][0] for a in strided])
        step = (ctypes.c_longlong * max(1, len(steps)))(*steps)
        dim = (ctypes.c_longlong * max(1, ndim))(*dims)
        scalar = (ctypes.c_void_p * max(1, len(scalars)))(*[s.ctypes.data for s in scalars])
        metas = [numpy.array((a.ndim, a.size) + a.shape + a.strides, dtype=numpy.int64)
                 for a in raws]
        raw = (ctypes.c_void_p * max(1, len(raws)))(
            *[a.__array_interface__["data"][0] for a in raws])
        meta = (ctypes.c_void_p * max(1, len(raws)))(*[m.ctypes.data for m in metas])
        with _LOCK:
            self.fn(ptr, step, dim, ndim, n, scalar, raw, meta)
