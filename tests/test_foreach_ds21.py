"""torch._foreach_* (ember/_ops/foreach.py) against PyTorch: values, dtypes, what the
in-place forms return, argument reading (keywords, overload choice, TypeError for a call
that fits no overload), errors, gradients, and what a __torch_dispatch__ mode sees
(``aten._foreach_add.List`` with list arguments, defaults left out, once per call)."""
import pytest
import torch

import ember


LIBS = (torch, ember)


def _lists(lib):
    """Fresh operands: a (2-tensor float list) b (another) i (int list) s (one 0-dim)."""
    a = [lib.tensor([1.5, -2.0, 0.25]), lib.tensor([[0.5], [3.0]])]
    b = [lib.tensor([0.5, 4.0, -1.0]), lib.tensor([[2.0], [-0.75]])]
    i = [lib.tensor([1, 2, 3]), lib.tensor([[4], [5]])]
    return a, b, i


def _norm(out, lib):
    """A comparable form of a result: values and dtypes of tensors, nested."""
    if isinstance(out, lib.Tensor):
        return ("T", str(out.dtype).split(".")[-1], tuple(out.shape), out.tolist())
    if isinstance(out, (list, tuple)):
        return (type(out).__name__, [_norm(o, lib) for o in out])
    return out


def _outcome(lib, call):
    a, b, i = _lists(lib)
    try:
        out = call(lib, a, b, i)
    except Exception as e:   # noqa: BLE001  (the exception type is compared)
        return ("raises", type(e).__name__, str(e).split("\n")[0])
    result = _norm(out, lib)
    if isinstance(out, list):   # an in-place form: it returns the list it was given
        result = (result, out is a or out is i or out is b, _norm(a, lib), _norm(i, lib))
    return result


