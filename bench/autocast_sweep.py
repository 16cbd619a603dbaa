"""Differential sweep of autocast: torch's own autocast op lists
(torch.testing._internal.autocast_test_lists) run through torch and ember.

A probe for finding defects, not a test (its inputs change with torch's lists):

    PYTHONPATH=/tmp/extra:. python -m bench.autocast_sweep [out.json]

CPU (``AutocastCPUTestLists``): every entry, with the autocast dtype bfloat16 and float16
(bfloat16 operands of an entry become float16 in the float16 pass), runs under
``torch.autocast('cpu', dtype)`` and ``ember.autocast('cpu', dtype)`` on the same inputs, as
the namespace function and as the Tensor method where torch has one. Compared: output dtypes
(primary), shapes, values at the lower precision's tolerance, exception types; then the same
call outside autocast and inside a nested ``autocast(enabled=False)``.

CUDA (``AutocastTestLists``): no CUDA torch is here, so the entries run through ember alone on
the fake CuPy (tests/fakecupy.py, in a child process with EMBER_FAKE_CUDA=1) under
``ember.autocast('cuda')``, and the output dtype is compared with the one the list's policy
prescribes (torch_fp16 → float16, torch_fp32 → float32, promote → the widest, banned →
raises); values against torch's CPU "control" (the inputs cast to that dtype by hand,
autocast off), as torch's own test_autocast does.

Composites (``composite_cases``): about 180 user-facing calls beyond the lists (losses,
pooling, pads, modules, linalg, fft ...) under autocast('cpu') in both libraries: output
dtypes or exception types compared.

Then the state API, the weight cast cache, custom_fwd/custom_bwd and GradScaler('cpu') are
compared with torch's (``extras()``).
"""
import json
import os
import subprocess
import sys
import warnings

import ml_dtypes
import numpy as np
import torch
from torch.testing._internal.autocast_test_lists import AutocastCPUTestLists, AutocastTestLists

warnings.filterwarnings("ignore")


def _ember():
    import ember
    return ember


# ------------------------------------------------------------------------------ inputs

def to_lib(x, L, device="cpu"):
    """A torch argument as library `L`'s (torch: itself; ember: the same values and dtype)."""
    if L is torch:
        return x
    if isinstance(x, torch.Tensor):
        if x.dtype == torch.bfloat16:
            arr = x.detach().float().numpy().astype(ml_dtypes.bfloat16)
        else:
            arr = x.detach().numpy().copy()
        return L.tensor(arr, device=device)
    if isinstance(x, torch.dtype):
        return getattr(L, str(x).split(".")[1])
    if isinstance(x, (list, tuple)):
        return type(x)(to_lib(v, L, device) for v in x)
    if isinstance(x, dict):
        return {k: to_lib(v, L, device) for k, v in x.items()}
    return x


def retype(x, old, new):
    """`x` with its tensors of dtype `old` converted to `new` (the float16 pass)."""
    if isinstance(x, torch.Tensor):
        return x.to(new) if x.dtype == old else x
    if isinstance(x, (list, tuple)):
        return type(x)(retype(v, old, new) for v in x)
    if isinstance(x, dict):
        return {k: retype(v, old, new) for k, v in x.items()}
    return x


def cast_floating(x, dt):
    """torch's test helper: every floating tensor in `x` as `dt` (the control's inputs)."""
    if isinstance(x, torch.Tensor):
        return x.to(dt) if x.is_floating_point() else x
    if isinstance(x, (list, tuple)):
        return type(x)(cast_floating(v, dt) for v in x)
    return x


# ------------------------------------------------------------------------------ callables

def _pad(mode):
    def pad(L):
        return lambda x, padding: L.nn.functional.pad(x, padding, mode=mode)
    return pad


# torch._C._nn names whose nn.functional spelling differs
_NN_ALIASES = {
    "reflection_pad1d": _pad("reflect"),
    "reflection_pad2d": _pad("reflect"),
    "replication_pad1d": _pad("replicate"),
    "replication_pad2d": _pad("replicate"),
    "replication_pad3d": _pad("replicate"),
    "nll_loss2d": lambda L: L.nn.functional.nll_loss,
}


def resolve(L, kind, name):
    """The callable of op `name` in library `L` for list kind `kind` ('torch', 'nn',
    'linalg', 'method'), or None when the library lacks it. nn entries use nn.functional's
    spelling in both libraries (the user-facing one; torch's list calls torch._C._nn)."""
    if kind == "method":
        fn = getattr(L.Tensor, name, None)
        if fn is None and name == "__div__":
            fn = getattr(L.Tensor, "__truediv__", None)
        return fn
    if kind == "nn":
        if name in _NN_ALIASES:
            return _NN_ALIASES[name](L)
        fn = getattr(L.nn.functional, name, None)
        if fn is None and L is torch:
            fn = getattr(torch._C._nn, name, None)
        return fn
    if name.startswith("linalg_"):
        return getattr(L.linalg, name[len("linalg_"):], None)
    return getattr(L, name, None)


def call(fn, args, kwargs):
    try:
        return fn(*args, **kwargs), None
    except Exception as e:  # noqa: BLE001 - compared by the caller
        return None, e


