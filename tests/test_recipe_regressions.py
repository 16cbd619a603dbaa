"""Defects found by running the programs of PyTorch's recipes (pytorch/tutorials
recipes_source/) on ember with bench/script_probe.py; each case is the defect's core, a
few lines run on both and compared: values, dtypes and shapes, the exception type, or the
warnings raised."""
import warnings

import pytest

import ember

torch = pytest.importorskip("torch")

from tests.program_compare import run as _run, same  # noqa: E402


def _seeded(program):
    """The program after manual_seed(0): seeded draws are PyTorch's stream on both."""
    def seeded(m):
        m.manual_seed(0)
        return program(m)
    return seeded


def _warned(program):
    """The program's result, then the messages of the warnings it raised."""
    def run(m):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = program(m)
        return [out, [str(w.message) for w in caught]]
    return run


def _drop(name, shape, p=0.5, inplace=False):
    """F.<name> of ones(shape) in training mode, then a draw showing how many values the
    mask took from the generator."""
    def program(m):
        x = m.ones(shape)
        y = getattr(m.nn.functional, name)(x, p, True, inplace)
        return [y, x, m.rand(3)]
    return _warned(_seeded(program))


CASES = {
    # defining_a_neural_network: Dropout2d of a flattened (N, C) batch is elementwise in
    # PyTorch (one draw per (N, C)); ember zeroed whole rows
    **{f"{name}_{len(shape)}d": _drop(name, shape)
       for name in ("dropout1d", "dropout2d", "dropout3d")
       for shape in ((), (5,), (2, 5), (3, 2, 2), (2, 3, 2, 2), (2, 2, 1, 2, 2))},
    "dropout2d_3d_inplace": _drop("dropout2d", (3, 2, 2), inplace=True),
    "dropout3d_4d_inplace": _drop("dropout3d", (2, 3, 2, 2), inplace=True),
    "dropout2d_empty": _drop("dropout2d", (0, 3)),
    "dropout2d_module_on_flat": _warned(_seeded(lambda m: m.nn.Dropout2d(0.5)(m.ones(2, 6)))),
}


def _lists(m):
    """Two float lists of different shapes (one a non-contiguous view) and an int list."""
    a = [m.tensor([1.0, -2.0, 3.0]), m.tensor([[0.5, 0.25], [4.0, -1.5]]).t()]
    b = [m.tensor([2.0, 0.5, -1.0]), m.tensor([[1.0, 2.0], [3.0, 4.0]])]
    return a, b, [m.tensor([1, 2]), m.tensor([3])]


def _foreach(call, inplace=False):
    """A torch._foreach_* call on fresh lists; an in-place call returns what it changed."""
    def program(m):
        a, b, ints = _lists(m)
        out = call(m, a, b, ints)
        return [a, out] if inplace else out
    return program


def _foreach_grads(m):
    """_foreach ops are differentiable as their single-tensor ops."""
    a, b, _ = _lists(m)
    a = [t.clone().requires_grad_() for t in a]
    norms = m._foreach_norm(m._foreach_addcmul(a, a, b, [0.5, 2.0]))
    sum(n for n in norms).backward()
    return [t.grad for t in a]


