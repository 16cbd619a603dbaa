"""Fronts: wrappers put in front of ember's functions wherever ember binds them.

Some features reach ember's functions by a wrapper (a "front") that replaces the
function, process-wide, under every name ember binds it by (the globals of ember's
modules, the Tensor class), so that ember's own calls between functions meet it too.
Each is installed the first time its feature is used: a program that never uses the
feature calls no front. The layers, innermost first:

  layer                                  installed by                        undone
  quantized kernels                      _ops/quantized_ops.install_fronts   never
  __torch_dispatch__ of in-place         utils/_python_dispatch, on load     never
  methods, factories and item()
  autocast entry points                  _autocast.install_entry_points      never
  __torch_function__ dispatcher          _torch_function.activate            deactivate()
  profiler events of composites          profiler/_composite.install         remove()

The last two are the reversible layers (registered here with `reversible`). A layer that
installs while they are laid goes beneath them through `beneath`: they are taken off,
the layer installs on the functions themselves, and they are laid again over it, so
that undoing them later leaves the inner layer in place.

What the layers share lives here: the namespaces to walk (`ember_spaces`), a function
and the functions it wraps through every layer's wrapper (`chain`), one front per
function object bound under all its names (`Fronts`, `rebind`), and putting the
originals back (`restore`). What each layer's front does stays in its own module.
"""
import sys
import types

# ranks of the reversible layers (larger: further out)
TORCH_FUNCTION = 1
PROFILER = 2


def ember_spaces(root=True, prefix="ember.", exclude=()):
    """The globals of every loaded module under `prefix` (and of ``ember`` itself when
    `root`), except the module names in `exclude`."""
    return [vars(m) for n, m in list(sys.modules.items())
            if (n.startswith(prefix) or root and n == "ember") and n not in exclude and
            isinstance(m, types.ModuleType)]


def chain(value, depth=8):
    """`value` and the functions under it: each layer's wrapper keeps the function it
    wraps as ``__wrapped__`` (the __torch_function__ dispatcher as
    ``_ember_undispatched``), a few layers at most."""
    for _ in range(depth):
        yield value
        inner = getattr(value, "_ember_undispatched", None)
        value = inner if inner is not None else getattr(value, "__wrapped__", None)
        if value is None:
            return


def named_as(front, original, attrs=("__name__", "__qualname__", "__doc__", "__module__")):
    """`front` with `original`'s names (repr, pickle by reference and error messages show
    the function) and ``__wrapped__`` leading to it (`chain`)."""
    for attr in attrs:
        setattr(front, attr, getattr(original, attr, None))
    front.__wrapped__ = original
    return front


class Fronts:
    """One layer's fronts: one per function object, so that the names of one function
    (ember.transpose, ember.swapaxes ...) still name one object once fronted."""

    def __init__(self):
        self._by_id = {}   # id(original) -> (original, front)
        self._fronts = set()   # ids of the fronts

    def make(self, original, make):
        """The front of `original`, made by ``make()`` the first time."""
        entry = self._by_id.get(id(original))
        if entry is None or entry[0] is not original:
            entry = self._by_id[id(original)] = (original, make())
            self._fronts.add(id(entry[1]))
        return entry[1]

    def add(self, original, front):
        """`front` stands for `original` too (a function the front's function wraps)."""
        if id(original) not in self._by_id:
            self._by_id[id(original)] = (original, front)
            self._fronts.add(id(front))

    def get(self, value):
        """The front of `value` when it is one of the originals, else None."""
        entry = self._by_id.get(id(value))
        return entry[1] if entry is not None and entry[0] is value else None

    def under(self, value):
        """The front of `value` or of a function under its wrappers (a name bound to an
        original behind another layer's wrapper), else None; None too for a value that is
        this layer's front or wraps one."""
        if isinstance(value, type) or not callable(value):
            return None
        for inner in chain(value):
            if id(inner) in self._fronts:
                return None
            front = self.get(inner)
            if front is not None:
                return front
        return None

    def items(self):
        """(original, front) pairs."""
        return list(self._by_id.values())

    def fronts(self):
        """Each front once."""
        seen = {}
        for _, front in self._by_id.values():
            seen.setdefault(id(front), front)
        return list(seen.values())


def namespace(where):
    """The names of a namespace dict (itself) or a class (its __dict__)."""
    return where if isinstance(where, dict) else vars(where)


def bind(where, key, value):
    """Bind `key` to `value` in a namespace dict or a class; the record `restore` takes:
    (where, key, what was bound, value)."""
    record = (where, key, namespace(where).get(key), value)
    _set(where, key, value)
    return record


def _set(where, key, value):
    if isinstance(where, dict):
        where[key] = value
    else:
        setattr(where, key, value)


def rebind(fronts, spaces=None, through_wrappers=False, dunders=True):
    """Every name in `spaces` (namespace dicts or classes; default `ember_spaces()`) bound
    to an original of `fronts` is bound to its front (with `through_wrappers`, a name bound
    to an original under other layers' wrappers too: `Fronts.under`; without `dunders`,
    ``__x__`` names stay). Returns the records of `bind`."""
    find = fronts.under if through_wrappers else fronts.get
    records = []
    for where in ember_spaces() if spaces is None else spaces:
        for key, value in list(namespace(where).items()):
            front = find(value)
            if front is not None and front is not value and \
                    (dunders or not key.startswith("__")):
                records.append(bind(where, key, front))
    return records


def restore(records, held_only=True):
    """Undo `bind` records, last first (emptying the list): each name gets back what it
    held, where it still holds what was bound (with `held_only`; else in any case)."""
    while records:
        where, key, original, value = records.pop()
        if not held_only or namespace(where).get(key) is value:
            _set(where, key, original)


# the reversible layers: (rank, lift, lay), innermost first
_REVERSIBLE = []


def reversible(rank, lift, lay):
    """Register a reversible layer: ``lift()`` takes its fronts off and returns what
    ``lay(token)`` needs to lay them again, or None when none are laid."""
    _REVERSIBLE.append((rank, lift, lay))
    _REVERSIBLE.sort(key=lambda layer: layer[0])


def beneath(install, rank=TORCH_FUNCTION):
    """Run ``install()`` with the reversible layers of `rank` and above taken off, then lay
    them again: the fronts it binds go beneath theirs."""
    lifted = []
    for layer_rank, lift, lay in reversed(_REVERSIBLE):   # the outermost first
        if layer_rank >= rank:
            token = lift()
            if token is not None:
                lifted.append((lay, token))
    try:
        return install()
    finally:
        for lay, token in reversed(lifted):
            lay(token)
