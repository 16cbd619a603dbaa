"""ember.func: composable function transforms (``torch.func``).

grad, grad_and_value, vjp, jacrev and hessian are built on ember's reverse-mode autograd
and nest freely; vmap runs the function once per slice of the batch and stacks the
results (correct, but slow: see ember/func/_vmap.py); functional_call turns a module into
a function of its parameters and buffers.
"""
from ._autodiff import (grad, grad_and_value, vjp, jacrev, hessian, jvp, jacfwd,  # noqa: F401
                        linearize)
from ._vmap import vmap  # noqa: F401
from ._functional_call import functional_call, stack_module_state  # noqa: F401
from ._misc import functionalize, replace_all_batch_norm_modules_  # noqa: F401
from ._rearrange import rearrange  # noqa: F401

__all__ = ["rearrange", "grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "linearize",
           "vmap", "functional_call", "stack_module_state", "functionalize",
           "replace_all_batch_norm_modules_"]
