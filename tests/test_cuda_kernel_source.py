"""The CUDA C++ in ember/_backend/cupy_kernels.py and cupy_multi_tensor.py compiled by nvcc
to PTX, so that a typo in a kernel shows on a machine without a GPU (CuPy compiles these
strings with NVRTC only at first use on a GPU). nvcc --ptx needs no GPU; the tests skip
only where nvcc is missing.

What this proves: the sources compile for float and double, as raw() and kernel() ask
for them. What it cannot: that the kernels compute the right numbers (the CUDA cases of
the op tests do that, on a GPU), or NVRTC-only differences (nvcc also sees host headers)."""
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from ember._backend import cupy_kernels as ck

NVCC = shutil.which("nvcc")
needs_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc is not on PATH")

# CuPy compiles for the GPU at hand; compute_80 has what the kernels use (double atomicAdd,
# __shfl_xor_sync)
ARCH = "compute_80"
# dtype names CuPy accepts in a parameter list -> C types; anything else (T, bool) is kept
_C_TYPES = {"float32": "float", "float64": "double", "int8": "signed char",
            "int16": "short", "int32": "int", "int64": "long long", "uint8": "unsigned char",
            "uint32": "unsigned int", "uint64": "unsigned long long"}


def nvcc_ptx(source, name):
    """Compile CUDA C++ `source` to PTX as raw() asks NVRTC to (-std=c++14): (return code,
    stderr, PTX text or '')."""
    with tempfile.TemporaryDirectory() as tmp:
        cu, ptx = Path(tmp, f"{name}.cu"), Path(tmp, f"{name}.ptx")
        cu.write_text(source)
        proc = subprocess.run([NVCC, "-std=c++14", "--ptx", f"-arch={ARCH}", "-o", str(ptx),
                               str(cu)], capture_output=True, text=True, timeout=120)
        return proc.returncode, proc.stderr, ptx.read_text() if ptx.exists() else ""


def raw_instantiations(names, ctypes):
    """C++ that instantiates `name<ctype>` for each name and type: the name expressions
    raw() gives CuPy's RawModule (taking a kernel's address instantiates it)."""
    exprs = ",\n    ".join(f"(void*)&{n}<{t}>" for n in names for t in ctypes)
    return f'\n#line 1 "raw() name expressions"\nvoid* ember_instantiated[] = {{\n    {exprs}\n}};\n'


def _raw_source_line():
    """#line that makes nvcc's messages name the lines of cupy_kernels.py: the string's
    first line is the rest of the line that opens it."""
    path = Path(ck.__file__)
    lines = path.read_text().splitlines()
    start = next(n for n, line in enumerate(lines, 1) if line.startswith('_RAW_SOURCE = r"""'))
    return f'#line {start} "{path}"\n'


def raw_module_source(source=None, names=None):
    """_RAW_SOURCE (or `source`) with every `name<float|double>` of _RAW_NAMES (or `names`)
    instantiated."""
    head = _raw_source_line() if source is None else ""
    return (head + (ck._RAW_SOURCE if source is None else source)
            + raw_instantiations(ck._RAW_NAMES if names is None else names,
                                 ck._RAW_TYPES.values()))


def _params(spec, is_const):
    """C declarations of a CuPy parameter list ("T g, raw T x, bool flag"): the kernel
    arguments and the per-element references ElementwiseKernel binds in the loop."""
    args, refs = [], []
    for p in filter(None, (s.strip() for s in spec.split(","))):
        *quals, typ, name = p.split()
        ctype = _C_TYPES.get(typ, typ)
        const = "const " if is_const else ""
        if "raw" in quals:   # indexed by the body itself (CuPy: a CArray, x[i])
            args.append(f"{const}{ctype}* {name}")
        else:
            args.append(f"{const}{ctype}* _raw_{name}")
            refs.append(f"{const}{ctype} &{name} = _raw_{name}[i];")
    return args, refs


def elementwise_source(sources, ctypes=("float", "double")):
    """One .cu file holding each (in params, out params, body) of `sources` as
    ElementwiseKernel generates it: per type, `typedef <ctype> T;`, then a kernel whose
    loop binds each element (const T &g for inputs, T &x for outputs) and runs the body
    with `i` the element index. #line names the kernel in nvcc's messages."""
    parts = []
    for ctype in ctypes:
        parts.append(f"namespace ember_{ctype} {{\ntypedef {ctype} T;")
        for name, (params_in, params_out, body) in sources.items():
            args_in, refs_in = _params(params_in, True)
            args_out, refs_out = _params(params_out, False)
            refs = "\n        ".join(refs_in + refs_out)
            parts.append(
                f"__global__ void ember_{name}({', '.join(args_in + args_out)}, long long n) {{\n"
                f"    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; "
                f"i < n; i += (long long)blockDim.x * gridDim.x) {{\n"
                f"        {refs}\n"
                f'#line 1 "ember_{name} (T = {ctype})"\n'
                f"{body}\n"
                f"    }}\n}}")
        parts.append(f"}}  // namespace ember_{ctype}")
    return "\n".join(parts) + "\n"


