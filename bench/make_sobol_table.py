"""Writes ember/_sobol_directions.bin, the direction numbers of ember.quasirandom.SobolEngine.

These are Joe & Kuo's "new-joe-kuo-6.21201" numbers (search criterion D(6), 21201
dimensions: https://web.maths.unsw.edu.au/~fkuo/sobol/), the table PyTorch's SobolEngine
uses. Dimension d >= 2 is built on the (d-1)-th primitive polynomial over GF(2), the
polynomials ordered by degree, then by value (generated here); its initial direction numbers
m_1..m_s (s the degree, m_i odd and below 2^i) are read from PyTorch's SobolEngine state
(m_i = state[d][i-1] >> (MAXBIT - i)) and the recurrence that continues them is checked
against that state for every dimension, so the file reproduces PyTorch's numbers exactly.

File layout (see ember/quasirandom.py `_directions`): for each degree s = 1..18, the
records of its dimensions, np.packbits of a (count, W_s) bit matrix, W_s = (s - 1) bits of
the polynomial's inner coefficients a (most significant first) followed by, for i = 1..s,
the i - 1 bits of m_i >> 1. Run with the oracle's Python: python bench/make_sobol_table.py
"""
import os
import sys

import numpy as np

MAXBIT = 30
MAXDIM = 21201
MAXDEG = 18


def _prime_factors(n):
    out, f = [], 2
    while f * f <= n:
        if n % f == 0:
            out.append(f)
            while n % f == 0:
                n //= f
        f += 1
    if n > 1:
        out.append(n)
    return out


def _mulmod(a, b, p, s):
    """a * b mod p in GF(2)[x], elementwise over arrays of polynomials of degree < s."""
    prod = np.zeros_like(a)
    for k in range(s):
        prod ^= np.where((b >> k) & 1, a << k, 0)
    for bit in range(2 * s - 2, s - 1, -1):
        prod ^= np.where((prod >> bit) & 1, p << (bit - s), 0)
    return prod


def _powmod_x(e, p, s):
    result = np.ones_like(p)
    base = np.full_like(p, 2) if s > 1 else np.ones_like(p)   # x mod p
    while e:
        if e & 1:
            result = _mulmod(result, base, p, s)
        base = _mulmod(base, base, p, s)
        e >>= 1
    return result


def primitive_polynomials(s):
    """The primitive polynomials of degree s, ascending (bit i = coefficient of x^i)."""
    cand = np.arange((1 << s) + 1, 1 << (s + 1), 2, dtype=np.int64)
    order = (1 << s) - 1
    ok = _powmod_x(order, cand, s) == 1   # x's order divides 2^s - 1 ...
    for q in _prime_factors(order):        # ... and is no proper divisor of it
        if q != order:
            ok &= _powmod_x(order // q, cand, s) != 1
    return cand[ok]


def main(path):
    import torch
    state = torch.zeros(MAXDIM, MAXBIT, dtype=torch.long)
    torch._sobol_engine_initialize_state_(state, MAXDIM)
    state = state.numpy()
    v = state >> (MAXBIT - 1 - np.arange(MAXBIT))   # the m_j of every dimension
    polys = np.concatenate([primitive_polynomials(s) for s in range(1, MAXDEG + 1)])
    assert len(polys) >= MAXDIM - 1, len(polys)
    chunks = []
    for s in range(1, MAXDEG + 1):
        dims = [d for d in range(1, MAXDIM) if int(polys[d - 1]).bit_length() - 1 == s]
        if not dims:
            continue
        bits = []
        for d in dims:
            p = int(polys[d - 1])
            m = [int(x) for x in v[d, :MAXBIT]]
            for j in range(s, MAXBIT):   # the recurrence reproduces PyTorch's state
                new = m[j - s]
                for k in range(1, s + 1):
                    if (p >> (s - k)) & 1:
                        new ^= m[j - k] << k
                assert new == m[j], (d, j)
            row = [(p >> (s - 1 - i)) & 1 for i in range(s - 1)]   # inner coefficients
            for i in range(1, s + 1):
                mi = m[i - 1]
                assert mi & 1 and mi < (1 << i), (d, i, mi)
                row += [((mi >> 1) >> (i - 2 - b)) & 1 for b in range(i - 1)]
            bits.append(row)
        chunks.append(np.packbits(np.array(bits, dtype=np.uint8).reshape(len(dims), -1)))
    data = np.concatenate(chunks).tobytes()
    with open(path, "wb") as f:
        f.write(data)
    print(f"wrote {path}: {len(data)} bytes")


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    main(sys.argv[1] if len(sys.argv) > 1 else
         os.path.join(here, "..", "ember", "_sobol_directions.bin"))