def flat(out):
    if isinstance(out, (tuple, list)):
        r = []
        for o in out:
            r += flat(o)
        return r
    return [out]


def dtype_name(d):
    return str(d).split(".")[-1]


def compare(t_out, e_out, tol):
    """None when ember's outputs match torch's (dtype, shape, values at `tol`), else why."""
    tf, ef = flat(t_out), flat(e_out)
    if len(tf) != len(ef):
        return f"{len(tf)} outputs vs {len(ef)}"
    E = _ember()
    for i, (a, b) in enumerate(zip(tf, ef)):
        if isinstance(a, torch.Tensor):
            if not isinstance(b, E.Tensor):
                return f"out {i}: ember gave {type(b).__name__}"
            if dtype_name(a.dtype) != dtype_name(b.dtype):
                return f"out {i}: dtype {dtype_name(a.dtype)} vs {dtype_name(b.dtype)}"
            if tuple(a.shape) != tuple(b.shape):
                return f"out {i}: shape {tuple(a.shape)} vs {tuple(b.shape)}"
            an = a.detach().double().numpy() if a.is_floating_point() else a.numpy()
            bn = b.detach().cpu().double().numpy() if b.is_floating_point() else b.cpu().numpy()
            if not np.allclose(an, bn, rtol=tol, atol=tol, equal_nan=True):
                return f"out {i}: values differ (max abs {np.nanmax(np.abs(an - bn)):.3g})"
        elif a != b and not (isinstance(b, E.Tensor) and b.item() == a):
            return f"out {i}: {a!r} vs {b!r}"
    return None


def outcome(out, exc):
    if exc is not None:
        return f"raises {type(exc).__name__}"
    return " ".join(dtype_name(o.dtype) if hasattr(o, "dtype") else type(o).__name__
                    for o in flat(out))


TOL = {torch.bfloat16: 4e-2, torch.float16: 1e-2}


# ------------------------------------------------------------------------------ CPU lists

def cpu_entries():
    """(list name, kind, op, torch args, kwargs, expected dtype or None, amp dtype) for every
    entry of AutocastCPUTestLists in both autocast dtypes."""
    torch.manual_seed(0)
    lists = AutocastCPUTestLists("cpu")
    out = []
    for amp in (torch.bfloat16, torch.float16):
        def norm(args):
            return args if amp is torch.bfloat16 else retype(args, torch.bfloat16, amp)
        for list_name, kind in (("torch_expect_builtin_promote", "torch"),
                                ("methods_expect_builtin_promote", "method")):
            for op, args_bf16, args_fp16, expect in getattr(lists, list_name):
                args = args_bf16 if amp is torch.bfloat16 else args_fp16
                out.append((list_name, kind, op, args, {}, expect, amp))
        for list_name, kind, expect in (("torch_16", "torch", amp), ("torch_fp32", "torch",
                                        torch.float32), ("nn_16", "nn", amp),
                                        ("nn_fp32", "nn", torch.float32)):
            for entry in getattr(lists, list_name):
                op, args = entry[0], entry[1]
                kwargs = entry[2] if len(entry) > 2 else {}
                out.append((list_name, kind, op, norm(args), kwargs, expect, amp))
        for op, args_bf16, args_fp16 in lists.torch_need_autocast_promote:
            args = args_bf16 if amp is torch.bfloat16 else args_fp16
            out.append(("torch_need_autocast_promote", "torch", op, args, {}, torch.float32, amp))
    return out


def run_cpu():
    """Every CPU entry through both libraries; returns (number of comparisons, problems)."""
    E = _ember()
    problems, count = [], 0
    for list_name, kind, op, args, kwargs, expect, amp in cpu_entries():
        kinds = [kind] + (["method"] if kind == "torch" and hasattr(torch.Tensor, op) else [])
        for k in kinds:
            where = f"cpu {dtype_name(amp)} {list_name} {op} ({k})"
            t_fn, e_fn = resolve(torch, k, op), resolve(E, k, op)
            if t_fn is None:
                continue
            count += 1
            if e_fn is None:
                problems.append(f"{where}: MISSING in ember")
                continue
            e_args, e_kwargs = to_lib(args, E), to_lib(kwargs, E)
            modes = (("autocast", torch.autocast("cpu", dtype=amp),
                      E.autocast("cpu", dtype=to_lib(amp, E))),
                     ("outside", None, None), ("nested-disabled", None, None))
            for mode, t_ctx, e_ctx in modes:
                if mode == "autocast":
                    with t_ctx:
                        t_out, t_exc = call(t_fn, args, kwargs)
                    with e_ctx:
                        e_out, e_exc = call(e_fn, e_args, e_kwargs)
                elif mode == "outside":
                    t_out, t_exc = call(t_fn, args, kwargs)
                    e_out, e_exc = call(e_fn, e_args, e_kwargs)
                else:
                    with torch.autocast("cpu", dtype=amp), torch.autocast("cpu", enabled=False):
                        t_out, t_exc = call(t_fn, args, kwargs)
                    with E.autocast("cpu", dtype=to_lib(amp, E)), E.autocast("cpu", enabled=False):
                        e_out, e_exc = call(e_fn, e_args, e_kwargs)
                if mode == "autocast" and expect is not None and t_exc is None:
                    t_first = flat(t_out)[0]
                    if isinstance(t_first, torch.Tensor) and t_first.dtype != expect:
                        # torch's nn.functional spelling differs from torch._C._nn's policy
                        problems.append(f"{where}: note: torch gives {dtype_name(t_first.dtype)}"
                                        f", the list says {dtype_name(expect)}")
                if t_exc is not None or e_exc is not None:
                    if type(t_exc) is not type(e_exc):
                        problems.append(f"{where} [{mode}]: torch {outcome(t_out, t_exc)}, ember "
                                        f"{outcome(e_out, e_exc)}: {str(e_exc or t_exc)[:120]}")
                    continue
                msg = compare(t_out, e_out, TOL[amp])
                if msg:
                    problems.append(f"{where} [{mode}]: {msg}")
    return count, problems