CALLS = {
    # binary, each overload, and the keywords PyTorch's schema names
    "add_scalar": lambda m, a, b, i: m._foreach_add(a, 1.5),
    "add_scalar_kw": lambda m, a, b, i: m._foreach_add(a, scalar=2),
    "add_scalars_kw": lambda m, a, b, i: m._foreach_add(a, scalars=[1, 2.5]),
    "add_other_kw": lambda m, a, b, i: m._foreach_add(a, other=b, alpha=2),
    "add_list_alpha": lambda m, a, b, i: m._foreach_add(a, b, alpha=-0.5),
    "add_tuple": lambda m, a, b, i: m._foreach_add(tuple(a), tuple(b)),
    "add_tensor0_alpha": lambda m, a, b, i: m._foreach_add(a, m.tensor(2.0), alpha=3),
    "add_tensor0": lambda m, a, b, i: m._foreach_add(a, m.tensor(2.0)),
    "add_tensor1_raises": lambda m, a, b, i: m._foreach_add(a, m.tensor([2.0])),
    "add_alpha_scalar_raises": lambda m, a, b, i: m._foreach_add(a, 1, alpha=2),
    "add_other_scalar_raises": lambda m, a, b, i: m._foreach_add(a, other=1),
    "add_string_raises": lambda m, a, b, i: m._foreach_add(a, "x"),
    "add_none_raises": lambda m, a, b, i: m._foreach_add(a, None),
    "add_two_operands_raises": lambda m, a, b, i: m._foreach_add(a, 1, scalar=2),
    "add_int_float": lambda m, a, b, i: m._foreach_add(i, 1.5),
    "add_int_list_float": lambda m, a, b, i: m._foreach_add(i, [1, 0.5]),
    "add_mixed_list_raises": lambda m, a, b, i: m._foreach_add(a, [b[0], 1]),
    "add_list_length_raises": lambda m, a, b, i: m._foreach_add(a, b[:1]),
    "add_scalars_length_raises": lambda m, a, b, i: m._foreach_add(a, [1.0]),
    "add_empty_raises": lambda m, a, b, i: m._foreach_add([], 1),
    "add_not_list_raises": lambda m, a, b, i: m._foreach_add(a[0], 1),
    "add_broadcast": lambda m, a, b, i: m._foreach_add(a, [b[1], b[0][:1]]),
    "add_shape_raises": lambda m, a, b, i: m._foreach_add(a, [m.ones(2), b[1]]),
    "add_complex": lambda m, a, b, i: m._foreach_mul(a, 1j),
    "add_bool": lambda m, a, b, i: m._foreach_add(i, True),
    "sub_list_alpha": lambda m, a, b, i: m._foreach_sub(a, b, alpha=2),
    "sub_tensor0": lambda m, a, b, i: m._foreach_sub(a, m.tensor(0.5)),
    "sub_tensor1_raises": lambda m, a, b, i: m._foreach_sub(a, m.ones(2)),
    "sub_scalarlist_alpha_raises": lambda m, a, b, i: m._foreach_sub(a, [1, 2], alpha=2),
    "mul_tensor0": lambda m, a, b, i: m._foreach_mul(a, m.tensor(3.0)),
    "mul_tensor0_float64": lambda m, a, b, i: m._foreach_mul(a, m.tensor(3.0, dtype=m.float64)),
    "mul_alpha_raises": lambda m, a, b, i: m._foreach_mul(a, b, alpha=2),
    "mul_list": lambda m, a, b, i: m._foreach_mul(a, b),
    "div_scalar_int": lambda m, a, b, i: m._foreach_div(i, 2),
    "div_tensor0": lambda m, a, b, i: m._foreach_div(a, m.tensor(4.0)),
    "div_scalars": lambda m, a, b, i: m._foreach_div(a, [2.0, -4]),
    "maximum_list": lambda m, a, b, i: m._foreach_maximum(a, b),
    "maximum_scalar": lambda m, a, b, i: m._foreach_maximum(a, 0.75),
    "maximum_tensor0": lambda m, a, b, i: m._foreach_maximum(a, m.tensor(1.0)),
    "maximum_scalars": lambda m, a, b, i: m._foreach_maximum(a, [0.0, 1.0]),
    "minimum_list": lambda m, a, b, i: m._foreach_minimum(a, other=b),
    "clamp_min_scalars": lambda m, a, b, i: m._foreach_clamp_min(a, [1.0, 2]),
    "clamp_max_list": lambda m, a, b, i: m._foreach_clamp_max(a, b),
    "clamp_max_scalar_kw": lambda m, a, b, i: m._foreach_clamp_max(a, scalar=0.5),
    # in-place: the list given comes back
    "add_": lambda m, a, b, i: m._foreach_add_(a, b, alpha=0.5),
    "add_scalar_": lambda m, a, b, i: m._foreach_add_(a, 2),
    "add_tensor0_": lambda m, a, b, i: m._foreach_add_(a, m.tensor(2.0)),
    "add_int_float_raises": lambda m, a, b, i: m._foreach_add_(i, 1.5),
    "mul_": lambda m, a, b, i: m._foreach_mul_(a, [2, 3]),
    "div_": lambda m, a, b, i: m._foreach_div_(a, m.tensor(2.0)),
    "sub_": lambda m, a, b, i: m._foreach_sub_(a, b),
    "maximum_": lambda m, a, b, i: m._foreach_maximum_(a, b),
    "minimum_scalar_": lambda m, a, b, i: m._foreach_minimum_(a, 0.0),
    "clamp_min_": lambda m, a, b, i: m._foreach_clamp_min_(a, 0.0),
    "clamp_max_": lambda m, a, b, i: m._foreach_clamp_max_(a, [1.0, 0.3]),
    # addcmul / addcdiv: value, scalar list, tensor of scalars
    "addcmul": lambda m, a, b, i: m._foreach_addcmul(a, a, b),
    "addcmul_value": lambda m, a, b, i: m._foreach_addcmul(a, a, b, value=0.5),
    "addcmul_scalars": lambda m, a, b, i: m._foreach_addcmul(a, a, b, [0.5, -2]),
    "addcmul_scalars_kw": lambda m, a, b, i: m._foreach_addcmul(a, a, b, scalars=[1, 2]),
    "addcmul_tensor": lambda m, a, b, i: m._foreach_addcmul(a, a, b, m.tensor([2.0, 3.0])),
    "addcmul_kw_tensors": lambda m, a, b, i: m._foreach_addcmul(a, tensor1=a, tensor2=b),
    "addcmul_value_list_raises": lambda m, a, b, i: m._foreach_addcmul(a, a, b, value=[1, 2]),
    "addcmul_tensor2d_raises": lambda m, a, b, i: m._foreach_addcmul(a, a, b, m.ones(2, 1)),
    "addcmul_tensor_len_raises": lambda m, a, b, i: m._foreach_addcmul(a, a, b, m.ones(3)),
    "addcmul_len_raises": lambda m, a, b, i: m._foreach_addcmul(a, a[:1], b),
    "addcdiv": lambda m, a, b, i: m._foreach_addcdiv(a, a, b, 2),
    "addcdiv_tensor": lambda m, a, b, i: m._foreach_addcdiv(a, b, a, m.tensor([1.0, -1.0])),
    "addcmul_": lambda m, a, b, i: m._foreach_addcmul_(a, b, b, 0.25),
    "addcdiv_scalars_": lambda m, a, b, i: m._foreach_addcdiv_(a, a, b, [1.0, 2.0]),
    # lerp
    "lerp_scalar": lambda m, a, b, i: m._foreach_lerp(a, b, 0.25),
    "lerp_scalars": lambda m, a, b, i: m._foreach_lerp(a, b, [0.5, 0.2]),
    "lerp_list": lambda m, a, b, i: m._foreach_lerp(a, b, [m.full_like(t, 0.3) for t in a]),
    "lerp_weight_kw": lambda m, a, b, i: m._foreach_lerp(a, tensors1=b, weight=0.5),
    "lerp_weights_kw": lambda m, a, b, i: m._foreach_lerp(a, b, weights=b),
    "lerp_weight_list_raises": lambda m, a, b, i: m._foreach_lerp(a, b, weight=b),
    "lerp_len_raises": lambda m, a, b, i: m._foreach_lerp(a, b[:1], 0.5),
    "lerp_": lambda m, a, b, i: m._foreach_lerp_(a, b, 0.75),
    "lerp_list_": lambda m, a, b, i: m._foreach_lerp_(a, b, [m.full_like(t, 0.3) for t in a]),
    # pow
    "pow_scalar": lambda m, a, b, i: m._foreach_pow(a, 2),
    "pow_exponent_kw": lambda m, a, b, i: m._foreach_pow(a, exponent=3),
    "pow_scalars": lambda m, a, b, i: m._foreach_pow(m._foreach_abs(a), [0.5, 2]),
    "pow_list": lambda m, a, b, i: m._foreach_pow(m._foreach_abs(a), b),
    "pow_base": lambda m, a, b, i: m._foreach_pow(2.0, a),
    "pow_int_neg_raises": lambda m, a, b, i: m._foreach_pow(i, -1),
    "pow_": lambda m, a, b, i: m._foreach_pow_(a, 2),
    # unary
    "sqrt": lambda m, a, b, i: m._foreach_sqrt(m._foreach_abs(a)),
    "sqrt_int": lambda m, a, b, i: m._foreach_sqrt(i),
    "sqrt_int_raises": lambda m, a, b, i: m._foreach_sqrt_(i),
    "neg": lambda m, a, b, i: m._foreach_neg(i),
    "neg_": lambda m, a, b, i: m._foreach_neg_(a),
    "abs": lambda m, a, b, i: m._foreach_abs(a),
    "exp": lambda m, a, b, i: m._foreach_exp(a),
    "exp_not_list_raises": lambda m, a, b, i: m._foreach_exp(a[0]),
    "norm_not_list_raises": lambda m, a, b, i: m._foreach_norm(a[0]),
    "lerp_not_list_raises": lambda m, a, b, i: m._foreach_lerp(a[0], b, 0.5),
    "maximum_int_float_raises": lambda m, a, b, i: m._foreach_maximum_(i, b),
    "minimum_tensor0_": lambda m, a, b, i: m._foreach_minimum_(a, m.tensor(1.0)),
    "exp_": lambda m, a, b, i: m._foreach_exp_(a),
    "sign": lambda m, a, b, i: m._foreach_sign(a),
    "reciprocal": lambda m, a, b, i: m._foreach_reciprocal(a),
    "reciprocal_int": lambda m, a, b, i: m._foreach_reciprocal(i),
    # reductions and the rest
    "norm": lambda m, a, b, i: m._foreach_norm(a),
    "norm_1": lambda m, a, b, i: m._foreach_norm(a, 1),
    "norm_inf": lambda m, a, b, i: m._foreach_norm(a, float("inf")),
    "norm_0": lambda m, a, b, i: m._foreach_norm(a, ord=0),
    "norm_3_float64": lambda m, a, b, i: m._foreach_norm(a, 3, dtype=m.float64),
    "norm_int_raises": lambda m, a, b, i: m._foreach_norm(i),
    "norm_str_raises": lambda m, a, b, i: m._foreach_norm(a, "fro"),
    "norm_empty_inf_raises": lambda m, a, b, i: m._foreach_norm([m.ones(0)], float("inf")),
    "max": lambda m, a, b, i: m._foreach_max(a),
    "zero_": lambda m, a, b, i: m._foreach_zero_(a),
    "copy_": lambda m, a, b, i: m._foreach_copy_(a, b),
    "copy_int_to_float": lambda m, a, b, i: m._foreach_copy_(a, i),
    "copy_len_raises": lambda m, a, b, i: m._foreach_copy_(a, b[:1]),
}