FOREACH_CASES = {
    # the foreach_map recipe: Adam's update by hand with _foreach_copy_ (ember had no
    # torch._foreach_* op at all)
    "copy_": _foreach(lambda m, a, b, i: m._foreach_copy_(a, b), True),
    "copy_int_to_float": _foreach(lambda m, a, b, i: m._foreach_copy_(
        [a[0][:2]], [i[0]]), True),
    "zero_": _foreach(lambda m, a, b, i: m._foreach_zero_(a), True),
    "add_scalar": _foreach(lambda m, a, b, i: m._foreach_add(a, 1.5)),
    "add_list_alpha": _foreach(lambda m, a, b, i: m._foreach_add(a, b, alpha=-2)),
    "add_scalar_list": _foreach(lambda m, a, b, i: m._foreach_add(a, [1.0, 2])),
    "add_tensor": _foreach(lambda m, a, b, i: m._foreach_add(a, m.tensor(2.0), alpha=3)),
    "add_int_float": _foreach(lambda m, a, b, i: m._foreach_add(i, 1.5)),
    "add_int_float_inplace": _foreach(lambda m, a, b, i: m._foreach_add_(i, 1.5), True),
    "add_": _foreach(lambda m, a, b, i: m._foreach_add_(a, b, alpha=0.5), True),
    "sub_scalar_list": _foreach(lambda m, a, b, i: m._foreach_sub(a, [1.0, -1.0])),
    "sub_bool": _foreach(lambda m, a, b, i: m._foreach_sub([m.ones(2, dtype=m.bool)], 1)),
    "mul_tensor": _foreach(lambda m, a, b, i: m._foreach_mul(a, m.tensor(3.0))),
    "mul_": _foreach(lambda m, a, b, i: m._foreach_mul_(a, b), True),
    "div_list": _foreach(lambda m, a, b, i: m._foreach_div(a, b)),
    "div_": _foreach(lambda m, a, b, i: m._foreach_div_(a, [2.0, 4.0]), True),
    "pow_scalar": _foreach(lambda m, a, b, i: m._foreach_pow(a, 2)),
    "pow_base": _foreach(lambda m, a, b, i: m._foreach_pow(2.0, a)),
    "pow_list_": _foreach(lambda m, a, b, i: m._foreach_pow_(a, [2.0, 3.0]), True),
    "maximum_scalar": _foreach(lambda m, a, b, i: m._foreach_maximum(a, 0.75)),
    "minimum_list": _foreach(lambda m, a, b, i: m._foreach_minimum(a, b)),
    "clamp_min_": _foreach(lambda m, a, b, i: m._foreach_clamp_min_(a, 0.0), True),
    "clamp_max_list": _foreach(lambda m, a, b, i: m._foreach_clamp_max(a, [1.0, 0.3])),
    "addcmul_value": _foreach(lambda m, a, b, i: m._foreach_addcmul(a, a, b, value=0.5)),
    "addcmul_scalars_": _foreach(lambda m, a, b, i: m._foreach_addcmul_(a, b, b, [1.0, -1.0]),
                                 True),
    "addcdiv_tensor": _foreach(lambda m, a, b, i: m._foreach_addcdiv(a, a, b,
                                                                     m.tensor([1.0, 2.0]))),
    "addcdiv_tensor_wrong_length": _foreach(lambda m, a, b, i: m._foreach_addcdiv(
        a, a, b, m.tensor([1.0, 2.0, 3.0]))),
    "lerp_scalar": _foreach(lambda m, a, b, i: m._foreach_lerp(a, b, 0.25)),
    "lerp_list_": _foreach(lambda m, a, b, i: m._foreach_lerp_(
        a, b, [m.tensor(0.5), m.tensor(0.2)]), True),
    "lerp_scalar_list": _foreach(lambda m, a, b, i: m._foreach_lerp(a, b, [0.5, 0.2])),
    **{f"unary_{op}": (lambda op: _foreach(lambda m, a, b, i: getattr(m, f"_foreach_{op}")(
        m._foreach_abs(a))))(op)
       for op in ("sqrt", "exp", "log", "neg", "sigmoid", "reciprocal", "rsqrt", "sign",
                  "round", "frac", "lgamma", "erf", "tanh")},
    "unary_sqrt_": _foreach(lambda m, a, b, i: m._foreach_sqrt_(m._foreach_abs(a)), False),
    "unary_neg_": _foreach(lambda m, a, b, i: m._foreach_neg_(a), True),
    **{f"norm_{o}": (lambda o: _foreach(lambda m, a, b, i: m._foreach_norm(a, o)))(o)
       for o in (0, 1, 2, 3.5, float("inf"), -float("inf"))},
    "norm_dtype": _foreach(lambda m, a, b, i: m._foreach_norm(a, 2, dtype=m.float64)),
    **{f"powsum_{o}": (lambda o: _foreach(lambda m, a, b, i: m._foreach_powsum(a, o)))(o)
       for o in (0, 1, 2, 0.5, float("inf"))},
    "max": _foreach(lambda m, a, b, i: m._foreach_max(a + i)),
    "mm": _foreach(lambda m, a, b, i: m._foreach_mm([b[1]], [a[1]])),
    "clone": _foreach(lambda m, a, b, i: [t.is_contiguous() for t in m._foreach_clone(a)]),
    "grads": _foreach_grads,
    # bad lists: PyTorch's exception types
    "empty_list": _foreach(lambda m, a, b, i: m._foreach_add([], 1)),
    "lengths_differ": _foreach(lambda m, a, b, i: m._foreach_add(a, [b[0]])),
    "scalar_list_length": _foreach(lambda m, a, b, i: m._foreach_mul(a, [1.0])),
    "mixed_list": _foreach(lambda m, a, b, i: m._foreach_mul(a, [2.0, m.tensor(3.0)])),
    "shapes_differ": _foreach(lambda m, a, b, i: m._foreach_add(a, [b[1], b[0]])),
    "copy_lengths_differ": _foreach(lambda m, a, b, i: m._foreach_copy_(a, b[:1])),
}


