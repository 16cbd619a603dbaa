"""Defects found by the sixth round of community programs run on ember with
bench/script_probe.py (a VAE, a GAN step with a gradient penalty, seq2seq with attention,
a char-RNN sampler, word2vec with SparseAdam, graph networks on index_add_/scatter_reduce,
a U-Net, contrastive and distillation losses, gradient accumulation with GradScaler and lr
schedulers, checkpointing and parametrizations, torch.distributions, custom Functions,
DataLoader samplers and workers, checkpoint round trips, torch.compile and torch.func,
Grad-CAM hooks, pruning, CTC, flows, ViT patches, GP regression and a PINN ...), and the
cores of a few of those programs, run on both libraries and compared."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


# ---------------------------------------------------------------------------- fork_rng

def _fork_rng_seeds(L):
    L.manual_seed(123)
    with L.random.fork_rng():
        L.manual_seed(0)
        inside = L.initial_seed(), L.rand(2).tolist()
    return inside, L.initial_seed(), L.rand(2).tolist()


def test_fork_rng_restores_the_initial_seed():
    """fork_rng restores get_rng_state(), which holds the initial seed: a program that
    seeds inside the block and prints torch.initial_seed() after it saw 0 on ember."""
    assert _fork_rng_seeds(ember) == _fork_rng_seeds(torch)


# ---------------------------------------------------------------------------- retain_grad

def _retain_then_hooks(L, case):
    t = L.ones(3, requires_grad=True)
    y = t * 2
    if case == "retain, then hook":
        y.retain_grad()
        y.register_hook(lambda g: g + 1)
    elif case == "hook, then retain":
        y.register_hook(lambda g: g * 10)
        y.retain_grad()
    elif case == "retain, then two hooks":
        y.retain_grad()
        y.register_hook(lambda g: None)
        y.register_hook(lambda g: g * 2)
    else:   # in place after retain_grad: the hooks follow the tensor's new history
        y.retain_grad()
        y.add_(1)
        y.register_hook(lambda g: g + 1)
    (y * 3).sum().backward()
    return y.grad.tolist(), t.grad.tolist()


@pytest.mark.parametrize("case", ["retain, then hook", "hook, then retain",
                                  "retain, then two hooks", "retain, in place, hook"])
def test_retain_grad_runs_after_the_tensors_hooks(case):
    """PyTorch's retain_grad hook runs after every other hook of the tensor, whenever they
    were registered, so .grad holds what the hooks return (the Grad-CAM/hook tutorials
    print it); ember ran them in registration order: y.grad missed a later hook's change."""
    assert _retain_then_hooks(ember, case) == _retain_then_hooks(torch, case)
