"""torch.fx.experimental.symbolic_shapes: not built in ember (it needs PyTorch's dispatcher, fake
tensors or TorchScript)."""
raise NotImplementedError("ember.fx.experimental.symbolic_shapes is not supported (torch.fx.experimental "
                          "needs PyTorch's dispatcher and fake tensors)")