@pytest.mark.parametrize("name", sorted(FOREACH_CASES))
def test_foreach_same_as_torch(name):
    got, want = _run(FOREACH_CASES[name], ember), _run(FOREACH_CASES[name], torch)
    assert same(got, want, rtol=1e-5, atol=1e-6, strict_types=True), (got, want)


def test_foreach_names_match_torch():
    """Every torch._foreach_* function exists in ember."""
    missing = sorted(n for n in dir(torch) if n.startswith("_foreach_") and not hasattr(ember, n))
    assert not missing, missing


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_torch(name):
    got, want = _run(CASES[name], ember), _run(CASES[name], torch)
    assert same(got, want, strict_types=True), (got, want)


# ---------------------------------------------------------------------------- swap_tensors
# the swap_tensors recipe: torch.utils.swap_tensors, torch.__future__'s conversion switches
# and Tensor.module_load were missing (AttributeError)

def _with_future(swap, overwrite):
    """The program run with torch.__future__'s two switches set, then reset."""
    def wrap(program):
        def run(m):
            m.__future__.set_swap_module_params_on_conversion(swap)
            m.__future__.set_overwrite_module_params_on_conversion(overwrite)
            try:
                return program(m)
            finally:
                m.__future__.set_swap_module_params_on_conversion(False)
                m.__future__.set_overwrite_module_params_on_conversion(False)
        return run
    return wrap


def _swap_pair(m):
    a = m.ones(2, requires_grad=True)
    b = m.arange(3, dtype=m.float64)
    a.note = "a's"
    m.utils.swap_tensors(a, b)
    return [a, b, a.requires_grad, b.requires_grad, getattr(b, "note", None), hasattr(a, "note")]


def _swap_parameter(m):
    p, q = m.nn.Parameter(m.ones(2)), m.zeros(2)
    m.utils.swap_tensors(p, q)
    return [type(p).__name__, type(q).__name__, p, q]


def _swap_weakref(m):
    import weakref
    t = m.ones(1)
    ref = weakref.ref(t)   # noqa: F841 - held: its existence is what is refused
    return m.utils.swap_tensors(t, m.zeros(1))


def _convert(m):
    """A trained Linear converted to float64: which objects survive, and training goes on
    through the optimizer made before the conversion."""
    m.manual_seed(0)
    lin = m.nn.Linear(3, 2)
    lin(m.ones(1, 3)).sum().backward()
    opt = m.optim.SGD(lin.parameters(), lr=0.1)
    w, g = lin.weight, lin.weight.grad
    lin.double()
    kept = [lin.weight is w, lin.weight.grad is g, type(lin.weight).__name__]
    lin(m.ones(1, 3, dtype=m.float64)).sum().backward()
    opt.step()
    return kept + [lin.weight.dtype == m.float64, lin.weight.grad, opt.param_groups[0]["params"][0]]


def _load_swapped(m, assign):
    m.manual_seed(0)
    lin = m.nn.Linear(3, 2)
    w = lin.weight
    sd = m.nn.Linear(3, 2).double().state_dict()
    res = lin.load_state_dict(sd, assign=assign)
    return [str(res), lin.weight is w, lin.weight, lin.weight.requires_grad,
            type(lin.weight).__name__]