def _same(got, expected):
    """Equal structures; floats within a float32 rounding or two (exp's last bit differs
    from PyTorch's vectorized kernel), NaN equal to NaN."""
    if isinstance(expected, float) and isinstance(got, float):
        return got == pytest.approx(expected, rel=3e-7, abs=1e-12, nan_ok=True)
    if isinstance(expected, (list, tuple)) and isinstance(got, (list, tuple)):
        return type(got) is type(expected) and len(got) == len(expected) and \
            all(_same(g, e) for g, e in zip(got, expected))
    return type(got) is type(expected) and got == expected


@pytest.mark.parametrize("name", sorted(CALLS))
def test_foreach_matches_torch(name):
    expected, got = (_outcome(lib, CALLS[name]) for lib in LIBS)
    assert _same(got, expected), (got, expected)
    assert (expected[0] == "raises") == name.endswith("_raises")


def _grads(lib):
    """Out-of-place foreach ops are differentiable (PyTorch's Foreach...Backward nodes)."""
    xs = [lib.tensor([1.0, -2.0, 0.5], requires_grad=True),
          lib.tensor([[0.25], [1.5]], requires_grad=True)]
    ys = [lib.tensor([0.5, 1.0, 2.0], requires_grad=True),
          lib.tensor([[1.0], [-1.0]], requires_grad=True)]
    h = lib._foreach_mul(xs, 1.5)
    h = lib._foreach_addcmul(h, xs, ys, [0.5, 2.0])
    h = lib._foreach_lerp(h, ys, 0.25)
    h = lib._foreach_add(h, ys, alpha=-2)
    h = lib._foreach_maximum(h, lib._foreach_exp(ys))
    h = lib._foreach_div(h, lib._foreach_sqrt(lib._foreach_add(lib._foreach_pow(ys, 2), 1)))
    norms = lib._foreach_norm(h)
    (norms[0] * 2 + norms[1]).backward()
    return [t.grad.tolist() for t in xs + ys]


