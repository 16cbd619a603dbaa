"""NumPy's names for four of PyTorch's parameters.

PyTorch's C++ argument parser, which reads the arguments of every function and Tensor
method bound from C++, takes a keyword argument under NumPy's name when the parameter's
own name is not given:

    dim      <- axis                  torch.sum(x, axis=0), x.argmax(axis=1)
    keepdim  <- keepdims              x.mean(1, keepdims=True)
    input    <- x, a, x1              torch.add(x1=a, x2=b), torch.abs(x=t)
    other    <- x2

Each parameter is filled once: a name given together with its alias, an alias given for a
parameter passed by position, or two aliases of one parameter, are a TypeError. Functions
that PyTorch writes in Python (torch.split, torch.norm, Tensor.unique, most of
nn.functional ...) never meet that parser and refuse the aliases like any unknown keyword,
so ember gives them no aliases either.

`accept_numpy_names` runs once, at the end of ``import ember``: in the public namespaces
(ember, ember.linalg, ember.fft, ember.special, the C++-bound part of ember.nn.functional,
and the named methods of Tensor) it puts an alias-renaming front in place of each function
that has one of the four parameters. The front costs one Python call when keywords are
passed without aliases and one truth test when none are; the operators (``a + b``) are
not wrapped, and ember's own modules keep calling the undecorated functions.

Where ember's parameter has another name than the one PyTorch's parser reads (ember's
``linalg.eigh(A)`` is ``input`` to the parser), the front takes the parser's name and its
aliases for it too (see _PARSER_SPELLING), so ``linalg.eigh(x=t)`` works as in PyTorch.

Not covered: keywords passed to operator methods (``x.__add__(x2=y)``), the methods of the
sparse tensor classes, and functions added to the namespaces after ``import ember``.
bench/alias_sweep.py compares every name with PyTorch.
"""
import types

# alias -> the parameter it names
ALIASES = {"axis": "dim", "keepdims": "keepdim", "x": "input", "a": "input", "x1": "input",
           "x2": "other"}
_PARAMETERS = frozenset(ALIASES.values())

# torch functions written in Python (torch/functional.py, torch/__init__.py ...): their
# keywords are Python's, without aliases
_PYTHON_LEVEL = {
    "ember": frozenset((
        "atleast_1d", "atleast_2d", "atleast_3d", "block_diag", "broadcast_shapes",
        "broadcast_tensors", "cartesian_prod", "cdist", "chain_matmul", "einsum", "lobpcg",
        "lu", "meshgrid", "norm", "pca_lowrank", "split", "stft", "svd_lowrank", "tensordot",
        "unique", "unique_consecutive", "unravel_index", "eig", "lstsq", "matrix_rank",
        "solve", "symeig", "cond", "while_loop", "is_tensor", "is_storage", "typename",
        "vmap", "compile", "from_dlpack", "save", "load")),
    "Tensor": frozenset((
        "backward", "istft", "lu", "norm", "split", "stft", "unflatten", "unique",
        "unique_consecutive", "resize", "resize_as", "eig", "lstsq", "solve", "symeig",
        "register_hook", "register_post_accumulate_grad_hook", "share_memory_", "is_shared",
        "storage", "storage_type", "dim_order", "to_sparse_coo", "align_to", "refine_names",
        "rename", "rename_")),
}

# the part of torch.nn.functional that is bound from C++ (the rest is Python)
_NN_FUNCTIONAL_BOUND = frozenset((
    "adaptive_avg_pool1d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "bilinear", "celu_",
    "channel_shuffle", "conv1d", "conv2d", "conv3d", "conv_tbc", "conv_transpose1d",
    "conv_transpose2d", "conv_transpose3d", "cosine_similarity", "elu_", "gelu", "hardshrink",
    "hardtanh_", "leaky_relu_", "linear", "logsigmoid", "native_channel_shuffle", "one_hot",
    "pairwise_distance", "pdist", "pixel_shuffle", "pixel_unshuffle", "prelu", "relu_",
    "rrelu_", "scaled_dot_product_attention", "selu_", "softplus", "softshrink",
    "threshold_"))


# ember parameters that torch's parser knows by another name (torch.linalg.eigh's A is
# `input` to it, the name its aliases stand for): namespace -> function -> {ours: torch's}
_A_IS_INPUT = {"A": "input"}
_PARSER_SPELLING = {
    "ember": {"det": _A_IS_INPUT, "matrix_exp": _A_IS_INPUT, "matrix_power": _A_IS_INPUT,
              "lu_solve": {"b": "input"}, "spmm": {"mat1": "input"},
              "result_type": {"tensor2": "other"}},
    "linalg": {**{name: _A_IS_INPUT for name in (
        "cholesky", "cholesky_ex", "cond", "eig", "eigh", "eigvals", "eigvalsh",
        "householder_product", "ldl_factor", "ldl_factor_ex", "lstsq", "matrix_exp",
        "matrix_norm", "matrix_power", "matrix_rank", "norm", "pinv", "solve_triangular",
        "tensorinv")},
        "tensorsolve": {"A": "input", "B": "other"}, "vector_norm": {"x": "input"}},
    "nn.functional": {"one_hot": {"tensor": "input"}},
}
_NO_SPELLING = {}


def _innermost(fn):
    """The function behind a chain of functools.wraps wrappers."""
    for _ in range(8):
        inner = getattr(fn, "__wrapped__", None)
        if inner is None:
            break
        fn = inner
    return fn