# ------------------------------------------------------------------------------ CUDA lists

def cuda_entries():
    """(list name, kind, op, torch args, kwargs, expected dtype or 'raises')."""
    torch.manual_seed(0)
    lists = AutocastTestLists("cpu")
    f16 = torch.float16
    out = []
    for list_name, kind in (("torch_expect_builtin_promote", "torch"),
                            ("methods_expect_builtin_promote", "method")):
        for op, args, expect in getattr(lists, list_name):
            out.append((list_name, kind, op, args, {}, expect))
    for list_name, kind, expect in (("torch_fp16", "torch", f16), ("torch_fp32", "torch",
                                    torch.float32), ("torch_need_autocast_promote", "torch",
                                    torch.float32), ("nn_fp16", "nn", f16),
                                    ("nn_fp32", "nn", torch.float32),
                                    ("linalg_fp16", "linalg", f16),
                                    ("methods_fp16", "method", f16),
                                    ("methods_fp32", "method", torch.float32)):
        for entry in getattr(lists, list_name):
            op, args = entry[0], entry[1]
            kwargs = entry[2] if len(entry) > 2 and isinstance(entry[2], dict) else {}
            if op == "einsum":   # ("einsum", equation, operands)
                args, kwargs = (args,) + tuple(entry[2]), {}
            out.append((list_name, kind, op, args, kwargs, expect))
    for op, args, _module in lists.banned:
        out.append(("banned", "nn", op, args, {}, "raises"))
    return out


def run_cuda():
    """Every CUDA entry through ember on the fake CuPy (call in a process where
    EMBER_FAKE_CUDA=1 installed it before ember); returns (count, problems)."""
    E = _ember()
    problems, count = [], 0
    for list_name, kind, op, args, kwargs, expect in cuda_entries():
        kinds = [kind] + (["method"] if kind == "torch" and hasattr(torch.Tensor, op) else [])
        for k in kinds:
            where = f"cuda float16 {list_name} {op} ({k})"
            t_fn, e_fn = resolve(torch, k, op), resolve(E, k, op)
            if t_fn is None:
                continue
            count += 1
            if e_fn is None:
                problems.append(f"{where}: MISSING in ember")
                continue
            e_args, e_kwargs = to_lib(args, E, "cuda"), to_lib(kwargs, E, "cuda")
            with E.autocast("cuda"):
                e_out, e_exc = call(e_fn, e_args, e_kwargs)
            if expect == "raises":
                if not isinstance(e_exc, RuntimeError):
                    problems.append(f"{where}: ember {outcome(e_out, e_exc)}, torch raises "
                                    "RuntimeError")
                continue
            if e_exc is not None:
                # an entry whose arguments torch's CPU kernel refuses too (einsum's equation
                # does not fit its operands) is not a policy difference
                _, c_exc = call(t_fn, cast_floating(args, torch.float32), kwargs)
                if type(c_exc) is not type(e_exc):
                    problems.append(f"{where}: ember raised {type(e_exc).__name__}: "
                                    f"{str(e_exc)[:120]}")
                continue
            first = flat(e_out)[0]
            if isinstance(first, E.Tensor) and dtype_name(first.dtype) != dtype_name(expect):
                if list_name.endswith("builtin_promote") and first.dtype is E.bool:
                    pass
                else:
                    problems.append(f"{where}: dtype {dtype_name(first.dtype)}, policy says "
                                    f"{dtype_name(expect)}")
                    continue
            # values: torch's control on the CPU (inputs cast by hand, autocast off)
            if list_name.endswith("builtin_promote"):
                control, c_exc = call(t_fn, args, kwargs)
            else:
                c_args = cast_floating(args, expect) if k != "method" else \
                    (args[0].to(expect),) + cast_floating(args[1:], expect)
                control, c_exc = call(t_fn, c_args, kwargs)
            if c_exc is None:
                msg = compare(control, e_out, 2e-2)
                if msg and "dtype" not in msg:
                    problems.append(f"{where}: vs torch's CPU control: {msg}")
    return count, problems