def test_foreach_gradients_match_torch():
    expected, got = _grads(torch), _grads(ember)
    assert len(got) == len(expected) == 4
    for e, g in zip(expected, got):
        torch.testing.assert_close(torch.tensor(g), torch.tensor(e), rtol=1e-5, atol=1e-6)


def test_foreach_inplace_on_leaf_requiring_grad_raises_as_torch():
    for lib in LIBS:
        xs = [lib.ones(2, requires_grad=True)]
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            lib._foreach_add_(xs, 1.0)


# -------------------------------------------------------------------- __torch_dispatch__

def _mode_class(lib):
    if lib is torch:
        from torch.utils._python_dispatch import TorchDispatchMode
    else:
        from ember.utils._python_dispatch import TorchDispatchMode
    return TorchDispatchMode


def _shape_of(value, lib):
    """The structure a handler received: T for a tensor, lists and tuples kept."""
    if isinstance(value, lib.Tensor):
        return "T"
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_shape_of(v, lib) for v in value])
    if isinstance(value, lib.dtype):
        return str(value).split(".")[-1]
    return value


def _seen(lib, call):
    seen = []

    class Log(_mode_class(lib)):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            seen.append((str(func), _shape_of(args, lib), _shape_of(kwargs or {}, lib)))
            return func(*args, **(kwargs or {}))
    a, b, i = _lists(lib)
    s = lib.tensor(2.0)
    with Log():
        out = call(lib, a, b, s)
    return seen, _norm(out, lib)