def _parameter_names(fn):
    """The named parameters of `fn` (of the function behind its functools.wraps chain), or
    None when it forwards *args/**kwargs without naming any of the four."""
    code = getattr(_innermost(fn), "__code__", None)
    if code is None:
        return ()
    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    if code.co_flags & 0x0C and _PARAMETERS.isdisjoint(names):   # CO_VARARGS | CO_VARKEYWORDS
        return None
    return names


def _renames_for(names, method, spelling):
    """alias -> parameter for a function with parameters `names`: the aliases of the four
    it has (a method's input is its self, which has no alias), leaving out an alias that
    is a parameter's own name (torch.linalg.vecdot's `x`); a parameter torch's parser
    spells otherwise takes that spelling and its aliases."""
    if not spelling and _PARAMETERS.isdisjoint(names):
        return None
    renames = {}
    for ours in names:
        theirs = spelling.get(ours, ours)
        if theirs not in _PARAMETERS or method and theirs == "input":
            continue
        if theirs != ours:
            renames[theirs] = ours
        for alias in _SPELLINGS[theirs]:
            if alias not in names:
                renames[alias] = ours
    return renames or None


_SPELLINGS = {p: tuple(a for a, q in ALIASES.items() if q == p) for p in _PARAMETERS}


def _renamed(name, renames, kwargs):
    """kwargs with each alias replaced by its parameter's name; TypeError, as PyTorch's
    parser raises it, for an alias of a parameter that is given already."""
    out = {}
    for key, value in kwargs.items():
        param = renames.get(key)
        if param is not None:
            if param in kwargs or param in out:
                raise TypeError(f"{name}() got an unexpected keyword argument '{key}'")
            key = param
        out[key] = value
    return out


def _front(fn, renames, name, where, refuse_out=False):
    """`fn` taking NumPy's names too (and, for a Tensor method whose function has an out=
    parameter, refusing out= as PyTorch's methods do: see _method_out). `where` is the
    (module, qualified name) it is public under, which pickle finds it by."""
    if refuse_out:
        def public(*args, **kwargs):
            if kwargs:
                if "out" in kwargs:
                    raise TypeError(f"{name}() got an unexpected keyword argument 'out'")
                if not renames.keys().isdisjoint(kwargs):
                    kwargs = _renamed(name, renames, kwargs)
            return fn(*args, **kwargs)
        public._refuses_out = True
    else:
        def public(*args, **kwargs):
            if kwargs and not renames.keys().isdisjoint(kwargs):
                kwargs = _renamed(name, renames, kwargs)
            return fn(*args, **kwargs)
    # functools.wraps, without its cost per function at import
    public.__dict__.update(fn.__dict__)
    public.__wrapped__ = fn
    public.__name__ = fn.__name__
    public.__module__, public.__qualname__ = where
    public.__doc__ = fn.__doc__
    public._numpy_names = renames
    return public


def accept_numpy_names():
    """Put the alias front in place of each public function and Tensor method that
    PyTorch's C++ parser would read (once, at import)."""
    import ember
    from ember import fft, linalg, special
    from ember._tensor import Tensor
    from ember.nn import functional
    fronts = {}   # (id(function), id(renames)): its front, so that one function stays one
    tables = {}   # (parameter names, method, spelling): renames

    def install(space, name, fn, method, spelling, module):
        names = _parameter_names(fn)
        if names is None and name.endswith("_"):
            # an in-place form forwarding its arguments: it takes its out-of-place form's
            names = _parameter_names(space.get(name[:-1]))
        spelled = spelling.get(name, _NO_SPELLING)
        shape = (names or (), method, id(spelled))   # functions alike share one table
        renames = tables[shape] if shape in tables else \
            tables.setdefault(shape, _renames_for(names or (), method, spelled))
        if renames is None:
            return fn
        key = (id(fn), id(renames))
        if key not in fronts:
            where = (module, "Tensor." + name if method else name)
            fronts[key] = _front(fn, renames, name, where, method and "out" in (names or ()))
        return fronts[key]

    for mod, short, wanted in ((ember, "ember", None), (linalg, "linalg", None),
                               (fft, "fft", None), (special, "special", None),
                               (functional, "nn.functional", _NN_FUNCTIONAL_BOUND)):
        space = vars(mod)
        python_level = _PYTHON_LEVEL.get(short, ())
        spelling = _PARSER_SPELLING.get(short, _NO_SPELLING)
        for name, fn in list(space.items()):
            if type(fn) is not types.FunctionType or name[0] == "_" or \
                    name in python_level or (wanted is not None and name not in wanted) or \
                    hasattr(fn, "_numpy_names"):
                continue
            space[name] = install(space, name, fn, False, spelling, mod.__name__)
    # a method that refuses out= (ember/_method_out.py) gets one front doing both
    space = {name: fn.__wrapped__ if getattr(fn, "_refuses_out", False) else fn
             for name, fn in vars(Tensor).items()}
    for name, fn in space.items():
        if type(fn) is not types.FunctionType or name[0] == "_" or \
                name in _PYTHON_LEVEL["Tensor"] or hasattr(fn, "_numpy_names"):
            continue
        front = install(space, name, fn, True, _NO_SPELLING, Tensor.__module__)
        if front is not fn:
            setattr(Tensor, name, front)
