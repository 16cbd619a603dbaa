"""Module classes of torch.ao.nn that ember does not build: making one (or converting to
it) raises NotImplementedError naming it."""
from ember import nn


def not_built(path, name, hint):
    """A class `name` whose construction and from_float raise NotImplementedError."""
    def refuse(*args, **kwargs):
        raise NotImplementedError(f"{path}.{name} is not built in ember; {hint}")

    def __init__(self, *args, **kwargs):
        refuse()

    return type(name, (nn.Module,), {"__init__": __init__, "from_float": staticmethod(refuse),
                                      "__module__": f"ember.{path.split('.', 1)[1]}",
                                      "__doc__": f"Not built: {hint}."})
