"""AccumulateGrad holds its leaf, as PyTorch's: `.variable` is the leaf while the node
lives, even after the program dropped its own reference, and backward accumulates into it;
the leaf refers to its node weakly, so no reference cycle keeps either alive: when the
graph dies the leaf is freed at once (no garbage collection needed) and a later graph gets
a new node. Each check runs the same program on ember and on PyTorch."""
import gc
import weakref

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


@pytest.fixture
def no_gc():
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _dropped_leaf(lib):
    x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x * x
    ref = weakref.ref(x)
    del x
    return y, ref


@pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])
def test_variable_outlives_the_programs_reference(lib, no_gc):
    y, ref = _dropped_leaf(lib)
    acc = y.grad_fn.next_functions[0][0]
    assert acc is y.grad_fn.next_functions[1][0]
    assert acc.name() == "torch::autograd::AccumulateGrad"
    leaf = acc.variable
    assert leaf is not None and leaf is ref()
    del leaf
    y.sum().backward()
    # the gradient went into the leaf the graph kept
    np.testing.assert_array_equal(acc.variable.grad.numpy(), [2.0, -4.0, 6.0])


@pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])
def test_leaf_freed_when_its_graph_dies(lib, no_gc):
    y, ref = _dropped_leaf(lib)
    assert ref() is not None       # the graph holds it
    del y
    assert ref() is None           # freed by reference counting alone


@pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])
def test_graph_freed_after_backward_releases_the_leaf(lib, no_gc):
    y, ref = _dropped_leaf(lib)
    y.sum().backward()
    assert ref() is not None       # y still holds its graph (the nodes, freed of buffers)
    del y
    assert ref() is None


def test_node_freed_with_its_graph(no_gc):
    # (PyTorch's nodes take no weak references: ember's only)
    y, ref = _dropped_leaf(ember)
    node = weakref.ref(y.grad_fn.next_functions[0][0])
    y.sum().backward()
    del y
    assert ref() is None and node() is None


def test_leaf_and_node_make_no_cycle(no_gc):
    # the leaf alone (no graph) is freed at once, with the node of an earlier graph
    x = ember.ones(3, requires_grad=True)
    y = x * 2
    node = weakref.ref(y.grad_fn.next_functions[0][0])
    ref = weakref.ref(x)
    del y
    assert node() is None          # no graph holds the node: it went
    del x
    assert ref() is None


@pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])
def test_node_shared_while_alive_and_new_after(lib, no_gc):
    x = lib.ones(2, requires_grad=True)
    a, b = x * 2, x + 1
    acc = a.grad_fn.next_functions[0][0]
    assert b.grad_fn.next_functions[0][0] is acc
    if lib is ember:
        old = weakref.ref(acc)
        del a, b, acc
        assert old() is None       # the node went with its graphs
    c = x * 3
    assert c.grad_fn.next_functions[0][0].variable is x
    c.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


@pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])
def test_held_node_keeps_hooks_across_graphs(lib, no_gc):
    # the DistributedDataParallel idiom: hold the node, hook it, and it serves later graphs
    p = lib.ones(2, requires_grad=True)
    acc = p.expand_as(p).grad_fn.next_functions[0][0]
    calls = []
    acc.register_prehook(lambda grad_outputs: (grad_outputs[0] * 10,))
    acc.register_hook(lambda grad_inputs, grad_outputs: calls.append(
        (grad_inputs, grad_outputs[0].tolist(), p.grad.tolist())))
    for _ in range(2):
        (p * 2).sum().backward()
    assert calls == [((), [20.0, 20.0], [20.0, 20.0]), ((), [20.0, 20.0], [40.0, 40.0])]
    calls.clear()
    lib.autograd.grad((p * 2).sum(), p)    # no accumulation: the node's hooks do not run
    assert calls == []
    assert (p * 2).grad_fn.next_functions[0][0] is acc


def test_parameter_training_steps_keep_gradients():
    lin = ember.nn.Linear(3, 2)
    opt = ember.optim.SGD(lin.parameters(), lr=0.01)
    x = ember.ones(4, 3)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = lin(x).pow(2).sum()
        loss.backward()
        assert lin.weight.grad is not None and lin.bias.grad is not None
        opt.step()
        losses.append(loss.item())
    assert losses[2] < losses[1] < losses[0]