DISPATCHED = {
    "add_scalar": lambda m, a, b, s: m._foreach_add(a, 1.5),
    "add_list": lambda m, a, b, s: m._foreach_add(tuple(a), b),
    "add_list_alpha": lambda m, a, b, s: m._foreach_add(a, b, alpha=2),
    "add_list_alpha_one": lambda m, a, b, s: m._foreach_add(a, b, alpha=1),
    "add_scalars": lambda m, a, b, s: m._foreach_add(a, [1.0, 2]),
    "add_tensor0": lambda m, a, b, s: m._foreach_add(a, s),
    "add_tensor0_alpha": lambda m, a, b, s: m._foreach_add(a, s, alpha=2),
    "mul_tensor0": lambda m, a, b, s: m._foreach_mul(a, s),
    "sub_": lambda m, a, b, s: m._foreach_sub_(a, b, alpha=3),
    "maximum": lambda m, a, b, s: m._foreach_maximum(a, b),
    "clamp_min_scalars": lambda m, a, b, s: m._foreach_clamp_min(a, [0.0, 1.0]),
    "addcmul": lambda m, a, b, s: m._foreach_addcmul(a, a, b),
    "addcmul_value": lambda m, a, b, s: m._foreach_addcmul(a, a, b, value=2),
    "addcdiv_scalars_": lambda m, a, b, s: m._foreach_addcdiv_(a, a, b, [1.0, 2.0]),
    "lerp_scalar_": lambda m, a, b, s: m._foreach_lerp_(a, b, 0.5),
    "lerp_list": lambda m, a, b, s: m._foreach_lerp(a, b, b),
    "pow_base": lambda m, a, b, s: m._foreach_pow(2.0, a),
    "pow_scalars": lambda m, a, b, s: m._foreach_pow(a, [2.0, 1]),
    "norm": lambda m, a, b, s: m._foreach_norm(a),
    "norm_2": lambda m, a, b, s: m._foreach_norm(a, 2),
    "norm_1_dtype": lambda m, a, b, s: m._foreach_norm(a, 1, dtype=m.float64),
    "sqrt": lambda m, a, b, s: m._foreach_sqrt(a),
    "neg_": lambda m, a, b, s: m._foreach_neg_(a),
    "max": lambda m, a, b, s: m._foreach_max(a),
    "zero_": lambda m, a, b, s: m._foreach_zero_(a),
    "copy_": lambda m, a, b, s: m._foreach_copy_(a, b),
    "copy_non_blocking": lambda m, a, b, s: m._foreach_copy_(a, b, non_blocking=True),
    "clone": lambda m, a, b, s: m._foreach_clone(a),
}


@pytest.mark.parametrize("name", sorted(DISPATCHED))
def test_foreach_dispatches_as_torch_overload(name):
    expected, got = (_seen(lib, DISPATCHED[name]) for lib in LIBS)
    assert _same(got, expected), (got, expected)


def test_foreach_handler_result_and_nested_modes():
    """The handler's result is the op's (out of place); two modes both see the op once,
    the outer first; a mode that answers without calling func is what the call returns."""
    for lib in LIBS:
        TorchDispatchMode = _mode_class(lib)
        order = []

        class Named(TorchDispatchMode):
            def __init__(self, name, answer=None):
                super().__init__()
                self.name, self.answer = name, answer

            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                order.append((self.name, str(func)))
                if self.answer is not None and "_foreach" in str(func):
                    return self.answer
                return func(*args, **(kwargs or {}))

        a, b, _ = _lists(lib)
        with Named("inner"), Named("outer"):
            out = lib._foreach_mul(a, b)
        assert order == [("outer", "aten._foreach_mul.List"),
                         ("inner", "aten._foreach_mul.List")]
        assert [t.tolist() for t in out] == [(x * y).tolist() for x, y in zip(a, b)]
        marker = [lib.zeros(1)]
        with Named("answers", marker):
            out = lib._foreach_exp(a)
        assert len(out) == 1 and out[0] is marker[0]


