"""ember.quasirandom.SobolEngine against torch.quasirandom.SobolEngine: the direction
numbers, plain and scrambled points bit for bit, draw/draw_base2/fast_forward/reset, out=,
dtypes, errors."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

from tests.program_compare import run as _run  # noqa: E402


def _exact(a, b):
    """Equal to the bit: containers elementwise, tensors in dtype, shape and values."""
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_exact, a, b))
    if isinstance(a, tuple) and a and a[0] == "T":
        return a[:3] == b[:3] and np.array_equal(a[3], b[3])
    return a == b


def _session(dimension, scramble=False, seed=None):
    def program(m):
        if scramble and seed is None:
            m.manual_seed(11)   # the scrambling draws from the global generator
        engine = m.quasirandom.SobolEngine(dimension, scramble=scramble, seed=seed)
        out = [engine.sobolstate, engine.shift, engine.draw(5), engine.num_generated,
               engine.draw(3, dtype=m.float64)]
        engine.fast_forward(6)
        out += [engine.draw(2), engine.num_generated, engine.quasi]
        engine.reset()
        out += [engine.draw_base2(2), engine.draw_base2(2)]
        engine.reset().fast_forward(1)
        out += [engine.draw(2), repr(engine)]
        return out
    return program


@pytest.mark.parametrize("dimension", [1, 2, 3, 7, 40, 1111])
def test_plain_sequences_bit_equal(dimension):
    program = _session(dimension)
    assert _exact(_run(program, ember), _run(program, torch))


@pytest.mark.parametrize("dimension,seed", [(1, 0), (3, 123), (17, 2 ** 40), (200, 7),
                                            (4, None)])
def test_scrambled_sequences_bit_equal(dimension, seed):
    program = _session(dimension, scramble=True, seed=seed)
    assert _exact(_run(program, ember), _run(program, torch))


def test_largest_dimension():
    """All 21201 dimensions: the direction numbers and the first points."""
    def program(m):
        engine = m.quasirandom.SobolEngine(21201)
        return [engine.sobolstate[::97], engine.draw(4)[:, -300:], engine.draw(2)[:, ::53]]
    assert _exact(_run(program, ember), _run(program, torch))


def test_draw_out_dtype_and_default_dtype():
    def program(m):
        engine = m.quasirandom.SobolEngine(3)
        out = m.empty(7, dtype=m.float64)
        r = engine.draw(4, out=out, dtype=m.float64)
        first_half = m.quasirandom.SobolEngine(2).draw(1, dtype=m.float16)
        previous = m.get_default_dtype()
        m.set_default_dtype(m.float64)
        try:
            wide = m.quasirandom.SobolEngine(2, scramble=True, seed=3).draw(3)
        finally:
            m.set_default_dtype(previous)
        return [r, out, r is out, first_half, wide]
    assert _exact(_run(program, ember), _run(program, torch))


_ERRORS = {
    "zero_dims": lambda m: m.quasirandom.SobolEngine(0),
    "too_many_dims": lambda m: m.quasirandom.SobolEngine(21202),
    "half_draw": lambda m: m.quasirandom.SobolEngine(2).draw(3, dtype=m.float16),
    "long_draw": lambda m: m.quasirandom.SobolEngine(2).draw(3, dtype=m.int64),
    "base2_unbalanced": lambda m: _base2_unbalanced(m),
}


def _base2_unbalanced(m):
    engine = m.quasirandom.SobolEngine(2)
    engine.draw_base2(3)
    engine.draw_base2(2)


@pytest.mark.parametrize("case", sorted(_ERRORS))
def test_errors_as_torch(case):
    e, t = _run(_ERRORS[case], ember), _run(_ERRORS[case], torch)
    assert e == t and e[0] == "raised", (e, t)


def test_error_messages():
    with pytest.raises(ValueError, match=r"\[1, 21201\]"):
        ember.quasirandom.SobolEngine(21202)
    engine = ember.quasirandom.SobolEngine(2)
    engine.draw_base2(3)
    with pytest.raises(ValueError, match="n=8\\+2\\*\\*2=12"):
        engine.draw_base2(2)


def test_zero_draws_and_zero_fast_forward():
    def program(m):
        engine = m.quasirandom.SobolEngine(2)
        first = _raises_type(lambda: engine.draw(0))
        engine = m.quasirandom.SobolEngine(2)
        engine.draw(2)
        out = [first, engine.draw(0), engine.num_generated]
        engine.fast_forward(0)
        out += [engine.num_generated, engine.draw(1)]
        fresh = m.quasirandom.SobolEngine(3, scramble=True, seed=1)
        fresh.fast_forward(0)
        return out + [fresh.num_generated, fresh.draw(2)]
    assert _exact(_run(program, ember), _run(program, torch))


def _raises_type(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type is what gets compared
        return type(e).__name__
    return "no error"
