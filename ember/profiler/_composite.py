"""Events for PyTorch's composite operators: the functions a program calls
(``F.linear``, ``F.conv2d``, ``torch.matmul``, ``F.cross_entropy``) that PyTorch's
profiler lists as an operator of their own (``aten::linear``) around the operators they
run (``aten::addmm``).

ember runs such a function as Python code calling its ops, so the ops have events
(``_recorder._profiled_apply``) but the function had none. While a profiler records,
each function in `COMPOSITES` is replaced, wherever ember binds it (module globals,
Tensor methods), by a timed wrapper; `stop` puts the originals back. Nothing of this
runs when no profiler records: the functions are the originals then.

Where the wrapper and the op it runs share one name (``Tensor.relu`` runs ember's
``Relu`` op, named ``aten::relu``), the op's event is folded into the wrapper's, so the
name is listed once per call, as PyTorch's; CHILD_NAMES renames an op that serves several
ATen operators by the composite it runs in (layer norm's op is ``native_layer_norm``).

While recording, ``F.linear is F.linear`` holds but the function is the wrapper: code
that compares a function it kept from before the profile started with ember's current
one (``activation is F.relu``) sees two functions; F.relu is left unwrapped for that
reason (TransformerEncoderLayer does this).

A function held by a name that is not ember's (``from torch.nn.functional import relu``
in the user's module) is not replaced, and its ops are listed without the composite
event around them.
"""
import inspect
import sys

from .. import _fronts


def _max_pool_name(args, kwargs):
    """``aten::max_pool<n>d`` (``_with_indices`` when the indices are asked for)."""
    nd = args[0] if args else kwargs.get("nd")
    wants_indices = kwargs.get("return_indices", args[7] if len(args) > 7 else False)
    return f"aten::max_pool{nd}d" + ("_with_indices" if wants_indices else "")


def _conv_name(args, kwargs):
    """``aten::conv<n>d`` for a Conv module's _conv_forward(self, ...)."""
    return f"aten::conv{args[0]._nd}d"


_RNN_NAMES = {"LSTM": "aten::lstm", "GRU": "aten::gru", "RNN_TANH": "aten::rnn_tanh",
              "RNN_RELU": "aten::rnn_relu"}


def _rnn_name(args, kwargs):
    """``aten::lstm`` ... for an RNN module's forward(self, ...)."""
    return _RNN_NAMES.get(args[0].mode, "aten::rnn_tanh")


# (module, attribute path, the profiler's name or a function of (args, kwargs) giving it).
# Names are PyTorch 2.x CPU's for the same call.
COMPOSITES = [
    ("ember._ops.layers", "linear", "aten::linear"),
    ("ember._ops.layers", "dropout", "aten::dropout"),
    ("ember.nn.functional", "conv1d", "aten::conv1d"),
    ("ember.nn.functional", "conv2d", "aten::conv2d"),
    ("ember.nn.functional", "conv3d", "aten::conv3d"),
    ("ember.nn.modules.conv", "_ConvNd._conv_forward", _conv_name),
    ("ember.nn.modules.rnn", "RNNBase.forward", _rnn_name),
    # (F.relu calls Tensor.relu; F.relu itself stays the original: TransformerEncoderLayer
    # checks `activation is F.relu`)
    ("ember._tensor", "Tensor.relu", "aten::relu"),
    ("ember._ops.pooling", "max_pool", _max_pool_name),
    ("ember._ops.norm", "batch_norm", "aten::batch_norm"),
    ("ember._ops.norm", "layer_norm", "aten::layer_norm"),
    ("ember._ops.norm", "group_norm", "aten::group_norm"),
    ("ember._ops.loss", "l1_loss", "aten::l1_loss"),
    ("ember._ops.embedding", "embedding", "aten::embedding"),
    ("ember._ops.activation", "softmax", "aten::softmax"),
    ("ember._ops.activation", "log_softmax", "aten::log_softmax"),
    ("ember._tensor", "Tensor.softmax", "aten::softmax"),
    ("ember._tensor", "Tensor.log_softmax", "aten::log_softmax"),
    ("ember._ops.loss", "cross_entropy", "aten::cross_entropy_loss"),
    ("ember._ops.loss", "nll_loss", "aten::nll_loss_nd"),
    ("ember._ops.loss", "mse_loss", "aten::mse_loss"),
    ("ember._ops.linalg", "matmul", "aten::matmul"),
    ("ember._tensor", "Tensor.matmul", "aten::matmul"),
    ("ember._tensor", "Tensor.flatten", "aten::flatten"),
    ("ember._ops.shape", "flatten", "aten::flatten"),
    ("ember._ops.attention", "scaled_dot_product_attention", "aten::scaled_dot_product_attention"),
]


