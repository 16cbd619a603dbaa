"""SparseAdam: Adam restricted to the entries a sparse gradient holds; and the SGD step
for a sparse gradient."""
import math

from .._backend import array_namespace
from .._tensor import Tensor
from .optimizer import Optimizer, check_betas, _lr_value

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    r"""SparseAdam: the Adam update applied only where the sparse (COO) gradient has values
    (``nn.Embedding(sparse=True)``'s weight gradient).

    At the gradient's positions, with g its values (negated if maximize) and t the step:
        m = m + (1 - beta1) (g - m),   v = v + (1 - beta2) (g^2 - v)
        p = p - lr sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)
    Elsewhere p, m and v are left as they are. A dense gradient raises, as in PyTorch.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        check_betas(betas)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))
        sparse_params = [[i, j] for i, group in enumerate(self.param_groups)
                         for j, p in enumerate(group["params"]) if p.is_sparse]
        if sparse_params:
            raise ValueError(f"Sparse params at indices {sparse_params}: SparseAdam requires "
                             f"dense parameter tensors")
        complex_params = [[i, j] for i, group in enumerate(self.param_groups)
                          for j, p in enumerate(group["params"]) if p.dtype.is_complex]
        if complex_params:
            raise ValueError(f"Complex params at indices {complex_params}: SparseAdam does not "
                             f"support complex parameters")

    def step(self, closure=None):
        return self._run_step(self._update, closure)

    def _update(self):
        for group in self.param_groups:
            lr = _lr_value(group["lr"])   # a float32 Tensor lr rounds step_size, as torch
            beta1, beta2 = group["betas"]
            eps = group["eps"]
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if not g.is_sparse:
                    raise RuntimeError("SparseAdam does not support dense gradients, please "
                                       "consider Adam instead")
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    xp = array_namespace(p._data)
                    state["exp_avg"] = Tensor._make(xp.zeros_like(p._data))
                    state["exp_avg_sq"] = Tensor._make(xp.zeros_like(p._data))
                state["step"] += 1
                pos, values = _coalesced(g)
                if values.size == 0:
                    continue
                if group.get("maximize", False):    # (not in an old state_dict's groups)
                    values = -values
                m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
                old_m, old_v = m[pos], v[pos]
                new_m = old_m + (values - old_m) * (1 - beta1)
                new_v = old_v + (values * values - old_v) * (1 - beta2)
                m[pos], v[pos] = new_m, new_v
                t = state["step"]
                step_size = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
                denom = array_namespace(v).sqrt(new_v) + eps
                p._data[pos] = p._data[pos] - step_size * (new_m / denom)
                p._bump_version()


def _coalesced(g):
    """(positions as an index tuple, values array) of sparse gradient g, coalesced."""
    gc = g.coalesce()
    idx = gc._ix._data
    return tuple(idx[d] for d in range(idx.shape[0])), gc._vals._data


def sparse_sgd_step(p, g, state, lr, momentum, dampening, weight_decay, nesterov, maximize):
    """One SGD step of parameter p with sparse gradient g, as PyTorch: weight decay is
    refused (it would add a dense tensor to a sparse one); the momentum buffer is sparse."""
    if weight_decay:
        raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
    if maximize:
        g = -g
    if momentum:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = g.clone().detach()
        else:
            buf = buf * momentum + (g if dampening == 0 else g * (1 - dampening))
        state["momentum_buffer"] = buf
        g = g + buf * momentum if nesterov else buf
    pos, values = _coalesced(g)
    if values.size:
        p._data[pos] = p._data[pos] - lr * values.astype(p._data.dtype, copy=False)
    p._bump_version()