def _module_load_returning_other(m):
    class Keeps(m.Tensor):
        def module_load(self, other, assign=False):
            return other
    mod = m.nn.Module()
    mod.register_buffer("b", m.ones(2).as_subclass(Keeps))
    mod.sub = m.nn.Module()
    mod.sub.register_buffer("c", m.ones(2).as_subclass(Keeps))
    try:
        mod.load_state_dict({"b": m.zeros(2), "sub.c": m.zeros(2)})
    except RuntimeError as e:
        return str(e)


def _meta_warning_key(m):
    """The meta no-op warning names the full key (ember named the attribute)."""
    with m.device("meta"):
        seq = m.nn.Sequential(m.nn.Linear(2, 2))
    seq.load_state_dict(m.nn.Sequential(m.nn.Linear(2, 2)).state_dict())


SWAP_CASES = {
    "swap_pair": _swap_pair,
    "swap_parameter": _swap_parameter,
    "swap_weakref": _swap_weakref,
    "future_defaults": lambda m: [m.__future__.get_swap_module_params_on_conversion(),
                                  m.__future__.get_overwrite_module_params_on_conversion()],
    "convert_default": _convert,
    "convert_overwrite": _with_future(False, True)(_convert),
    "convert_swap": _with_future(True, False)(_convert),
    "convert_swap_and_overwrite": _with_future(True, True)(_convert),
    "load_swap": _with_future(True, False)(lambda m: _load_swapped(m, False)),
    "load_swap_assign": _with_future(True, False)(lambda m: _load_swapped(m, True)),
    "module_load": lambda m: [m.ones(2).module_load(m.zeros(2)),
                              m.ones(2).module_load(m.full((2,), 3.0), assign=True)],
    "module_load_returns_other": _with_future(True, False)(_module_load_returning_other),
    "meta_warning_names_key": _warned(_meta_warning_key),
}


@pytest.mark.parametrize("name", sorted(SWAP_CASES))
def test_swap_same_as_torch(name):
    got, want = _run(SWAP_CASES[name], ember), _run(SWAP_CASES[name], torch)
    assert same(got, want, strict_types=True), (got, want)


# ---------------------------------------------------------------------------- Fuzzer
# the benchmark recipe's section 7: torch.utils.benchmark.Fuzzer and its parts were missing
# (ImportError); a seeded fuzzer yields torch's sizes, layouts and values

def _fuzz(m, n=6, **tensor_kw):
    from importlib import import_module
    bm = import_module(m.__name__ + ".utils.benchmark")
    fuzzer = bm.Fuzzer(
        parameters=[bm.FuzzedParameter("k0", minval=1, maxval=300, distribution="loguniform"),
                    [bm.FuzzedParameter("k1", minval=1, maxval=40, distribution="uniform"),
                     bm.FuzzedParameter("d", minval=1, maxval=3, distribution="uniform",
                                        strict=True)],
                    bm.FuzzedParameter("f", minval=0.5, maxval=2.0, distribution="uniform")],
        tensors=[bm.FuzzedTensor("x", size=("k0", "k1", 3), min_elements=16, max_elements=4000,
                                 probability_contiguous=0.4, **tensor_kw)],
        constraints=[lambda p: p["k1"] % 7 != 0], seed=7)
    out = []
    for tensors, props, params in fuzzer.take(n):
        x = tensors["x"]
        props = dict(props["x"], order=props["x"]["order"].tolist(),
                     dtype=props["x"]["dtype"].split(".")[1])
        out += [sorted(params.items()), x, x.stride(), props]
    return out + [fuzzer.rejection_rate]


