"""``torch.Tag``: the tags an operator may carry (``Library.define(..., tags=)``,
``custom_op(..., tags=)``, ``OpOverload.tags``)."""


class Tag:
    """``torch.Tag``: the tags an operator may carry (PyTorch's enum, its numbering)."""
    _names = ("core", "cudagraph_unsafe", "data_dependent_output", "dynamic_output_shape",
              "flexible_layout", "generated", "inplace", "inplace_view",
              "maybe_aliasing_or_mutating", "needs_contiguous_strides", "needs_exact_strides",
              "needs_fixed_stride_order", "nondeterministic_bitwise",
              "nondeterministic_seeded", "out", "out_variant", "pointwise",
              "pt2_compliant_tag", "reduction", "view_copy")

    def __init__(self, name, value):
        self.name = name
        self.value = value

    def __repr__(self):
        return f"<Tag.{self.name}: {self.value}>"

    def __str__(self):
        return f"Tag.{self.name}"

    def __int__(self):
        return self.value

    __index__ = __int__

    def __hash__(self):
        return hash(self.value)

    def __eq__(self, other):
        return isinstance(other, Tag) and other.value == self.value

    def __reduce__(self):
        return getattr, (Tag, self.name)


Tag.__members__ = {}
for _i, _n in enumerate(Tag._names):
    Tag.__members__[_n] = Tag(_n, _i)
    setattr(Tag, _n, Tag.__members__[_n])
Tag.__module__ = "ember"
