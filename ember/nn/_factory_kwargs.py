"""nn.factory_kwargs: merge a module constructor's device/dtype/memory_format arguments."""

_SIMPLE_KEYS = ("device", "dtype", "memory_format")


def factory_kwargs(kwargs):
    """The tensor-factory arguments in `kwargs`: its 'device', 'dtype' and 'memory_format'
    entries plus those of its 'factory_kwargs' dict (a key given in both raises
    TypeError, as does any other key). None gives {}."""
    if kwargs is None:
        return {}
    unexpected = set(kwargs) - set(_SIMPLE_KEYS) - {"factory_kwargs"}
    if unexpected:
        raise TypeError(f"unexpected kwargs {unexpected}")
    result = dict(kwargs.get("factory_kwargs", {}))
    for key in _SIMPLE_KEYS:
        if key in kwargs:
            if key in result:
                raise TypeError(f"{key} specified twice, in **kwargs and in factory_kwargs")
            result[key] = kwargs[key]
    return result
