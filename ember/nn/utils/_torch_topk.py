"""Which k entries PyTorch's CPU ``topk`` picks when values tie.

Pruning masks are "the k smallest |w|" (or the k largest channel norms). Where values tie
at the boundary, *which* of the tied entries are chosen is whatever PyTorch's CPU kernel
happens to leave in front: it fills a vector with (value, index) pairs and calls the C++
standard library, ``std::partial_sort`` when ``64 k <= n`` and ``std::nth_element``
otherwise, comparing values only. To give PyTorch's masks in that case too, this module
replays those two algorithms as GNU libstdc++ runs them (heap selection; introselect
with a median-of-three pivot and Hoare partition, insertion sort below 4 elements) and
returns the set of indices that ends up in front.

``topk_indices`` replays only when there are ties at the boundary; otherwise every
algorithm picks the same set and NumPy gives it. The replay runs in Python, so it is
meant for pruning-sized inputs (it takes about a second per million entries).
"""
import numpy as np

__all__ = ["topk_indices"]


def topk_indices(values, k, largest):
    """The indices (sorted, int64) of the k entries of 1-D NumPy array ``values`` that
    PyTorch's CPU topk returns."""
    n = values.shape[0]
    if k == 0:
        return np.zeros(0, np.int64)
    keys = _keys(values, largest)
    boundary = np.partition(keys, k - 1)[k - 1]
    if int((keys <= boundary).sum()) == k:   # no tie straddles the boundary
        return np.flatnonzero(keys <= boundary).astype(np.int64)
    if k * 64 <= n:
        chosen = _heap_select(keys, k)
    else:
        order = np.arange(n, dtype=np.int64)
        _introselect(keys.copy(), order, k - 1)
        chosen = order[:k]
    return np.sort(chosen)


def _keys(values, largest):
    """Keys whose "<" is PyTorch's comparator: ascending values with NaN after everything
    for largest=False, descending with NaN first for largest=True. NaN becomes an
    infinity; where a true infinity of that sign is present too, dense integer ranks
    keep them apart."""
    v = values.astype(np.float64)
    nan = np.isnan(v)
    key = -v if largest else v
    nan_key = -np.inf if largest else np.inf
    if nan.any() and (key == nan_key).any():
        _, dense = np.unique(v, return_inverse=True)   # NaNs share the highest rank
        dense = dense.reshape(-1).astype(np.float64)
        return -dense if largest else dense
    key[nan] = nan_key
    return key


# --- std::partial_sort's selection: a max-heap of the first k, fed the rest -----------

def _heap_select(keys, k, block=4096):
    """The indices libstdc++'s __heap_select leaves in front (only the set matters:
    sort_heap afterwards reorders without changing it). An entry enters the heap only
    when below its top, and the top never grows, so each block of the stream is first
    thinned with NumPy to the entries below the top at the block's start."""
    heap = list(zip(keys[:k].tolist(), range(k)))
    _make_heap(heap, k)
    for start in range(k, len(keys), block):
        chunk = keys[start:start + block]
        for j in np.flatnonzero(chunk < heap[0][0]).tolist():
            key = chunk[j].item()
            if key < heap[0][0]:
                _adjust_heap(heap, 0, k, (key, start + j))
    return np.array([i for _, i in heap], dtype=np.int64)


def _make_heap(a, length):
    if length < 2:
        return
    parent = (length - 2) // 2
    while True:
        _adjust_heap(a, parent, length, a[parent])
        if parent == 0:
            return
        parent -= 1


def _adjust_heap(a, hole, length, value):
    """Sift the hole at `hole` down to a leaf along the larger children, then push
    `value` up from there (libstdc++'s __adjust_heap + __push_heap)."""
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if a[child][0] < a[child - 1][0]:
            child -= 1
        a[hole] = a[child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        a[hole] = a[child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and a[parent][0] < value[0]:
        a[hole] = a[parent]
        hole = parent
        parent = (hole - 1) // 2
    a[hole] = value


# --- std::nth_element: introselect ----------------------------------------------------

def _introselect(keys, order, nth):
    """Rearrange keys and order (the indices, moved along) as libstdc++'s
    std::nth_element(begin, begin + nth, end) rearranges its vector."""
    first, last = 0, len(keys)
    depth = 2 * (len(keys).bit_length() - 1)
    while last - first > 3:
        if depth == 0:   # too many bad pivots: heap selection of [first, nth], as libstdc++
            chosen = _heap_select_span(keys, order, first, last, nth - first + 1)
            order[first:nth + 1] = chosen
            return
        depth -= 1
        cut = _partition_pivot(keys, order, first, last)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(keys, order, first, last)


def _heap_select_span(keys, order, first, last, k):
    """__heap_select on [first, last) followed by the swap of first and nth (which only
    reorders the chosen set): the chosen indices."""
    heap = list(zip(keys[first:first + k].tolist(), order[first:first + k].tolist()))
    _make_heap(heap, k)
    for key, i in zip(keys[first + k:last].tolist(), order[first + k:last].tolist()):
        if key < heap[0][0]:
            _adjust_heap(heap, 0, k, (key, i))
    return np.array([i for _, i in heap], dtype=np.int64)


def _swap(keys, order, i, j):
    keys[[i, j]] = keys[[j, i]]
    order[[i, j]] = order[[j, i]]


def _partition_pivot(keys, order, first, last):
    mid = first + (last - first) // 2
    _move_median_to_first(keys, order, first, first + 1, mid, last - 1)
    return _unguarded_partition(keys, order, first + 1, last, keys[first].item())


def _move_median_to_first(keys, order, result, x, y, z):
    kx, ky, kz = keys[x], keys[y], keys[z]
    if kx < ky:
        if ky < kz:
            pick = y
        elif kx < kz:
            pick = z
        else:
            pick = x
    elif kx < kz:
        pick = x
    elif ky < kz:
        pick = z
    else:
        pick = y
    _swap(keys, order, result, pick)


def _unguarded_partition(keys, order, first, last, pivot):
    """libstdc++'s Hoare partition of [first, last) around key `pivot`, done with NumPy.
    The left scan stops at entries >= pivot (ascending positions L), the right scan at
    entries <= pivot (descending positions R, from last - 1 down to the pivot itself at
    first - 1); the scans swap L[j] with R[j] while L[j] < R[j]. At the first j where
    they meet, the left scan stops at L[j], or earlier at R[j-1] (which now holds an
    entry >= pivot): that is the cut."""
    span = keys[first:last]
    left = np.flatnonzero(span >= pivot) + first
    right = (np.flatnonzero(keys[first - 1:last] <= pivot) + first - 1)[::-1]
    m = min(len(left), len(right))
    crossed = np.flatnonzero(left[:m] >= right[:m])
    j = int(crossed[0]) if len(crossed) else m
    cut = int(left[j]) if j < len(left) else None
    if j > 0:
        previous = int(right[j - 1])
        cut = previous if cut is None else min(cut, previous)
        ls, rs = left[:j], right[:j]
        keys[ls], keys[rs] = keys[rs], keys[ls].copy()
        order[ls], order[rs] = order[rs], order[ls].copy()
    return cut


def _insertion_sort(keys, order, first, last):
    for i in range(first + 1, last):
        key, idx = keys[i], order[i]
        if key < keys[first]:
            keys[first + 1:i + 1] = keys[first:i].copy()
            order[first + 1:i + 1] = order[first:i].copy()
            keys[first], order[first] = key, idx
        else:
            j = i
            while key < keys[j - 1]:
                keys[j], order[j] = keys[j - 1], order[j - 1]
                j -= 1
            keys[j], order[j] = key, idx
