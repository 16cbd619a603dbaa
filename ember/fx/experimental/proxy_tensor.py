"""torch.fx.experimental.proxy_tensor: not built in ember (it needs PyTorch's dispatcher, fake
tensors or TorchScript)."""
raise NotImplementedError("ember.fx.experimental.proxy_tensor is not supported (torch.fx.experimental "
                          "needs PyTorch's dispatcher and fake tensors)")