def run_cuda_in_child():
    env = dict(os.environ, EMBER_FAKE_CUDA="1")
    code = ("import tests.fakecupy as f; f.install(force=True); import json, bench.autocast_sweep"
            " as s; print(json.dumps(s.run_cuda()))")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if res.returncode:
        return 0, ["CUDA CHILD CRASH: " + res.stderr[-2000:]]
    return json.loads(res.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------ composites

def composite_cases(L):
    """User-facing calls (nn.functional, modules, namespace functions) beyond torch's lists,
    most of them composites whose parts carry the policy; bfloat16 operands unless noted
    (dt=f: float32). {name: thunk}."""
    F = L.nn.functional
    b, f = L.bfloat16, L.float32
    g = np.random.default_rng(0)

    def r(*s, dt=b):
        return L.tensor(g.standard_normal(s).astype(np.float32)).to(dt)

    def ri(lo, hi, s):
        return L.tensor(g.integers(lo, hi, s))

    def pool_indices(nd, x):
        pool = F.max_pool2d if nd == 2 else F.max_pool3d
        return pool(x.float(), 2, return_indices=True)[1]

    x1, x2, x3 = r(2, 3, 6), r(2, 3, 6, 6), r(2, 3, 6, 6, 6)
    return {
        "pad reflect1": lambda: F.pad(x1,(2,2),mode='reflect'),
        "pad reflect2": lambda: F.pad(x2,(2,2,1,1),mode='reflect'),
        "pad reflect3": lambda: F.pad(x3,(2,2,1,1,1,1),mode='reflect'),
        "pad repl1": lambda: F.pad(x1,(2,2),mode='replicate'),
        "pad repl2": lambda: F.pad(x2,(2,2,1,1),mode='replicate'),
        "pad repl3": lambda: F.pad(x3,(2,2,1,1,1,1),mode='replicate'),
        "pad circ": lambda: F.pad(x2,(2,2,1,1),mode='circular'),
        "pad const": lambda: F.pad(x2,(2,2,1,1)),
        "maxpool3d": lambda: F.max_pool3d(x3,2),
        "maxpool3d_idx": lambda: F.max_pool3d(x3,2,return_indices=True)[0],
        "maxpool2d": lambda: F.max_pool2d(x2,2),
        "avgpool3d": lambda: F.avg_pool3d(x3,2),
        "avgpool2d": lambda: F.avg_pool2d(x2,2),
        "aap3": lambda: F.adaptive_avg_pool3d(x3,2),
        "amp3": lambda: F.adaptive_max_pool3d(x3,2),
        "aap2": lambda: F.adaptive_avg_pool2d(x2,2),
        "fmp2": lambda: F.fractional_max_pool2d(x2,2,output_size=3),
        "fmp3": lambda: F.fractional_max_pool3d(x3,2,output_size=3),
        "unpool2": lambda: F.max_unpool2d(x2[:, :, :3, :3], pool_indices(2, x2), 2),
        "grid": lambda: F.grid_sample(x2, r(2,4,4,2).clamp(-1,1), align_corners=False),
        "grid_f32grid": lambda: F.grid_sample(x2, r(2,4,4,2,dt=f).clamp(-1,1), align_corners=False),
        "polar": lambda: L.polar(r(3).abs(), r(3)),
        "prod": lambda: L.prod(x1),
        "prod_dim": lambda: x1.prod(1),
        "quantile": lambda: L.quantile(x1, 0.5),
        "nanq": lambda: L.nanquantile(x1, 0.5),
        "cdist": lambda: L.cdist(x2[0], x2[0]),
        "trace": lambda: L.trace(x2[0,0]),
        "stft": lambda: L.stft(r(64), 16, return_complex=True),
        "vac": lambda: L.view_as_complex(r(3,2)),
        "ctc": lambda: F.ctc_loss(r(10,2,5).log_softmax(2), ri(1,5,(2,4)), [10,10],[4,4]),
        "cross_entropy": lambda: F.cross_entropy(x2[:,:,0,0], L.tensor([0,1])),
        "fft": lambda: L.fft.fft(x1),
        "rfft": lambda: L.fft.rfft(x1),
        "hfft": lambda: L.fft.hfft(x1),
        "fftshift": lambda: L.fft.fftshift(x1),
        "softmax": lambda: F.softmax(x1,-1),
        "sum": lambda: x1.sum(),
        "layer_norm": lambda: F.layer_norm(x1,(6,)),
        "group_norm": lambda: F.group_norm(x2,3),
        "batch_norm": lambda: F.batch_norm(x2, L.zeros(3), L.ones(3)),
        "bilinear": lambda: F.bilinear(r(2,3,dt=f),r(2,4,dt=f),r(5,3,4,dt=f)),
        "bilinear_b": lambda: F.bilinear(r(2,3),r(2,4),r(5,3,4)),
        "vecdot": lambda: L.linalg.vecdot(r(3,4,dt=f),r(3,4,dt=f)),
        "index_copy": lambda: L.zeros(3,dtype=b).index_copy(0, L.tensor([0]), L.ones(1)),
        "index_copy2": lambda: L.zeros(3).index_copy(0, L.tensor([0]), L.ones(1,dtype=b)),
        "matrix_norm": lambda: L.linalg.matrix_norm(x2[0,0]),
        "vector_norm": lambda: L.linalg.vector_norm(x1),
        "norm": lambda: L.norm(x1),
        "det": lambda: L.det(x2[0,0].float()),
        "pinv": lambda: L.linalg.pinv(x2[0,0]),
        "upsample": lambda: F.interpolate(x2, scale_factor=2, mode='bilinear'),
        "tensordot": lambda: L.tensordot(r(2,2,dt=f), r(2,2)),
        "mv": lambda: L.mv(r(2,2,dt=f), r(2,dt=f)),
        "addmv": lambda: L.addmv(r(2,dt=f),r(2,2,dt=f), r(2,dt=f)),
        "addr": lambda: L.addr(r(2,2,dt=f),r(2,dt=f), r(2,dt=f)),
        "dot": lambda: L.dot(r(2,dt=f), r(2,dt=f)),
        "chain": lambda: L.linalg.multi_dot([r(2,2,dt=f)]*3),
        "lstm_cell":
            lambda: L.lstm_cell(r(2,2,dt=f),(r(2,2,dt=f),r(2,2,dt=f)),r(8,2,dt=f),r(8,2,dt=f))[0],
        "conv_tbc": lambda: L.conv_tbc(r(10,7,3,dt=f),r(5,3,5,dt=f),r(5,dt=f)),
        "sdpa": lambda: F.scaled_dot_product_attention(*[r(2,3,4,dt=f)]*3),
        "mha": lambda: F.multi_head_attention_forward(
            *[r(3, 2, 4, dt=f)] * 3, 4, 2, r(12, 4, dt=f), r(12, dt=f), None, None, False, 0.0,
            r(4, 4, dt=f), r(4, dt=f), need_weights=False)[0],
        "softplus": lambda: F.softplus(x1),
        "gelu": lambda: F.gelu(x1),
        "elu": lambda: F.elu(x1),
        "logsigmoid": lambda: F.logsigmoid(x1),
        "silu": lambda: F.silu(x1),
        "mish": lambda: F.mish(x1),
        "hardswish": lambda: F.hardswish(x1),
        "embedding_bag": lambda: F.embedding_bag(L.tensor([[0,1]]), r(3,2)),
        "pdist": lambda: F.pdist(x2[0,0]),
        "cos": lambda: F.cosine_similarity(x1,x1),
        "conv1d_mod": lambda: L.nn.Conv1d(3,2,3)(x1.float()),
        "avgpool3d_mod": lambda: L.nn.AvgPool3d(2)(x3),
        "refl_mod": lambda: L.nn.ReflectionPad1d(2)(x1),
        "ln_mod": lambda: L.nn.LayerNorm(6)(x1),
        "mrl": lambda: F.margin_ranking_loss(r(4), r(4), L.ones(4, dtype=b)),
        "tml": lambda: F.triplet_margin_loss(r(4,3), r(4,3), r(4,3)),
        "mml": lambda: F.multi_margin_loss(r(4,3), L.tensor([0,1,2,0])),
        "mlml": lambda: F.multilabel_margin_loss(r(4,3), L.tensor([[0,1,-1]]*4)),
        "pnll": lambda: F.poisson_nll_loss(r(4), r(4).abs()),
        "cel": lambda: F.cosine_embedding_loss(r(2,3), r(2,3), L.tensor([1,-1])),
        "gnll": lambda: F.gaussian_nll_loss(r(4), r(4), r(4).abs()+0.1),
        "bce": lambda: F.binary_cross_entropy(r(4).sigmoid(), r(4).sigmoid()),
        "inverse": lambda: L.inverse(r(3,3)+3*L.eye(3,dtype=b)),
        "tanh": lambda: L.tanh(x1),
        "log_softmax": lambda: F.log_softmax(x1, -1),
        "rnn": lambda: L.nn.RNN(3,4)(r(5,2,3,dt=f))[0],
        "lstm": lambda: L.nn.LSTM(3,4)(r(5,2,3,dt=f))[0],
        "gru": lambda: L.nn.GRU(3,4)(r(5,2,3,dt=f))[0],
        "mha_mod": lambda: L.nn.MultiheadAttention(4,2)(*[r(3,2,4,dt=f)]*3)[0],
        "tel": lambda: L.nn.TransformerEncoderLayer(4,2,8,dropout=0.0)(r(3,2,4,dt=f)),
        "embedding": lambda: F.embedding(L.tensor([0,1]), r(3,2,dt=f)),
        "linear_mod": lambda: L.nn.Linear(6,2)(x1.float()),
        "matmul_op": lambda: r(2,2,dt=f) @ r(2,2,dt=f),
        "einsum": lambda: L.einsum('ij,jk->ik', r(2,2,dt=f), r(2,2,dt=f)),
        "einsum1": lambda: L.einsum('ij->j', r(2,2,dt=f)),
        "baddbmm": lambda: L.baddbmm(r(2,2,2,dt=f), r(2,2,2,dt=f), r(2,2,2,dt=f)),
        "prelu": lambda: F.prelu(r(2,3,dt=f), r(3,dt=f)),
        "rrelu": lambda: F.rrelu(x1,training=False),
        "normalize": lambda: F.normalize(x1),
        "local_response_norm": lambda: F.local_response_norm(x2, 2),
        "instance_norm": lambda: F.instance_norm(x2),
        "interp_nearest": lambda: F.interpolate(x2, scale_factor=2),
        "interp_tri": lambda: F.interpolate(x3, scale_factor=2, mode='trilinear'),
        "interp_bicubic": lambda: F.interpolate(x2, scale_factor=2, mode='bicubic'),
        "pixel_shuffle": lambda: F.pixel_shuffle(r(1,4,2,2), 2),
        "cumsum": lambda: x1.cumsum(0),
        "cumprod": lambda: x1.cumprod(0),
        "logcumsumexp": lambda: x1.logcumsumexp(0),
        "logsumexp": lambda: x1.logsumexp(0),
        "exp": lambda: x1.exp(),
        "pow": lambda: x1**2,
        "rpow": lambda: 2**x1,
        "mean": lambda: x1.mean(),
        "var": lambda: x1.var(),
        "std": lambda: x1.std(),
        "addcmul": lambda: L.addcmul(r(3,dt=f), r(3), r(3)),
        "atan2": lambda: L.atan2(r(3,dt=f), r(3)),
        "lerp": lambda: L.lerp(r(3,dt=f), r(3), 0.5),
        "where": lambda: L.where(r(3)>0, r(3,dt=f), r(3)),
        "cross": lambda: L.linalg.cross(r(3,dt=f), r(3)),
        "histc": lambda: L.histc(r(10,dt=f)),
        "kron": lambda: L.kron(r(2,2,dt=f), r(2,2,dt=f)),
        "inner": lambda: L.inner(r(2,2,dt=f), r(2,2,dt=f)),
        "outer": lambda: L.outer(r(2,dt=f), r(2,dt=f)),
        "ger": lambda: L.ger(r(2,dt=f), r(2,dt=f)),
        "tensordot_f": lambda: L.tensordot(r(2,2,dt=f), r(2,2,dt=f)),
        "cartesian": lambda: L.cartesian_prod(r(2,dt=f), r(2,dt=f)),
        "cov": lambda: L.cov(r(2,3)),
        "corrcoef": lambda: L.corrcoef(r(2,3)),
        "diag_embed": lambda: L.diag_embed(r(2,3)),
        "matrix_exp": lambda: L.linalg.matrix_exp(r(2,2)),
        "matrix_power": lambda: L.linalg.matrix_power(r(2,2,dt=f),2),
        "solve_triangular":
            lambda: L.linalg.solve_triangular(r(2,2)+3*L.eye(2,dtype=b), r(2,2), upper=True),
        "lu_factor": lambda: L.linalg.lu_factor(r(2,2,dt=f)),
        "lu": lambda: L.linalg.lu(r(2,2))[0],
        "vander": lambda: L.linalg.vander(r(3)),
        "glu": lambda: F.glu(r(2,4)),
        "unfold": lambda: F.unfold(x2, 2),
        "fold": lambda: F.fold(r(1,12,9), (4,4), 2),
        "affine_grid": lambda: F.affine_grid(r(1,2,3), (1,1,4,4), align_corners=False),
        "affine_grid_f": lambda: F.affine_grid(r(1,2,3,dt=f), (1,1,4,4), align_corners=False),
        "channel_shuffle": lambda: F.channel_shuffle(r(1,4,2,2), 2),
        "softmin": lambda: F.softmin(x1, -1),
        "hardtanh": lambda: F.hardtanh(x1),
        "threshold": lambda: F.threshold(x1, 0.1, 0.),
        "tanhshrink": lambda: F.tanhshrink(x1),
        "celu": lambda: F.celu(x1),
        "selu": lambda: F.selu(x1),
        "softsign": lambda: F.softsign(x1),
        "huber": lambda: F.huber_loss(r(4), r(4)),
        "l1": lambda: F.l1_loss(r(4,dt=f), r(4)),
        "sl1": lambda: F.smooth_l1_loss(r(4), r(4)),
        "kl": lambda: F.kl_div(r(4), r(4)),
        "nll": lambda: F.nll_loss(r(2,3), L.tensor([0,1])),
        "hel": lambda: F.hinge_embedding_loss(r(4), L.tensor([1,-1,1,1])),
        "sml": lambda: F.soft_margin_loss(r(4), L.tensor([1,-1,1,1])),
        "mlsml": lambda: F.multilabel_soft_margin_loss(r(2,3), L.tensor([[1,0,1],[0,1,0]])),
        "bcewl": lambda: F.binary_cross_entropy_with_logits(r(4), r(4).sigmoid()),
        "triplet_dist": lambda: F.triplet_margin_with_distance_loss(r(4,3), r(4,3), r(4,3)),
        "pairwise": lambda: F.pairwise_distance(r(4,3), r(4,3)),
        "renorm": lambda: L.renorm(r(3,3), 2, 0, 1.0),
        "dist": lambda: L.dist(r(3), r(3)),
        "frobenius": lambda: L.norm(r(3,3), p='fro'),
        "nuc": lambda: L.norm(r(3,3), p='nuc'),
        "svd": lambda: L.linalg.svd(r(3,3))[1],
        "eigvals": lambda: L.linalg.eigvals(r(3,3)),
        "lstsq": lambda: L.linalg.lstsq(r(3,3), r(3,2)).solution,
        "tensorsolve": lambda: L.linalg.tensorsolve(r(2,3,6)+0, r(2,3)),
        "tensorinv": lambda: L.linalg.tensorinv(r(4,2,2)+0, ind=1),
        "householder": lambda: L.linalg.householder_product(r(3,2), r(2)),
        "ormqr": lambda: L.ormqr(r(3,2), r(2), r(3,3)),
        "cholesky_inverse": lambda: L.cholesky_inverse(r(3,3).tril()+3*L.eye(3,dtype=b)),
        "fq": lambda: L.fake_quantize_per_tensor_affine(r(4), 0.1, 0, 0, 255),
        "max_unpool3d": lambda: F.max_unpool3d(x3[:, :, :3, :3, :3], pool_indices(3, x3), 2),
        "quantile_dim": lambda: L.quantile(x1, 0.5, dim=1),
        "index_copy_f": lambda: L.index_copy(L.zeros(3), 0, L.tensor([0]), L.ones(1, dtype=b)),
        "cat": lambda: L.cat([r(2), r(2,dt=f)]),
        "stack": lambda: L.stack([r(2), r(2,dt=f)]),
        "put": lambda: L.zeros(3).index_put((L.tensor([1]),), L.ones(1,dtype=b)),
        "scatter_add": lambda: L.zeros(3).scatter_add(0, L.tensor([1]), L.ones(1,dtype=b)),
    }


def run_composites():
    """Every composite case under autocast('cpu') in both autocast dtypes: the output dtype
    (or exception type) of torch and ember compared; returns (count, problems)."""
    E = _ember()
    problems, count = [], 0
    for amp in ("bfloat16", "float16"):
        results = {}
        for L in (torch, E):
            res = {}
            for name, fn in composite_cases(L).items():
                with L.autocast("cpu", dtype=getattr(L, amp)):
                    try:
                        res[name] = dtype_name(flat(fn())[0].dtype)
                    except Exception as e:  # noqa: BLE001 - compared below
                        res[name] = "raises " + type(e).__name__
            results[L.__name__] = res
        for name, t in results["torch"].items():
            count += 1
            e = results["ember"][name]
            if t != e:
                problems.append(f"composite {amp} {name}: torch {t}, ember {e}")
    return count, problems


# ------------------------------------------------------------------------------ the rest

def _state_trace(L):
    """is_autocast_enabled / get_autocast_dtype through nested regions, as strings."""
    a = L.ones(2, 2)
    out = [L.is_autocast_enabled("cpu"), L.is_autocast_enabled(), L.get_autocast_dtype("cpu"),
           L.get_autocast_dtype("cuda"), L.is_autocast_cache_enabled()]
    with L.autocast("cpu", dtype=L.float16, cache_enabled=False):
        out += [L.is_autocast_enabled("cpu"), L.get_autocast_dtype("cpu"),
                L.is_autocast_cache_enabled(), L.mm(a, a).dtype]
        with L.autocast("cpu", enabled=False):
            out += [L.is_autocast_enabled("cpu"), L.get_autocast_dtype("cpu"), L.mm(a, a).dtype]
            with L.autocast("cpu"):
                out += [L.get_autocast_dtype("cpu"), L.mm(a, a).dtype,
                        L.is_autocast_cache_enabled()]
        out += [L.get_autocast_dtype("cpu"), L.mm(a, a).dtype]
    out += [L.is_autocast_enabled("cpu"), L.get_autocast_dtype("cpu"),
            L.is_autocast_cache_enabled()]
    return [str(v).replace("ember.", "torch.") for v in out]


def _cache_trace(L):
    """What the weight cast cache shares: the same ToCopy node within a region, across nested
    regions, none once the outermost region exits, none for non-leaves, views or
    cache_enabled=False, and what happens to a cast made under no_grad."""
    w = L.ones(3, 3, requires_grad=True)
    x = L.ones(2, 3)

    def node(y):
        return y.grad_fn.next_functions[1][0] if y.grad_fn is not None else None
    out = []
    with L.autocast("cpu"):
        y1 = L.mm(x, w)
        with L.autocast("cpu"):
            y2 = L.mm(x, w)
        y3 = L.mm(x, w)
        out += [node(y1) is node(y2), node(y1) is node(y3)]
        v = w[:2]
        out.append(node(L.mm(x[:, :2], v)) is node(L.mm(x[:, :2], v)))
        w2 = w * 1
        out.append(node(L.mm(x, w2)) is node(L.mm(x, w2)))
    with L.autocast("cpu"):
        out.append(node(L.mm(x, w)) is node(y1))
    with L.autocast("cpu", cache_enabled=False):
        out.append(node(L.mm(x, w)) is node(L.mm(x, w)))
    u = L.ones(3, 3, requires_grad=True)
    with L.autocast("cpu"):
        with L.no_grad():
            L.mm(x, u)
        z = L.mm(x, u)
        out += [z.requires_grad, z.dtype]
    return [str(v).replace("ember.", "torch.") for v in out]


def _custom_fwd_trace(L):
    """custom_fwd(cast_inputs=float32) and plain custom_fwd/custom_bwd: dtypes seen inside
    forward and backward, the output's and the gradients'."""
    seen = []

    class Cast(L.autograd.Function):
        @staticmethod
        @L.amp.custom_fwd(device_type="cpu", cast_inputs=L.float32)
        def forward(ctx, a, b):
            seen.append(("fwd", a.dtype, b.dtype, L.is_autocast_enabled("cpu"), L.mm(a, b).dtype))
            ctx.save_for_backward(a, b)
            return L.mm(a, b)

        @staticmethod
        @L.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            seen.append(("bwd", g.dtype, L.is_autocast_enabled("cpu"), L.mm(g, b.t()).dtype))
            return L.mm(g, b.t()), L.mm(a.t(), g)

    class Keep(L.autograd.Function):
        @staticmethod
        @L.amp.custom_fwd(device_type="cpu")
        def forward(ctx, a, b):
            seen.append(("fwd", a.dtype, L.is_autocast_enabled("cpu")))
            ctx.save_for_backward(a, b)
            return L.mm(a, b)

        @staticmethod
        @L.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            seen.append(("bwd", g.dtype, L.is_autocast_enabled("cpu"),
                         L.get_autocast_dtype("cpu"), L.mm(g, b.t()).dtype))
            return L.mm(g, b.t()).to(a.dtype), L.mm(a.t(), g).to(b.dtype)

    a = L.ones(2, 3, dtype=L.bfloat16, requires_grad=True)
    b = L.ones(3, 2, requires_grad=True)
    for fn in (Cast, Keep):
        for dt in (L.bfloat16, L.float16):
            with L.autocast("cpu", dtype=dt):
                y = fn.apply(a, b)
            y.float().sum().backward()
            seen.append(("out", y.dtype, a.grad.dtype, b.grad.dtype))
            a.grad = b.grad = None
    y = Cast.apply(a.float(), b)   # outside autocast: no cast (mixed dtypes would raise)
    seen.append(("outside", y.dtype))
    try:
        Cast.apply(a, b)
    except RuntimeError:
        seen.append("outside, mixed: RuntimeError")
    return [str(v).replace("ember.", "torch.") for v in seen]


def _scaler_trace(L):
    """GradScaler('cpu') through steps with inf/nan gradients, growth and backoff, explicit
    unscale_, state_dict round trips: scale, tracker, skipped steps and weights."""
    g = np.random.default_rng(3)
    w0, x0, y0 = (g.standard_normal(s).astype(np.float32) for s in ((3, 4), (5, 4), (5, 3)))
    model = L.nn.Linear(4, 3, bias=False)
    with L.no_grad():
        model.weight.copy_(L.from_numpy(w0.copy()))
    opt = L.optim.Adam(model.parameters(), lr=0.05)
    scaler = L.amp.GradScaler("cpu", init_scale=8.0, growth_factor=4.0, backoff_factor=0.125,
                              growth_interval=3)
    log = []
    for step in range(10):
        opt.zero_grad()
        with L.autocast("cpu"):
            loss = L.nn.functional.mse_loss(model(L.from_numpy(x0)), L.from_numpy(y0))
        scaler.scale(loss).backward()
        if step in (2, 7):
            model.weight.grad[1, 2] = float("inf")
        if step == 5:
            model.weight.grad[0, 0] = float("-nan")
        if step % 3 == 1:
            scaler.unscale_(opt)
            log.append(round(float(model.weight.grad.abs().sum()), 3))
        ret = scaler.step(opt)
        scaler.update()
        sd = scaler.state_dict()
        log.append((step, ret is None, scaler.get_scale(), scaler._get_growth_tracker(), sd,
                    np.round(model.weight.detach().numpy(), 4).tolist()))
        if step == 6:
            fresh = L.amp.GradScaler("cpu")
            fresh.load_state_dict(sd)
            log.append(("loaded", fresh.get_scale(), fresh.state_dict()))
    return log


def extras():
    """The state API, cache, custom_fwd/bwd and GradScaler traces compared; returns
    (count, problems)."""
    E = _ember()
    problems = []
    names = ("state", "cache", "custom_fwd", "grad_scaler")
    fns = (_state_trace, _cache_trace, _custom_fwd_trace, _scaler_trace)
    for name, fn in zip(names, fns):
        try:
            t = fn(torch)
        except Exception as e:  # noqa: BLE001
            problems.append(f"{name}: torch raised {e!r}")
            continue
        try:
            e = fn(E)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{name}: ember raised {type(exc).__name__}: {exc}")
            continue
        if t != e:
            diff = [(i, a, b) for i, (a, b) in enumerate(zip(t, e)) if a != b]
            problems.append(f"{name}: differs at {diff[:3]} (len {len(t)} vs {len(e)})")
    return len(names), problems


def main(path=None):
    report = {}
    for part, fn in (("cpu", run_cpu), ("cuda", run_cuda_in_child), ("composites", run_composites),
                     ("extras", extras)):
        count, problems = fn()
        report[part] = {"compared": count, "problems": problems}
        print(f"{part}: {count} compared, {len(problems)} problems")
        for p in problems:
            print("  ", p)
    if path:
        with open(path, "w") as f:
            json.dump(report, f, indent=1)
    return report


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
