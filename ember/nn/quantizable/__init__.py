"""torch.nn.quantizable: the older name of ember.ao.nn.quantizable (the same module
objects)."""
import sys

from ember.ao.nn._aliases import alias

sys.modules[__name__] = alias(__name__, "ember.ao.nn.quantizable")