def test_foreach_backward_under_mode_matches_torch():
    """With grad on, the ops are recorded below the handler: backward works, and the
    forward op seen is the foreach overload."""
    results = []
    for lib in LIBS:
        TorchDispatchMode = _mode_class(lib)
        seen = []

        class Log(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                seen.append(str(func))
                return func(*args, **(kwargs or {}))
        xs = [lib.tensor([1.0, 2.0], requires_grad=True), lib.tensor([3.0], requires_grad=True)]
        with Log():
            ys = lib._foreach_mul(xs, 3.0)
        (ys[0].sum() + ys[1].sum() * 2).backward()
        results.append((seen, [x.grad.tolist() for x in xs],
                        [y.requires_grad for y in ys]))
    assert results[1] == results[0]


def _wrapper_run(lib):
    """A wrapper subclass (``_make_wrapper_subclass``) inside the lists: its handler sees
    each foreach op once, and wraps what it returns."""
    if lib is torch:
        from torch.utils._pytree import tree_map
    else:
        from ember.utils._pytree import tree_map
    seen = []

    class W(lib.Tensor):
        @staticmethod
        def __new__(cls, elem):
            return lib.Tensor._make_wrapper_subclass(cls, elem.shape, dtype=elem.dtype)

        def __init__(self, elem):
            self.elem = elem

        @classmethod
        def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
            seen.append(str(func))

            def unwrap(t):
                return t.elem if isinstance(t, W) else t

            def wrap(t):
                return W(t) if isinstance(t, lib.Tensor) and not isinstance(t, W) else t
            return tree_map(wrap, func(*tree_map(unwrap, args), **tree_map(unwrap, kwargs or {})))

    xs = [W(lib.tensor([1.0, 2.0])), W(lib.tensor([3.0]))]
    ys = lib._foreach_add(xs, 1.0)
    lib._foreach_mul_(xs, [2.0, 3.0])
    norms = lib._foreach_norm(xs)
    return (seen, [type(y).__name__ for y in ys], [y.elem.tolist() for y in ys],
            [x.elem.tolist() for x in xs], [v.elem.item() for v in norms])


def test_foreach_on_wrapper_subclass_matches_torch():
    expected, got = _wrapper_run(torch), _wrapper_run(ember)
    assert _same(got, expected), (got, expected)


NODE_CALLS = {
    "exp": lambda m, x, y: m._foreach_exp(x),
    "log1p": lambda m, x, y: m._foreach_log1p(x),
    "sqrt": lambda m, x, y: m._foreach_sqrt(x),
    "add_scalar": lambda m, x, y: m._foreach_add(x, 1.0),
    "add_list": lambda m, x, y: m._foreach_add(x, y),
    "add_scalars": lambda m, x, y: m._foreach_add(x, [1.0, 2.0]),
    "add_tensor": lambda m, x, y: m._foreach_add(x, m.tensor(2.0), alpha=2),
    "sub_tensor0": lambda m, x, y: m._foreach_sub(x, m.tensor(2.0)),
    "mul_scalar": lambda m, x, y: m._foreach_mul(x, 3.0),
    "mul_tensor": lambda m, x, y: m._foreach_mul(x, m.tensor(3.0)),
    "div_list": lambda m, x, y: m._foreach_div(x, y),
    "clamp_min_list": lambda m, x, y: m._foreach_clamp_min(x, y),
    "maximum_scalar": lambda m, x, y: m._foreach_maximum(x, 0.5),
    "maximum_scalars": lambda m, x, y: m._foreach_maximum(x, [0.5, 0.1]),
    "minimum_list": lambda m, x, y: m._foreach_minimum(x, y),
    "pow_scalar": lambda m, x, y: m._foreach_pow(x, 2),
    "pow_list": lambda m, x, y: m._foreach_pow(x, y),
    "pow_base": lambda m, x, y: m._foreach_pow(2.0, x),
    "addcmul": lambda m, x, y: m._foreach_addcmul(x, y, y, 0.5),
    "addcdiv_scalars": lambda m, x, y: m._foreach_addcdiv(x, y, y, [0.5, 2.0]),
    "lerp_list": lambda m, x, y: m._foreach_lerp(x, y, y),
    "norm": lambda m, x, y: m._foreach_norm(x),
    "max": lambda m, x, y: m._foreach_max(x),
    "clone": lambda m, x, y: m._foreach_clone(x),
}


def _nodes(lib, call):
    x = [lib.tensor([0.5, 1.5], requires_grad=True), lib.tensor([2.0], requires_grad=True)]
    y = [lib.tensor([1.0, 0.25]), lib.tensor([0.75])]
    outs = call(lib, x, y)
    total = sum(o.sum() for o in outs)
    total.backward()
    return [o.grad_fn.name() for o in outs], [t.grad.tolist() for t in x]


@pytest.mark.parametrize("name", sorted(NODE_CALLS))
def test_foreach_node_names_and_grads_as_torch(name):
    """Each output's grad_fn is named as PyTorch's node (ForeachMulBackward1Scalar ...;
    ember has one node per output where PyTorch shares one), gradients equal."""
    expected, got = (_nodes(lib, NODE_CALLS[name]) for lib in LIBS)
    assert _same(got, expected), (got, expected)