FUZZER_CASES = {
    "fuzzer_default": _fuzz,
    "fuzzer_steps_int": lambda m: _fuzz(m, steps=(2, 1, 3), dtype=m.int32),
    "fuzzer_dim_parameter": lambda m: _fuzz(m, dim_parameter="d", max_allocation_bytes=2000),
    "fuzzer_impossible": lambda m: _fuzz(m, max_elements=1),
    "fuzzer_alias": lambda m: m.utils.benchmark.Fuzzer._resolve_aliases(
        {"a": 3, "b": m.utils.benchmark.ParameterAlias("c"),
         "c": m.utils.benchmark.ParameterAlias("a")}),
    "fuzzer_alias_cycle": lambda m: m.utils.benchmark.Fuzzer._resolve_aliases(
        {"b": m.utils.benchmark.ParameterAlias("c"), "c": m.utils.benchmark.ParameterAlias("b")}),
    "fuzzer_duplicate_names": lambda m: m.utils.benchmark.Fuzzer(
        [m.utils.benchmark.FuzzedParameter("x", 1, 2, "uniform")],
        [m.utils.benchmark.FuzzedTensor("x", size=(2,))]),
    "fuzzer_unknown_distribution": lambda m: m.utils.benchmark.FuzzedParameter(
        "x", 1, 2, "normal"),
    "fuzzer_negative_probability": lambda m: m.utils.benchmark.FuzzedParameter(
        "x", distribution={1: -0.5, 2: 1.5}),
}


@pytest.mark.parametrize("name", sorted(FUZZER_CASES))
def test_fuzzer_same_as_torch(name):
    import torch.utils.benchmark  # noqa: F401  (torch's is imported on demand)
    got, want = _run(FUZZER_CASES[name], ember), _run(FUZZER_CASES[name], torch)
    assert same(got, want, strict_types=True), (got, want)


def test_fuzzer_custom_distribution():
    """A dict distribution draws its keys with their probabilities, ParameterAlias repeats
    another parameter (PyTorch 2.13 refuses every normalized dict: its normalization test
    is inverted, so this is checked against the specification, not the oracle)."""
    bm = ember.utils.benchmark
    fuzzer = bm.Fuzzer(
        parameters=[bm.FuzzedParameter("n", minval=4, maxval=9, distribution="uniform"),
                    bm.FuzzedParameter("m", distribution={1: 0.5, bm.ParameterAlias("n"): 0.5})],
        tensors=[bm.FuzzedTensor("x", size=("n",)), bm.FuzzedTensor("y", size=("m",))], seed=0)
    draws = [(p["n"], p["m"], t["x"].shape[0], t["y"].shape[0]) for t, _, p in fuzzer.take(200)]
    assert all(x == n and y == m and m in (1, n) for n, m, x, y in draws)
    ones = sum(m == 1 for _, m, _, _ in draws)
    assert 60 < ones < 140   # Binomial(200, 1/2): mean 100, sd 7
    with pytest.raises(AssertionError, match="not normalized"):
        bm.FuzzedParameter("q", distribution={1: 0.5, 2: 0.2})
    with pytest.raises(AssertionError, match="minval"):
        bm.FuzzedParameter("q", minval=1, distribution={1: 1.0})


# ---------------------------------------------------------------------------- tuning guide
# the tuning_guide recipe: jit.trace(model, [input]) (a list of example arguments) called
# the model on the list; torch.cpu.amp was missing; onednn_fusion_enabled ignored the switch

def _trace_list(m):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.manual_seed(0)
        lin = m.nn.Linear(3, 2)
        traced = m.jit.trace(lin, [m.ones(1, 3)])
        two = m.jit.trace(lambda a, b: a * b, [m.ones(2), m.full((2,), 3.0)])
        one = m.jit.trace(lambda a: a + 1, m.ones(2))
    return [traced(m.ones(1, 3)), two(m.ones(2), m.full((2,), 4.0)), one(m.ones(2))]


def _cpu_amp(m):
    m.manual_seed(0)
    lin = m.nn.Linear(4, 3)
    with m.no_grad(), m.cpu.amp.autocast(cache_enabled=False):
        y = lin(m.ones(2, 4))
    with m.cpu.amp.autocast(dtype=m.float16, enabled=False):
        z = lin(m.ones(2, 4))
    scaler = m.cpu.amp.GradScaler(init_scale=8.0)
    return [y, z, scaler.get_scale(), scaler.is_enabled()]


def _onednn(m):
    out = [m.jit.onednn_fusion_enabled()]
    m.jit.enable_onednn_fusion(True)
    out.append(m.jit.onednn_fusion_enabled())
    m.jit.enable_onednn_fusion(False)
    return out + [m.jit.onednn_fusion_enabled()]


