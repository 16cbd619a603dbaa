"""Fuzzer (torch.utils.benchmark.Fuzzer): random benchmark inputs from a specification.

A Fuzzer draws a set of named parameters (FuzzedParameter: log-uniform, uniform or a
given discrete distribution, ParameterAlias to repeat another one), rejects sets that
break the constraints (the callables given, the tensors' element and allocation limits)
and makes the tensors (FuzzedTensor: a size from the parameters, optional strides through
`steps`, a random memory order with probability 1 - probability_contiguous).

Same seed, same inputs as PyTorch's: the draws come from ``numpy.random.RandomState(seed)``
in PyTorch's order (the torch seed first, then per take: the parameters, then per tensor
its values from ember's generator, its layout draw and its permutation), so a seeded
fuzzer yields the sizes, layouts and values that torch's does.
"""
import functools
import itertools

import numpy as np

__all__ = ["Fuzzer", "FuzzedParameter", "ParameterAlias", "FuzzedTensor"]

_DISTRIBUTIONS = ("loguniform", "uniform")


class FuzzedParameter:
    """A named value drawn for each generated input.

    distribution: "loguniform" (int(2 ** u), u uniform in [log2 minval, log2 maxval),
    clamped to the bounds), "uniform" (integers in [minval, maxval] when both bounds are
    ints, else a float in [minval, maxval)), or a dict {value: probability} (minval and
    maxval unset; probabilities non-negative, summing to one). A `strict` parameter keeps
    its first draw while the Fuzzer resamples the others to meet the constraints.
    """

    def __init__(self, name, minval=None, maxval=None, distribution=None, strict=False):
        self._name = name
        self._minval = minval
        self._maxval = maxval
        self._distribution = self._check_distribution(distribution)
        self.strict = strict

    @property
    def name(self):
        return self._name

    def sample(self, state):
        if self._distribution == "loguniform":
            return self._loguniform(state)
        if self._distribution == "uniform":
            return self._uniform(state)
        return self._custom_distribution(state)

    def _check_distribution(self, distribution):
        if not isinstance(distribution, dict):
            if distribution not in _DISTRIBUTIONS:
                raise AssertionError(f"Unknown distribution: {distribution}")
            return distribution
        if any(p < 0 for p in distribution.values()):
            raise AssertionError("Probabilities cannot be negative")
        # (PyTorch 2.13 tests this the wrong way round and refuses every normalized dict,
        # its op_fuzzers included; ember refuses the unnormalized ones, as documented)
        if abs(sum(distribution.values()) - 1) > 1e-5:
            raise AssertionError("Distribution is not normalized")
        if self._minval is not None:
            raise AssertionError("When passing a custom distribution, 'minval' must be None")
        if self._maxval is not None:
            raise AssertionError("When passing a custom distribution, 'maxval' must be None")
        return distribution

    def _loguniform(self, state):
        low = np.log2(self._minval) if self._minval is not None else None
        high = np.log2(self._maxval) if self._maxval is not None else None
        value = int(2 ** state.uniform(low=low, high=high))
        if self._minval is not None and value < self._minval:
            return self._minval
        if self._maxval is not None and value > self._maxval:
            return self._maxval
        return value

    def _uniform(self, state):
        if isinstance(self._minval, int) and isinstance(self._maxval, int):
            return int(state.randint(low=self._minval, high=self._maxval + 1))
        return state.uniform(low=self._minval, high=self._maxval)

    def _custom_distribution(self, state):
        index = state.choice(np.arange(len(self._distribution)),
                             p=tuple(self._distribution.values()))
        return list(self._distribution.keys())[index]


class ParameterAlias:
    """A parameter value that repeats another parameter's (by name); with a custom
    distribution it makes, e.g., sizes that sometimes broadcast. Chains are allowed,
    cycles are not."""

    def __init__(self, alias_to):
        self.alias_to = alias_to

    def __repr__(self):
        return f"ParameterAlias[alias_to: {self.alias_to}]"


def _prod(values, base=1):
    """The product in Python ints (NumPy's int64 product can overflow to a negative size)."""
    return functools.reduce(lambda x, y: int(x) * int(y), values, base)


def _itemsize(dtype):
    import ember
    if dtype is ember.bool:
        return 1
    info = ember.finfo(dtype) if (dtype.is_floating_point or dtype.is_complex) \
        else ember.iinfo(dtype)
    return int(info.bits / 8)


