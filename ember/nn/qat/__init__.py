"""torch.nn.qat: the older name of ember.ao.nn.qat (the same module objects)."""
import sys

from ember.ao.nn._aliases import alias

sys.modules[__name__] = alias(__name__, "ember.ao.nn.qat")
