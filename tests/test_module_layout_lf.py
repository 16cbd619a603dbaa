"""The large-file splits keep what programs and pickles see: nn.functional's functions,
written in ember/nn/_functional/, are named ember.nn.functional.X (as torch's are named
torch.nn.functional.X) and pickle by that name; the observers keep their module; the ops
moved out of _ops/linalg.py and _ops/indexing.py keep their public names, Tensor methods
and node names."""
import os
import pickle
import types

import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as F

_PRIVATE_DIR = os.path.join(os.path.dirname(F.__file__), "_functional")


def _written_in_private_package(fn):
    # (through the fronts ember's layers lay over it: autocast's entries, once used)
    from ember._fronts import layer_of
    while layer_of(fn) is not None and getattr(fn, "__wrapped__", None) is not None:
        fn = fn.__wrapped__
    code = getattr(fn, "__code__", None)
    return code is not None and os.path.dirname(os.path.abspath(code.co_filename)) == \
        os.path.abspath(_PRIVATE_DIR)


def _functional_functions():
    return {n: v for n, v in vars(F).items()
            if not n.startswith("_") and isinstance(v, types.FunctionType)
            and _written_in_private_package(v)}


def test_the_split_package_holds_the_functional_code():
    # (through every wrapper: the layers other tests laid leave fronts over F's functions)
    from ember._fronts import chain
    found = {n: v for n, v in vars(F).items()
             if not n.startswith("_") and isinstance(v, types.FunctionType)
             and any(_written_in_private_package(f) for f in chain(v))}
    assert len(found) > 60
    for name in ("relu", "hardtanh", "dropout2d", "kl_div", "multi_margin_loss", "bilinear",
                 "huber_loss", "max_pool2d", "normalize", "gumbel_softmax"):
        assert name in found, name


@pytest.mark.parametrize("name", sorted(_functional_functions()))
def test_functional_function_is_named_and_pickled_as_public(name):
    fn = getattr(F, name)
    assert fn.__module__ == "ember.nn.functional"
    assert pickle.loads(pickle.dumps(fn)) is fn
    t = getattr(TF, name, None)
    if isinstance(t, types.FunctionType):   # the oracle's is a Python function of that module
        assert t.__module__ == "torch.nn.functional"


def test_public_functional_names_cover_torch():
    """Every public name torch.nn.functional has (but its own imports and typing helpers)
    ember's has too."""
    helpers = {"BroadcastingList1", "BroadcastingList2", "BroadcastingList3", "Callable",
               "DType", "Optional", "TYPE_CHECKING", "assert_int_or_pair", "boolean_dispatch",
               "conv_tbc", "dataclasses", "importlib", "np", "reproducibility_notes",
               "sparse_support_notes", "tf32_notes", "torch"}
    missing = {n for n in dir(TF) if not n.startswith("_") and not hasattr(F, n)} - helpers
    assert missing == set()


def test_observer_classes_keep_their_module():
    from ember.ao.quantization import observer as EO
    from torch.ao.quantization import observer as TO
    classes = [n for n in EO.__all__ if isinstance(getattr(EO, n), type)]
    assert len(classes) >= 10
    for n in classes:
        assert getattr(EO, n).__module__ == "ember.ao.quantization.observer", n
        assert getattr(TO, n).__module__ == "torch.ao.quantization.observer", n
    # the qparams helpers torch's observer module has are still reached there
    for n in ("calculate_qmin_qmax", "validate_qmin_qmax", "check_min_max_valid"):
        assert callable(getattr(EO, n)) and callable(getattr(TO, n))


def test_observer_state_dict_keys_match_torch():
    from ember.ao.quantization import observer as EO
    from torch.ao.quantization import observer as TO
    for n in ("MinMaxObserver", "PerChannelMinMaxObserver", "HistogramObserver"):
        assert list(getattr(EO, n)().state_dict()) == list(getattr(TO, n)().state_dict()), n


@pytest.mark.parametrize("lib", ["ember", "torch"])
def test_moved_ops_keep_names_and_node_names(lib):
    L = ember if lib == "ember" else torch
    x = L.arange(6.0).reshape(2, 3).requires_grad_()
    idx = L.tensor([[0, 0], [1, 2]])
    names = [
        x.gather(1, idx).grad_fn.name(),
        x.scatter(1, idx, 5.0).grad_fn.name(),
        L.scatter_add(x, 1, idx, L.ones(2, 2)).grad_fn.name(),
        L.take_along_dim(x, idx, 1).grad_fn.name(),
        L.addmm(L.zeros(2, 2), x, x.t()).grad_fn.name(),
        L.addmv(L.zeros(2), x, L.ones(3)).grad_fn.name(),
        L.addr(L.zeros(2, 3), L.ones(2), L.ones(3, requires_grad=True)).grad_fn.name(),
        L.baddbmm(L.zeros(1, 2, 2), x[None], x.t()[None]).grad_fn.name(),
        L.addbmm(L.zeros(2, 2), x[None], x.t()[None]).grad_fn.name(),
    ]
    assert names == ["GatherBackward0", "ScatterBackward1", "ScatterAddBackward0",
                     "GatherBackward0", "AddmmBackward0", "AddmvBackward0", "AddrBackward0", "BaddbmmBackward0",
                     "AddbmmBackward0"]


@pytest.mark.parametrize("op", ["addmm", "addmv", "addbmm", "baddbmm", "addr"])
@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16"])
def test_add_product_family_values_and_grads_match_torch(op, dtype):
    """The five nodes now share one forward/backward: values and gradients as torch's,
    including the half-precision kernels of addbmm and addr."""
    shapes = {"addmm": ((2, 4), (2, 3), (3, 4)), "addmv": ((2,), (2, 3), (3,)),
              "addbmm": ((2, 4), (5, 2, 3), (5, 3, 4)),
              "baddbmm": ((5, 2, 4), (5, 2, 3), (5, 3, 4)), "addr": ((2, 3), (2,), (3,))}[op]
    g = torch.Generator().manual_seed(0)
    arrays = [torch.randn(s, generator=g, dtype=torch.float64).numpy() for s in shapes]
    results = []
    for L in (ember, torch):
        dt = getattr(L, dtype)
        ts = [L.tensor(a).to(dt).requires_grad_() for a in arrays]
        out = getattr(L, op)(*ts, beta=0.5, alpha=2.0)
        out.float().sum().backward()
        results.append([out.detach().float().numpy()] +
                       [t.grad.float().numpy() for t in ts])
    tol = {"float64": 1e-12, "float16": 0, "bfloat16": 0}[dtype]
    for a, b in zip(*results):
        assert a.shape == b.shape
        assert abs(a - b).max() <= tol * max(1.0, abs(b).max()) or (a == b).all()


@pytest.mark.parametrize("equation, shapes", [("i.j->i", [(2, 3)]),
                                              ("ij,j.->i", [(2, 3), (3, 1)])])
def test_einsum_stray_dot_names_its_operand_as_torch(equation, shapes):
    messages = []
    for L in (ember, torch):
        with pytest.raises(RuntimeError) as info:
            L.einsum(equation, *[L.ones(*s) for s in shapes])
        messages.append(str(info.value))
    assert messages[0] == messages[1]
