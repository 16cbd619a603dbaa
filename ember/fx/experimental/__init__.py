"""torch.fx.experimental: ``optimization`` (fuse, remove_dropout, extract_subgraph) is
built; the rest is not (symbolic shapes and proxy-tensor tracing need PyTorch's dispatcher
and fake tensors): importing those submodules raises NotImplementedError."""


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    if name == "optimization":   # built: fuse, remove_dropout, extract_subgraph
        import importlib
        return importlib.import_module(f"{__name__}.optimization")
    raise NotImplementedError(f"ember.fx.experimental.{name} is not supported (torch.fx."
                              "experimental needs PyTorch's dispatcher and fake tensors)")