TUNING_CASES = {
    "jit_trace_list_of_inputs": _trace_list,
    "cpu_amp": _warned(_cpu_amp),
    "onednn_fusion_switch": _onednn,
}


@pytest.mark.parametrize("name", sorted(TUNING_CASES))
def test_tuning_guide_same_as_torch(name):
    got, want = _run(TUNING_CASES[name], ember), _run(TUNING_CASES[name], torch)
    assert same(got, want, rtol=1e-2, atol=1e-2, strict_types=True), (got, want)


# ---------------------------------------------------------------------------- torch._logging
# compiling_optimizer_lr_scheduler / foreach_map / torch_logs recipes call
# torch._logging.set_logs (ember had no _logging: AttributeError)

LOGGING_CASES = {
    "set_logs": lambda m: [m._logging.set_logs(recompiles=True, output_code=False),
                           m._logging.set_logs(dynamo=10), m._logging.set_logs()],
    "set_logs_unknown_keyword": lambda m: m._logging.set_logs(not_a_log=True),
    "set_logs_positional": lambda m: m._logging.set_logs(True),
}


@pytest.mark.parametrize("name", sorted(LOGGING_CASES))
def test_logging_same_as_torch(name):
    try:
        got, want = _run(LOGGING_CASES[name], ember), _run(LOGGING_CASES[name], torch)
    finally:
        torch._logging.set_logs()
    assert same(got, want, strict_types=True), (got, want)


# ---------------------------------------------------------------------------- torch._dynamo
# the torch_logs recipe resets dynamo between its examples (ember had no _dynamo)

def _dynamo_config(m):
    cfg = m._dynamo.config
    before = [cfg.suppress_errors, cfg.cache_size_limit, cfg.automatic_dynamic_shapes]
    cfg.suppress_errors = True
    try:
        return before + [cfg.suppress_errors]
    finally:
        cfg.suppress_errors = False


DYNAMO_CASES = {
    "reset_and_marks": lambda m: [m._dynamo.reset(), m._dynamo.mark_dynamic(m.ones(3), 0),
                                  m._dynamo.mark_static(m.ones(3), 0), m._dynamo.is_compiling()],
    "config": _dynamo_config,
    "config_unknown_set": lambda m: setattr(m._dynamo.config, "no_such_setting", 1),
    "config_unknown_get": lambda m: m._dynamo.config.no_such_setting,
    "disable": lambda m: m._dynamo.disable(lambda x: x * 2)(m.ones(2)),
}


@pytest.mark.parametrize("name", sorted(DYNAMO_CASES))
def test_dynamo_same_as_torch(name):
    import torch._dynamo  # noqa: F401
    got, want = _run(DYNAMO_CASES[name], ember), _run(DYNAMO_CASES[name], torch)
    assert same(got, want, strict_types=True), (got, want)


# ---------------------------------------------------------------------------- function modes
# the torch_compile_torch_function_modes recipe: torch.overrides.BaseTorchFunctionMode was
# missing (ImportError)