def _mangled(name, ctype):
    """The Itanium-mangled prefix of the kernel template `name<ctype>`."""
    return f"_Z{len(name)}{name}I{dict(float='f', double='d')[ctype]}E"


def test_cuda_raw_names_are_global_templates():
    """Each _RAW_NAMES entry is a `template<typename T> __global__` kernel of _RAW_SOURCE
    (a missing one would only fail at get_function on a GPU), and each kernel is listed."""
    defined = set(re.findall(r"template\s*<\s*typename\s+T\s*>\s*__global__\s+void\s+(\w+)\s*\(",
                             ck._RAW_SOURCE))
    assert set(ck._RAW_NAMES) - defined == set(), "listed in _RAW_NAMES, not a kernel"
    assert defined - set(ck._RAW_NAMES) == set(), "a kernel missing from _RAW_NAMES"
    assert len(set(ck._RAW_NAMES)) == len(ck._RAW_NAMES)


def _assert_instantiated(ptx, names):
    """Every template of `names` has a float and a double entry in the PTX."""
    entries = re.findall(r"\.entry\s+(\w+)", ptx)
    for name in names:
        for ctype in ck._RAW_TYPES.values():
            assert any(e.startswith(_mangled(name, ctype)) for e in entries), \
                f"{name}<{ctype}> not in the PTX"


@needs_nvcc
def test_cuda_kernel_source_compiles_raw_module():
    rc, err, ptx = nvcc_ptx(raw_module_source(), "ember_raw")
    assert rc == 0, f"nvcc failed on cupy_kernels._RAW_SOURCE:\n{err}"
    _assert_instantiated(ptx, ck._RAW_NAMES)


@needs_nvcc
def test_cuda_kernel_source_compiles_elementwise():
    rc, err, ptx = nvcc_ptx(elementwise_source(ck._SOURCES), "ember_elementwise")
    assert rc == 0, f"nvcc failed on cupy_kernels._SOURCES:\n{err}"
    for name in ck._SOURCES:
        assert ptx.count(f"ember_{name}") >= 2, f"ember_{name} missing from the PTX"


@needs_nvcc
def test_cuda_kernel_source_compiles_multi_tensor():
    """The multi-tensor optimizer kernels (ember/_backend/cupy_multi_tensor.py), with the
    -D definitions of the options they are built with, for float and double."""
    from ember._backend import cupy_multi_tensor as mt
    defines = "".join(f"#define {o[2:].replace('=', ' ', 1)}\n" for o in mt.options()
                      if o.startswith("-D"))
    source = defines + mt.SOURCE + raw_instantiations(mt.NAMES, ck._RAW_TYPES.values())
    rc, err, ptx = nvcc_ptx(source, "ember_multi_tensor")
    assert rc == 0, f"nvcc failed on cupy_multi_tensor.SOURCE:\n{err}"
    _assert_instantiated(ptx, mt.NAMES)


@needs_nvcc
def test_cuda_kernel_source_checker_catches_errors():
    """The helpers report a broken body, an error that only instantiation shows, and a
    listed name with no kernel, so the passing runs above mean something."""
    broken = {"sgd": ck._SOURCES["sgd"],
              "typo": ("T g, bool flag", "T x", "x = flag ? g : undeclared_name;")}
    # T::no_member is only looked up when broken<float> is instantiated
    late = "template<typename T>\n__global__ void broken(T* y) { y[0] = T::no_member; }\n"
    cases = [(elementwise_source(broken), "undeclared_name", "ember_typo (T = float)"),
             (raw_module_source(ck._RAW_SOURCE + late, ck._RAW_NAMES + ("broken",)),
              "no_member", "T=float"),
             (raw_module_source(names=ck._RAW_NAMES + ("no_such_kernel",)), "no_such_kernel",
              "name expressions")]
    for source, culprit, where in cases:
        rc, err, _ = nvcc_ptx(source, "ember_broken")
        assert rc != 0 and culprit in err and where in err, err
