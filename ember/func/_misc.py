"""functionalize and replace_all_batch_norm_modules_ (``torch.func``)."""
import functools

__all__ = ["functionalize", "replace_all_batch_norm_modules_"]


def functionalize(func, *, remove="mutations"):
    """`func` itself, as a function with the same results. PyTorch's functionalize rewrites
    a traced program to remove in-place mutations for its compilers; ember runs programs
    eagerly, so there is nothing to rewrite: the values are the same either way."""
    if remove not in ("mutations", "mutations_and_views"):
        raise AssertionError(f"functionalize(f, remove='mutations'): received invalid argument "
                             f"for remove={remove}. Valid options are 'mutations' and "
                             f"'mutations_and_views'.")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapped


def replace_all_batch_norm_modules_(root):
    """Make every batch norm module under `root` stop tracking running statistics (in
    place; returns `root`), so that it normalizes with batch statistics and updates no
    buffers: what vmap over a model with BatchNorm needs."""
    from ..nn.modules.normalization import _BatchNorm
    for module in root.modules():
        if isinstance(module, _BatchNorm):
            module.running_mean = None
            module.running_var = None
            module.num_batches_tracked = None
            module.track_running_stats = False
    return root
