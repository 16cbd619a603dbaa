"""torch.nn.quantized / torch.nn.intrinsic / torch.nn.qat are PyTorch's older names of
torch.ao.nn's packages; ember's ember.nn.quantized ... are the very same module objects."""
import importlib
import sys


def alias(alias_name, target_name, eager=()):
    """Register target_name and its loaded submodules (plus the `eager` ones, imported
    now) under alias_name in sys.modules, and return the target module."""
    target = importlib.import_module(target_name)
    for sub in eager:
        importlib.import_module(f"{target_name}.{sub}")
    for key, module in list(sys.modules.items()):
        if key == target_name or key.startswith(target_name + "."):
            sys.modules[alias_name + key[len(target_name):]] = module
    return target