# In-place Tensor methods: ember computes them out of place and writes the result into
# self, so the op inside has the out-of-place name (``aten::add``). Each method is listed
# as PyTorch's in-place operator (``aten::add_``, an alias as the operator it stands for:
# ``clip_`` is ``aten::clamp_``), and the ops it runs are folded into its event (PyTorch's
# in-place kernels run no operator of their own inside).
_NOT_ATEN_INPLACE = frozenset(("apply_", "map_", "map2_", "share_memory_", "requires_grad_",
                               "retain_grad_"))
INPLACE_EVENTS = set()


def _inplace_composites():
    """COMPOSITES entries for Tensor's in-place methods (read when a plan is made: every
    op module has attached its methods by then)."""
    import re
    from .._tensor import Tensor
    from .._ops.aten import inplace_name
    pattern = re.compile(r"[a-z]([a-z0-9_]*[a-z0-9])?_")
    entries = []
    for key, value in vars(Tensor).items():
        if pattern.fullmatch(key) and key not in _NOT_ATEN_INPLACE and callable(value) and \
                not isinstance(value, (property, type)):
            name = "aten::" + inplace_name(key)
            INPLACE_EVENTS.add(name)
            entries.append(("ember._tensor", "Tensor." + key, name))
    return entries


# ember ops whose name inside a composite is another (one op class serves several ATen
# operators): (composite, op) -> the op's name there; the composite's own name folds the
# op into the composite's event
CHILD_NAMES = {
    ("aten::layer_norm", "aten::native_batch_norm"): "aten::native_layer_norm",
    ("aten::group_norm", "aten::native_batch_norm"): "aten::native_group_norm",
    ("aten::mse_loss", "ember::PointwiseLoss"): "aten::mse_loss",
    ("aten::l1_loss", "ember::PointwiseLoss"): "aten::l1_loss",
}


def _owner_and_function(module_name, path):
    """(the class holding the function, or None for a module function; the function)."""
    owner = sys.modules.get(module_name)
    if owner is None:
        return None, None
    *classes, attr = path.split(".")
    for part in classes:
        owner = getattr(owner, part, None)
    return (owner if classes else None), getattr(owner, attr, None)


# the arguments PyTorch's operator takes, in its order (record_shapes lists one shape per
# argument: a Tensor's, [] for anything else); ember's functions name theirs alike
_CONV = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
_POOL = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode")
_SOFTMAX = ("input", "dim", "dtype")
SCHEMAS = {
    "aten::linear": ("input", "weight", "bias"),
    "aten::conv1d": _CONV, "aten::conv2d": _CONV, "aten::conv3d": _CONV,
    "aten::relu": ("input",),
    "aten::max_pool1d": _POOL, "aten::max_pool2d": _POOL, "aten::max_pool3d": _POOL,
    "aten::max_pool1d_with_indices": _POOL, "aten::max_pool2d_with_indices": _POOL,
    "aten::max_pool3d_with_indices": _POOL,
    "aten::dropout": ("input", "p", "training"),
    "aten::batch_norm": ("input", "weight", "bias", "running_mean", "running_var", "training",
                         "momentum", "eps", "cudnn_enabled"),
    "aten::layer_norm": ("input", "normalized_shape", "weight", "bias", "eps", "cudnn_enable"),
    "aten::group_norm": ("input", "num_groups", "weight", "bias", "eps", "cudnn_enabled"),
    "aten::embedding": ("weight", "input", "padding_idx", "scale_grad_by_freq", "sparse"),
    "aten::softmax": _SOFTMAX, "aten::log_softmax": _SOFTMAX,
    "aten::cross_entropy_loss": ("input", "target", "weight", "reduction", "ignore_index",
                                 "label_smoothing"),
    "aten::nll_loss_nd": ("input", "target", "weight", "reduction", "ignore_index"),
    "aten::mse_loss": ("input", "target", "reduction"),
    "aten::l1_loss": ("input", "target", "reduction"),
    "aten::matmul": ("input", "other"),
    "aten::flatten": ("input", "start_dim", "end_dim"),
    "aten::scaled_dot_product_attention": ("query", "key", "value", "attn_mask", "dropout_p",
                                           "is_causal", "scale", "enable_gqa"),
}
_RNN = ("input", "hx", "params", "has_biases", "num_layers", "dropout", "train",
        "bidirectional", "batch_first")
SCHEMAS.update({name: _RNN for name in ("aten::lstm", "aten::gru", "aten::rnn_tanh",
                                        "aten::rnn_relu")})


def _shape(value):
    return list(value.shape) if hasattr(value, "_data") and hasattr(value, "shape") else []