class FuzzedTensor:
    """A tensor made for each generated input.

    size: ints and parameter names; steps: per-dim strides of a larger allocation that is
    sliced back to `size` (non-unit steps make strided views); dim_parameter: the name of
    a parameter giving the number of dims (size and steps are cut or padded with 1s);
    min_elements / max_elements / max_allocation_bytes: limits a parameter set must meet.
    Values come from `tensor_constructor(size=, dtype=, **params)`, by default rand for
    floating dtypes and randint(1, 127) for the others.
    """

    def __init__(self, name, size, steps=None, probability_contiguous=0.5, min_elements=None,
                 max_elements=None, max_allocation_bytes=None, dim_parameter=None,
                 roll_parameter=None, dtype=None, cuda=False, tensor_constructor=None):
        import ember
        self._name = name
        self._size = size
        self._steps = steps
        self._probability_contiguous = probability_contiguous
        self._min_elements = min_elements
        self._max_elements = max_elements
        self._max_allocation_bytes = max_allocation_bytes
        self._dim_parameter = dim_parameter
        self._dtype = ember.float32 if dtype is None else dtype
        self._cuda = cuda
        self._tensor_constructor = tensor_constructor

    @property
    def name(self):
        return self._name

    @staticmethod
    def default_tensor_constructor(size, dtype, **kwargs):
        import ember
        if dtype.is_floating_point or dtype.is_complex:
            return ember.rand(size=size, dtype=dtype, device="cpu")
        return ember.randint(1, 127, size=size, dtype=dtype, device="cpu")

    def _make_tensor(self, params, state):
        size, steps, allocation_size = self._get_size_and_steps(params)
        constructor = self._tensor_constructor or self.default_tensor_constructor
        raw = constructor(size=allocation_size, dtype=self._dtype, **params)
        if self._cuda:
            raw = raw.cuda()
        dim = len(size)
        order = np.arange(dim)
        if state.rand() > self._probability_contiguous:
            # a random memory order: the data laid out in a permuted order, then viewed
            # back in the logical one
            while dim > 1 and np.all(order == np.arange(dim)):
                order = state.permutation(raw.dim())
            raw = raw.permute(tuple(order)).contiguous()
            raw = raw.permute(tuple(np.argsort(order)))
        tensor = raw[tuple(slice(0, n * step, step) for n, step in zip(size, steps))]
        properties = {"numel": int(tensor.numel()), "order": order, "steps": steps,
                      "is_contiguous": tensor.is_contiguous(), "dtype": str(self._dtype)}
        return tensor, properties

    def _get_size_and_steps(self, params):
        dim = params[self._dim_parameter] if self._dim_parameter is not None \
            else len(self._size)

        def resolve(values):
            values = tuple(params.get(v, v) for v in values)[:dim]
            return values + (1,) * (dim - len(values))
        size = resolve(self._size)
        steps = resolve(self._steps or ())
        return size, steps, tuple(n * step for n, step in zip(size, steps))

    def satisfies_constraints(self, params):
        size, _, allocation_size = self._get_size_and_steps(params)
        num_elements = _prod(size)
        if num_elements < 0:
            raise AssertionError("Computed number of elements is negative")
        allocation_bytes = _prod(allocation_size, base=_itemsize(self._dtype))

        def above(value, limit):
            return value is not None and limit is not None and value > limit
        return not (above(num_elements, self._max_elements)
                    or above(self._min_elements, num_elements)
                    or above(allocation_bytes, self._max_allocation_bytes))


class Fuzzer:
    """Generates (tensors, tensor_properties, params) triples: ``take(n)`` yields n of them,
    each from a parameter set that meets every constraint (up to 1000 draws each).

    parameters / tensors: FuzzedParameters / FuzzedTensors, or iterables of them;
    constraints: callables given the dict of parameters that reject a set by returning
    False; seed: the NumPy RandomState's seed, which also seeds ember's generator (so the
    tensors' values repeat); a random one when None.
    """

    def __init__(self, parameters, tensors, constraints=None, seed=None):
        if seed is None:
            seed = int(np.random.RandomState().randint(0, 2 ** 32 - 1, dtype=np.int64))
        self._seed = seed
        self._parameters = Fuzzer._unpack(parameters, FuzzedParameter)
        self._tensors = Fuzzer._unpack(tensors, FuzzedTensor)
        self._constraints = constraints or ()
        overlap = {p.name for p in self._parameters} & {t.name for t in self._tensors}
        if overlap:
            raise ValueError(f"Duplicate names in parameters and tensors: {overlap}")
        self._rejections = 0
        self._total_generated = 0

    @staticmethod
    def _unpack(values, cls):
        return tuple(itertools.chain.from_iterable(
            [[v] if isinstance(v, cls) else v for v in values]))

    def take(self, n):
        import ember
        state = np.random.RandomState(self._seed)
        ember.manual_seed(state.randint(low=0, high=2 ** 63, dtype=np.int64))
        for _ in range(n):
            params = self._generate(state)
            tensors, properties = {}, {}
            for t in self._tensors:
                tensors[t.name], properties[t.name] = t._make_tensor(params, state)
            yield tensors, properties, params

    @property
    def rejection_rate(self):
        if not self._total_generated:
            return 0.
        return self._rejections / self._total_generated

    def _generate(self, state):
        strict = {}
        for _ in range(1000):
            candidate = {}
            for p in self._parameters:
                if p.strict and p.name in strict:
                    candidate[p.name] = strict[p.name]
                    continue
                candidate[p.name] = p.sample(state)
                if p.strict:
                    strict[p.name] = candidate[p.name]
            candidate = self._resolve_aliases(candidate)
            self._total_generated += 1
            if not all(f(candidate) for f in self._constraints) or \
                    not all(t.satisfies_constraints(candidate) for t in self._tensors):
                self._rejections += 1
                continue
            return candidate
        raise ValueError("Failed to generate a set of valid parameters.")

    @staticmethod
    def _resolve_aliases(params):
        params = dict(params)
        remaining = sum(isinstance(v, ParameterAlias) for v in params.values())
        while remaining:
            for k in list(params):
                if isinstance(params[k], ParameterAlias):
                    params[k] = params[params[k].alias_to]
            now = sum(isinstance(v, ParameterAlias) for v in params.values())
            if now == remaining:
                raise ValueError(f"ParameterAlias cycle detected\n{params}")
            remaining = now
        return params
