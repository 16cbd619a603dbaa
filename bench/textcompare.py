"""Comparing what two programs printed: one run on torch, one on ember.

``ember`` reads as ``torch``, addresses are blanked, and texts that differ only in their
numbers (and the numbers' padding) match when every number agrees within print precision.
Shared by bench/docstring_sweep.py (per statement) and bench/script_probe.py (per line).
"""
import math
import re


_NUM = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")
_ADDR = re.compile(r"0x[0-9a-fA-F]+")


# a function's repr says how it is built (PyTorch's C functions: "<built-in method add of
# type object at 0x...>", ember's: "<function add at 0x...>"), not what it does
_FUNCTION = re.compile(r"<(?:built-in method|function) ([\w.]+)(?: of [\w. ]+)? at 0x\??>")


def normalize(text):
    text = re.sub(r"\bember\b", "torch", text)
    text = _ADDR.sub("0x?", text)
    text = _FUNCTION.sub(r"<function \1>", text)
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _skeleton(text):
    """The text with every number replaced by its kind (int / float) and whitespace
    collapsed, and the numbers."""
    nums = []

    def sub(m):
        s = m.group(0)
        nums.append(float(s))
        return " #f " if any(c in s for c in ".eE") else " #i "
    return " ".join(_NUM.sub(sub, text).split()), nums


def same_text(t, e, rel_tol=2e-3, abs_tol=2e-4):
    """'same', 'close' (only digits differ, each number within the tolerances: by default
    print precision) or None."""
    t, e = normalize(t), normalize(e)
    if t == e:
        return "same"
    ts, tn = _skeleton(t)
    es, en = _skeleton(e)
    if ts != es or len(tn) != len(en):
        return None
    if all(math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol) for a, b in zip(tn, en)):
        return "close"
    return None
