"""Tensor's binary operator methods (`t + x`, `x * t`, `t += x`, `t < x` ...) as Python's
protocol expects them, and as PyTorch's behave: an operand the op refuses with a TypeError
gives NotImplemented, so that Python tries the other operand's reflected method.

For a NumPy array that is NumPy's: `t + np.ones(3)` runs ndarray.__radd__, which applies
the ufunc to the tensor's array (Tensor.__array__, which refuses a tensor that requires
grad) and hands the result to Tensor.__array_wrap__, a tensor again (float32 tensor +
float64 array: a float64 tensor, by NumPy's promotion). `np.ones(3) + t` finds NumPy
deferring to the tensor (its __array_priority__) and the tensor declining: a TypeError, as
in PyTorch; `t += array` rebinds t to the new tensor; comparisons other than == raise.
"""


def operator_method(fn, name):
    """`fn(self, other)` as the operator method `name`: a TypeError becomes NotImplemented."""
    def method(self, other):
        try:
            return fn(self, other)
        except TypeError:
            return NotImplemented
    method.__name__ = name
    method.__qualname__ = "Tensor." + name
    method.__doc__ = getattr(fn, "__doc__", None)
    # the function it calls, for a profiler timing that function's bindings (`a @ b` is an
    # aten::matmul event, `t += x` an aten::add_ one, as when the operator was the function)
    method.__wrapped__ = fn
    method._operator_method = True
    return method


def set_operators(cls, table):
    """Bind each name -> function of `table` on `cls` as an operator method."""
    for name, fn in table.items():
        setattr(cls, name, operator_method(fn, name))
