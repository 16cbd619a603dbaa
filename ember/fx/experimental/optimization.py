"""torch.fx.experimental.optimization: not built in ember (it needs PyTorch's dispatcher, fake
tensors or TorchScript)."""
raise NotImplementedError("ember.fx.experimental.optimization is not supported (torch.fx.experimental "
                          "needs PyTorch's dispatcher and fake tensors)")
