"""torchvision.utils: make_grid and save_image."""
import math

__all__ = ["make_grid", "save_image"]


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False,
              pad_value=0.0):
    """Tile a batch ``(B, C, H, W)`` (or a list of CxHxW images) into one CxH'xW' image,
    `nrow` images per row with `padding` pixels of `pad_value` between them.

    With `normalize`, values are shifted and scaled to [0, 1] using `value_range`
    ``(min, max)`` (default: the batch's min and max, or each image's with `scale_each`).
    """
    from .. import Tensor, full, stack
    if isinstance(tensor, (list, tuple)):
        tensor = stack(list(tensor), dim=0)
    if not isinstance(tensor, Tensor):
        raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    if tensor.dim() == 2:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 3:
        if tensor.size(0) == 1:
            tensor = tensor.expand(3, *tensor.shape[1:])
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 4 and tensor.size(1) == 1:
        tensor = tensor.expand(tensor.size(0), 3, *tensor.shape[2:])
    if normalize:
        tensor = tensor.clone()
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("value_range has to be a tuple (min, max) if specified. min and "
                            "max are numbers")

        def norm_range(t):
            low, high = value_range if value_range is not None else (float(t.min()),
                                                                     float(t.max()))
            t.clamp_(min=low, max=high)
            t.sub_(low).div_(max(high - low, 1e-5))

        if scale_each:
            for t in tensor:
                norm_range(t)
        else:
            norm_range(tensor)
    if tensor.size(0) == 1:
        return tensor.squeeze(0)
    nmaps = tensor.size(0)
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = int(tensor.size(2) + padding), int(tensor.size(3) + padding)
    num_channels = tensor.size(1)
    grid = full((num_channels, height * ymaps + padding, width * xmaps + padding), pad_value,
                dtype=tensor.dtype)
    k = 0
    for y in range(ymaps):
        for x in range(xmaps):
            if k >= nmaps:
                break
            top, left = y * height + padding, x * width + padding
            grid[:, top:top + height - padding, left:left + width - padding] = tensor[k]
            k += 1
    return grid


def save_image(tensor, fp, format=None, **kwargs):
    """Save a tensor (or batch, tiled by make_grid) as an image file."""
    from .. import no_grad, uint8
    from .transforms.functional import to_pil_image
    with no_grad():
        grid = make_grid(tensor, **kwargs)
        ndarr = grid.mul(255).add_(0.5).clamp_(0, 255).to(uint8)
    to_pil_image(ndarr).save(fp, format=format)