def _shapes(signature, event_name, args, kwargs):
    """record_shapes' input shapes of a call, in the order of PyTorch's operator where
    SCHEMAS knows it, else of the positional arguments."""
    schema = SCHEMAS.get(event_name)
    if schema is not None and signature is not None:
        try:
            bound = signature.bind_partial(*args, **kwargs).arguments
        except TypeError:
            bound = None
        if bound is not None:
            if "input" not in bound and "self" in bound:   # a Tensor method
                bound["input"] = bound["self"]
            return [_shape(bound.get(arg)) for arg in schema]
    return [_shape(a) for a in args]


def _signature(fn):
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def _wrap(fn, name, active):
    signature = _signature(fn)

    def composite(*args, **kwargs):
        rec = active[0]
        if rec is None:
            return fn(*args, **kwargs)
        event_name = name if type(name) is str else name(args, kwargs)
        inner = rec.innermost_name()
        if inner == event_name or inner in INPLACE_EVENTS:
            # F.relu -> Tensor.relu: one event; zero_ -> fill_: the in-place method's
            return fn(*args, **kwargs)
        shapes = _shapes(signature, event_name, args, kwargs) if rec.record_shapes else None
        event = rec.begin(event_name, "cpu_op", shapes)
        try:
            return fn(*args, **kwargs)
        finally:
            rec.end(event)

    composite.__dict__.update(getattr(fn, "__dict__", {}))
    composite.__wrapped__ = fn
    composite._profiler_composite = True
    for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
        setattr(composite, attr, getattr(fn, attr, None))
    return composite


def _own_code(fn):
    """The code of a function that is no closure, or None: a copy of such a function made
    from its code (as the __torch_function__ dispatcher keeps) is the same function, while
    ember's wrappers share one closure code among many functions."""
    code = getattr(fn, "__code__", None)
    return code if code is not None and not code.co_freevars else None


def _plan(active):
    """The (namespace or class, key, original, wrapper) bindings to replace: every binding
    of a COMPOSITES function (or of another layer's front of it) in ember's modules, on
    Tensor and on the classes COMPOSITES names (`_fronts.Fronts.cover`)."""
    from .._tensor import Tensor
    names = {}
    owners = []
    for module_name, path, name in COMPOSITES + _inplace_composites():
        owner, fn = _owner_and_function(module_name, path)
        if not callable(fn):
            continue
        if owner is not None and owner not in owners:
            owners.append(owner)
        for inner in _fronts.chain(fn):   # (the function under ember's wrappers too)
            names.setdefault(inner, name)
            code = _own_code(inner)
            if code is not None:
                names.setdefault(code, name)

    def match(f):
        name = names.get(f)
        if name is None:
            name = names.get(_own_code(f))
        if name is None and getattr(f, "_operator_method", False):   # (operator_methods)
            name = match(f.__wrapped__)
        return name

    spaces = _fronts.ember_spaces() + [Tensor] + [o for o in owners if o is not Tensor]
    return _fronts.Fronts(_fronts.PROFILER).cover(
        spaces, match, lambda value, name: _wrap(value, name, active))


# the last plan, kept while no module was imported since and its bindings hold (a scan
# of ember's modules takes milliseconds; a profiler with a schedule starts once per cycle)
_PLAN = {"modules": None, "plan": None}


def _plan_holds(plan):
    """Whether every binding the plan replaces still holds its original (turning the
    __torch_function__ protocol on, for one, rebinds ember's functions)."""
    if plan is None:
        return False
    for target, key, original, _ in plan:
        ns = _fronts.namespace(target)
        if ns.get(key) is not original:
            return False
    return True


# the bindings the timed wrappers hold while a profiler records (ember/_fronts.bind's
# records), and the recorder cell they read
_LAID = []
_ACTIVE = [None]


def install(active):
    """Put the timed wrappers in place (they time calls while ``active[0]`` holds a
    recorder)."""
    if _PLAN["modules"] != len(sys.modules) or not _plan_holds(_PLAN["plan"]):
        _PLAN["plan"] = _plan(active)
        _PLAN["modules"] = len(sys.modules)
    _ACTIVE[0] = active
    _LAID[:] = _fronts.bind_all(_PLAN["plan"])


def remove():
    """Put the originals back (in the modules imported while recording too)."""
    _fronts.restore(_LAID, held_only=False)
    if _PLAN["modules"] != len(sys.modules):
        _fronts.unbind_fronts(_fronts.PROFILER)


def _lift():
    if not _LAID:
        return None
    remove()
    return _ACTIVE[0]


# a front installed while a profiler records goes beneath the timed wrappers, which are
# laid again over it (and, made for the new binding, keep it when the profiler stops)
_fronts.layer(_fronts.PROFILER, _lift, install)
