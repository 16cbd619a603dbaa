"""Fronts: wrappers put in front of ember's functions wherever ember binds them.

Some features reach ember's functions by a wrapper (a "front") that replaces the
function, process-wide, under every name ember binds it by (the globals of ember's
modules, the Tensor class), so that ember's own calls between functions meet it too.
Each is installed the first time its feature is used: a program that never uses the
feature calls no front. The layers, innermost first, by rank (`LAYERS`):

  rank  layer                                  installed by                        undone
  1     quantized kernels                      _ops/quantized_ops.install_fronts   never
  2     __torch_dispatch__ of in-place         utils/_dispatch_fronts, on load     never
        methods, factories and item()
  3     autocast entry points                  _autocast.install_entry_points      never
  4     __torch_function__ dispatcher          _torch_function.activate            deactivate()
  5     profiler events of composites          profiler/_composite.install         remove()

The order is the ranks', whatever order the features are first used in: a layer that
installs while layers of higher rank are laid goes beneath them through `beneath`: they
are taken off (each layer registers how, `layer`), the layer installs on what is then
bound, and they are laid again over it, so that undoing one later leaves the inner layers
in place. Every front carries its layer's rank (`MARK`, `layer_of`), whatever other
attributes its own module reads.

What the layers share lives here: the namespaces to walk (`ember_spaces`), a function
and the functions it wraps through every layer's wrapper (`chain`), one front per
function object bound under all its names (`Fronts`), the matcher that finds what a layer
fronts under other layers' wrappers (`Fronts.cover`), binding (`bind`, `rebind`), putting
the originals back (`restore`), and taking a layer's fronts off names bound since it
was laid (`unbind_fronts`: modules imported while it was on). What each layer's front
does stays in its own module.
"""
import sys
import types

# ranks of the layers (larger: further out)
QUANTIZED = 1
DISPATCH = 2
AUTOCAST = 3
TORCH_FUNCTION = 4
PROFILER = 5
LAYERS = {QUANTIZED: "quantized kernels", DISPATCH: "__torch_dispatch__ fronts",
          AUTOCAST: "autocast entry points", TORCH_FUNCTION: "__torch_function__ dispatcher",
          PROFILER: "profiler composites"}

# the attribute every front carries: its layer's rank
MARK = "_ember_front_layer"


def layer_of(value):
    """The rank of the layer `value` is a front of, or None."""
    return getattr(value, MARK, None) if callable(value) else None


def mark(front, rank):
    """`front` marked as a front of layer `rank` (where it takes attributes); with rank
    None, unmarked (functools.wraps copies the mark of the function it wraps)."""
    try:
        if rank is not None:
            setattr(front, MARK, rank)
        elif MARK in getattr(front, "__dict__", ()):
            delattr(front, MARK)
    except (AttributeError, TypeError):   # (a property: the dispatcher's Tensor.shape)
        pass
    return front


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
    (ember.transpose, ember.swapaxes ...) still name one object once fronted. The fronts
    `make` makes carry the layer's rank (`MARK`)."""

    def __init__(self, rank=None):
        self.rank = rank
        self._by_id = {}   # id(original) -> (original, front)
        self._fronts = {}   # id(front) -> front

    def make(self, original, make):
        """The front of `original`, made by ``make()`` the first time."""
        entry = self._by_id.get(id(original))
        if entry is None or entry[0] is not original:
            entry = self._by_id[id(original)] = (original, mark(make(), self.rank))
            self._fronts[id(entry[1])] = entry[1]
        return entry[1]

    def add(self, original, front):
        """`front` stands for `original` too (a function the front's function wraps)."""
        if id(original) not in self._by_id:
            self._by_id[id(original)] = (original, front)
            self._fronts[id(front)] = front

    def get(self, value):
        """The front of `value` when it is one of the originals, else None."""
        entry = self._by_id.get(id(value))
        return entry[1] if entry is not None and entry[0] is value else None

    def is_front(self, value):
        """Whether `value` is a front of this layer (of this table or, for a layer with a
        rank, any table of it)."""
        return self._fronts.get(id(value)) is value or \
            self.rank is not None and layer_of(value) == self.rank

    def under(self, value):
        """The front of `value` or of a function under its wrappers (a name bound to an
        original behind another layer's wrapper), else None; None too for a value that is
        this layer's front or wraps one."""
        if isinstance(value, type) or not callable(value):
            return None
        for inner in chain(value):
            if self.is_front(inner):
                return None
            front = self.get(inner)
            if front is not None:
                return front
        return None

    def find(self, value, match):
        """What ``match(f)`` gives for the first function f under `value`'s wrappers (value
        included) it gives something for, or None; None too for a value that is not a
        Python function, or is this layer's front or wraps one."""
        if type(value) is not types.FunctionType:
            return None
        for inner in chain(value):
            if self.is_front(inner):
                return None
            found = match(inner)
            if found is not None:
                return found
        return None

    def cover(self, spaces, match, make):
        """The matcher of layers that front what is bound (the autocast entries, the
        profiler's composites): for each name in `spaces` whose value `find` matches, the
        record (where, key, value, front) with ``make(value, found)`` made once per value
        (one front for the names of one binding). Nothing is bound yet (`bind_all`)."""
        plan = []
        for where in spaces:
            for key, value in list(namespace(where).items()):
                found = self.find(value, match)
                if found is not None:
                    front = self.make(value, lambda: make(value, found))
                    plan.append((where, key, value, front))
        return plan

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


def bind_all(plan):
    """Bind each (where, key, value, front) of a plan (`Fronts.cover`); the records of
    `bind`."""
    return [bind(where, key, front) for where, key, _, front in plan]


def restore(records, held_only=True):
    """Undo `bind` records, last first (emptying the list): each name gets back what it
    held, where it still holds what was bound (with `held_only`; else in any case)."""
    while records:
        where, key, original, value = records.pop()
        if not held_only or namespace(where).get(key) is value:
            _set(where, key, original)


def unbind_fronts(rank, spaces=None):
    """Every name in `spaces` (default: ember's modules and Tensor) still bound to a front
    of layer `rank` gets the function under that front:
    the names bound since the layer was laid (a module imported while it was on binds its
    fronts) after `restore` put back the ones it bound itself. Returns how many."""
    if spaces is None:
        from ._tensor import Tensor
        spaces = ember_spaces() + [Tensor]
    count = 0
    for where in spaces:
        for key, value in list(namespace(where).items()):
            if not callable(value) or isinstance(value, type):
                continue
            if layer_of(value) == rank:
                inner = getattr(value, "__wrapped__", None) or \
                    getattr(value, "_ember_undispatched", None)
                if inner is not None:
                    _set(where, key, inner)
                    count += 1
    return count


# the layers that can be taken off and laid again: (rank, lift, lay), innermost first
_LAYERS = []


def layer(rank, lift, lay):
    """Register layer `rank`'s way off and back: ``lift()`` takes its fronts off and
    returns what ``lay(token)`` needs to lay them again, or None when none are laid."""
    _LAYERS.append((rank, lift, lay))
    _LAYERS.sort(key=lambda entry: entry[0])


reversible = layer


def beneath(install, rank=TORCH_FUNCTION):
    """Run ``install()`` (layer `rank`'s) with the layers of rank `rank` and above taken
    off, then lay them again: the fronts it binds go beneath theirs."""
    lifted = []
    for layer_rank, lift, lay in reversed(_LAYERS):   # the outermost first
        if layer_rank >= rank:
            token = lift()
            if token is not None:
                lifted.append((lay, token))
    try:
        return install()
    finally:
        for lay, token in reversed(lifted):
            lay(token)
