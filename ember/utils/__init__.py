"""ember.utils: data loading (torch.utils.data), activation checkpointing."""
from . import data
from . import checkpoint


def __getattr__(name):
    # benchmark is imported on first use, keeping `import ember` fast
    if name == "benchmark":
        import importlib
        return importlib.import_module(__name__ + ".benchmark")
    raise AttributeError(f"module 'ember.utils' has no attribute '{name}'")
