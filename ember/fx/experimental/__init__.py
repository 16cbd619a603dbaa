"""torch.fx.experimental: not built in ember (symbolic shapes, proxy-tensor tracing,
optimization passes need PyTorch's dispatcher); importing a submodule raises
NotImplementedError."""


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise NotImplementedError(f"ember.fx.experimental.{name} is not supported (torch.fx."
                              "experimental needs PyTorch's dispatcher and fake tensors)")
