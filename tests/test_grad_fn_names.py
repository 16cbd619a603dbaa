"""type(grad_fn).__name__ is PyTorch's node name (SumBackward0, AccumulateGrad, CopySlices,
MyFuncBackward), as grad_fn.name() and repr say: tutorials walk and print the graph."""
import pytest

import ember

torch = pytest.importorskip("torch")


def _cases(lib):
    F = lib.nn.functional
    x = lib.arange(1.0, 7.0).reshape(2, 3).requires_grad_()
    w = lib.arange(2.0, 8.0).reshape(2, 3)
    m = w > 4
    v = lib.tensor([1.5, 2.0], requires_grad=True)
    s = lib.tensor(2.5, requires_grad=True)

    class Twice(lib.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            return t * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    def copy_slices():
        y = x.clone()
        y[0] = 1.0
        return y

    def inplace_add():
        y = x.clone()
        return y.add_(1)

    return {
        "mul": lambda: x * 2, "sum": lambda: x.sum(), "sum_dim": lambda: x.sum(1),
        "mean": lambda: x.mean(), "mean_dim": lambda: x.mean(0), "pow": lambda: x ** 2,
        "rpow": lambda: 2 ** x, "pow_tt": lambda: x ** w, "rsub": lambda: 2 - x,
        "clamp": lambda: x.clamp(0.5), "clamp_t": lambda: x.clamp(w),
        "clamp_min_t": lambda: x.clamp_min(w), "where": lambda: lib.where(m, x, 0.0),
        "masked_fill": lambda: x.masked_fill(m, 1.0), "lerp": lambda: lib.lerp(x, w, 0.5),
        "view": lambda: x.view(6), "transpose": lambda: x.t(), "slice": lambda: x[:, 1:],
        "select": lambda: x[0], "expand": lambda: x[:1].expand(4, 3),
        "as_strided": lambda: x.as_strided((2, 2), (1, 1)), "inplace_add": inplace_add,
        "copy_slices": copy_slices, "custom": lambda: Twice.apply(x),
        "linear": lambda: F.linear(x, w), "relu": lambda: F.relu(x),
        "softmax": lambda: x.softmax(1), "matmul": lambda: x @ w.t(),
        "fill": lambda: x.clone().fill_(2.0), "zero": lambda: x.clone().zero_(),
        "xlogy": lambda: lib.xlogy(x, 2.0), "remainder": lambda: lib.remainder(x, 2.0),
        "sparse_none": lambda: x.exp(), "cat": lambda: lib.cat([x, x]),
        # the activations with a node of their own (ember/_ops/activation.py)
        "elu": lambda: F.elu(x - 3), "selu": lambda: F.selu(x), "celu": lambda: F.celu(x, 0.5),
        "leaky_relu": lambda: F.leaky_relu(x - 3, 0.2),
        "leaky_relu_": lambda: F.leaky_relu_(x.clone() - 3),
        "rrelu": lambda: F.rrelu(x - 3), "rrelu_training": lambda: F.rrelu(x - 3, training=True),
        "rrelu_": lambda: F.rrelu_(x.clone() - 3),
        "rrelu_training_": lambda: F.rrelu_(x.clone() - 3, training=True),
        # prod over a dim that is all of a 0-d or 1-d tensor: the dim overload's node
        "prod_dim_1d": lambda: v.prod(0), "prod_dim_0d": lambda: s.prod(0),
        "prod_all_1d": lambda: v.prod(), "masked_prod_0d_dim": lambda: lib.masked.prod(
            s, dim=0, mask=lib.tensor(True)),
        "masked_prod_0d_keepdim": lambda: lib.masked.prod(s, 0, keepdim=True),
    }


CASES = sorted(_cases(ember))


def _node(lib, case):
    return _cases(lib)[case]().grad_fn


@pytest.mark.parametrize("case", CASES)
def test_node_class_is_named_as_pytorch_names_it(case):
    t, e = _node(torch, case), _node(ember, case)
    assert type(e).__name__ == type(t).__name__
    assert e.name() == t.name()


@pytest.mark.parametrize("case", CASES)
def test_every_node_of_the_graph_is_named_alike(case):
    """Walk both graphs to the leaves: AccumulateGrad and the nodes below the top."""
    def names(fn, depth=3):
        if fn is None:
            return None
        below = [names(f, depth - 1) for f, _ in fn.next_functions] if depth else []
        return (type(fn).__name__, fn.name(), below)
    assert names(_node(ember, case)) == names(_node(torch, case))


def test_custom_function_node_class():
    class MyFunc(ember.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            return t.clone()

        @staticmethod
        def backward(ctx, g):
            return g
    y = MyFunc.apply(ember.ones(2, requires_grad=True))
    assert type(y.grad_fn).__name__ == "MyFuncBackward"
    assert isinstance(y.grad_fn, ember.autograd.function.BackwardCFunction)


def test_renamed_node_keeps_its_op_and_its_gradient():
    """A node named for another overload (sum over a dim: SumBackward1) is still its op's
    node: isinstance holds, __qualname__ is the op class's, gradients are the op's."""
    from ember._ops.reduction import Sum
    x = ember.ones(2, 3, requires_grad=True)
    y = x.sum(1)
    assert isinstance(y.grad_fn, Sum) and type(y.grad_fn).__qualname__ == "Sum"
    assert type(y.grad_fn) is type(x.sum(0).grad_fn)   # one class per (op, name), cached
    y.sum().backward()
    xt = torch.ones(2, 3, requires_grad=True)
    xt.sum(1).sum().backward()
    assert x.grad.tolist() == xt.grad.tolist()


def test_accumulate_grad_class():
    x = ember.ones(2, requires_grad=True)
    acc = (x * 2).grad_fn.next_functions[0][0]
    assert type(acc).__name__ == "AccumulateGrad"
    assert acc.name() == "torch::autograd::AccumulateGrad"
    assert acc.variable is x