def _add_to_mul(m):
    class AddToMultiply(m.overrides.BaseTorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if func == m.Tensor.add:
                func = m.mul
            return super().__torch_function__(func, types, args, kwargs)
    x, y = m.tensor([[1.0, 2.0], [3.0, 4.0]]), m.tensor([[0.5, 2.0], [-1.0, 3.0]])
    with AddToMultiply():
        z = x + y * x
    return [z, x + y * x]


def _logged_calls(m):
    names = []

    class Log(m.overrides.BaseTorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            names.append(getattr(func, "__name__", None))
            return super().__torch_function__(func, types, args, kwargs)
    with Log():
        c = m.nn.functional.relu(m.ones(2) + 1).sum(dim=0)
    return [names, c]


MODE_CASES = {"add_to_mul": _add_to_mul, "logged_calls": _logged_calls}


@pytest.mark.parametrize("name", sorted(MODE_CASES))
def test_function_mode_same_as_torch(name):
    got, want = _run(MODE_CASES[name], ember), _run(MODE_CASES[name], torch)
    assert same(got, want, strict_types=True), (got, want)


# ---------------------------------------------------------------------------- compile(module)
# regional_compilation / tuning_guide recipes: torch.compile(module) returns an
# OptimizedModule around it (state_dict keys '_orig_mod.*', model._orig_mod); ember returned
# the module itself

def _compiled(m):
    import copy
    import pickle
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.manual_seed(0)
        inner = m.nn.Sequential(m.nn.Linear(3, 2), m.nn.Dropout(0.5))
        model = m.compile(inner, backend="eager")
    out = [type(model).__name__, model._orig_mod is inner, list(model.state_dict()),
           [p is q for p, q in zip(model.parameters(), inner.parameters())],
           len(model), model[0] is inner[0], repr(model).replace("ember", "torch")]
    model.eval()
    out += [inner.training, model.training, model(m.ones(1, 3))]
    model.custom = 5                      # attributes written go to the original
    out += [inner.custom, model.custom]
    sd = {k: v * 0 for k, v in model.state_dict().items()}
    model.load_state_dict(sd)
    out += [inner[0].weight.sum(), copy.deepcopy(model)(m.ones(1, 3)),
            type(pickle.loads(pickle.dumps(model))).__name__]
    from importlib import import_module
    opt_cls = import_module(m.__name__ + "._dynamo.eval_frame").OptimizedModule
    out += [isinstance(model, opt_cls), isinstance(model, m.nn.Module)]
    return out


def _compiled_disabled(m):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lin = m.nn.Linear(2, 2)
        return [m.compile(lin, disable=True) is lin]


COMPILE_CASES = {"compiled_module": _compiled, "compiled_disabled": _compiled_disabled}


@pytest.mark.parametrize("name", sorted(COMPILE_CASES))
def test_compile_same_as_torch(name):
    got, want = _run(COMPILE_CASES[name], ember), _run(COMPILE_CASES[name], torch)
    assert same(got, want, strict_types=True), (got, want)


# ---------------------------------------------------------------------------- quantization
# the dynamic_quantization recipe: torch.quantization / torch.ao.quantization were missing
# (AttributeError); the workflows are tested against torch in tests/test_quant_workflow.py

def test_quantization_names_exist_in_torch():
    """The refusing entry points carry PyTorch's names (nothing ember-only)."""
    import torch.ao.quantization as tq
    assert all(hasattr(tq, name) for name in ember.ao.quantization.__all__)


# ---------------------------------------------------------------------------- parameters
# the swap_tensors recipe reassigns parameters: a reassigned parameter moved to the end of
# named_parameters/state_dict in ember; nn.Parameter of a Tensor subclass became a plain
# Parameter (PyTorch keeps the subclass, marked as a parameter)

def _reassigned_order(m):
    lin = m.nn.Linear(2, 2)
    lin.weight = m.nn.Parameter(m.ones(2, 2))
    return [[n for n, _ in lin.named_parameters()], list(lin.state_dict())]


def _subclass_parameter(m):
    class Sub(m.Tensor):
        pass
    p = m.nn.Parameter(m.ones(2).as_subclass(Sub), requires_grad=False)
    lin = m.nn.Linear(2, 2)
    lin.weight = m.nn.Parameter(m.ones(2, 2).as_subclass(Sub))
    y = lin(m.ones(1, 2))
    y.sum().backward()
    m.optim.SGD(lin.parameters(), lr=0.1).step()
    return [type(p).__name__, p.requires_grad, isinstance(p, m.nn.Parameter),
            isinstance(m.ones(1).as_subclass(Sub), m.nn.Parameter),
            isinstance(m.ones(1), m.nn.Parameter), [n for n, _ in lin.named_parameters()],
            type(lin.weight).__name__, type(y).__name__, lin.weight.grad, lin.weight.detach(),
            repr(lin.weight).replace("ember", "torch"), repr(m.nn.Parameter(m.ones(1)))]


PARAM_CASES = {"reassigned_order": _reassigned_order, "subclass_parameter": _subclass_parameter}


@pytest.mark.parametrize("name", sorted(PARAM_CASES))
def test_parameters_same_as_torch(name):
    got, want = _run(PARAM_CASES[name], ember), _run(PARAM_CASES[name], torch)
    assert same(got, want, strict_types=True), (got, want)
