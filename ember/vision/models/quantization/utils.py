"""What the quantizable models share (torchvision.models.quantization.utils): swapping
in-place ReLUs for plain ones, the post-training quantization recipe of the builders'
``quantize=True``, fusion in the mode of the model, and the builders' argument handling."""
import functools
import os
import warnings

from .... import backends, nn, rand
from ....ao import quantization as tq
from .._api import load_weights, overwrite_named_param

__all__ = ["quantize_model"]


def _replace_relu(module):
    """Replace every ``nn.ReLU``/``nn.ReLU6`` (of exactly that type: subclasses stay) by
    ``nn.ReLU(inplace=False)``, in place, all the way down.

    Why: eager quantization observes a module's output; an in-place ReLU would overwrite
    the tensor another observer already saw, and the fused Conv-BN-ReLU patterns expect
    ReLU modules. ReLU6 becomes ReLU because after quantization the upper clamp is
    absorbed by the activation's quantization range."""
    reassign = {}
    for name, child in module.named_children():
        _replace_relu(child)
        if type(child) is nn.ReLU or type(child) is nn.ReLU6:
            reassign[name] = nn.ReLU(inplace=False)
    for name, child in reassign.items():
        module._modules[name] = child


def quantize_model(model, backend):
    """Post-training static quantization of a quantizable model, in place, as
    torchvision's builders do it without pretrained weights: set the quantized engine,
    put the model in eval mode, give it the qconfig the published weights were made with
    (fbgemm: per-tensor affine activations with range [0, 127], per-channel symmetric
    weights; qnnpack: per-tensor weights), fuse, prepare, calibrate on one uniform
    [0, 1) batch of shape (1, 3, 299, 299) drawn from the global generator, convert."""
    calibration_batch = rand(1, 3, 299, 299)
    if backend not in backends.quantized.supported_engines:
        raise RuntimeError("Quantized backend not supported ")
    backends.quantized.engine = backend
    model.eval()
    if backend == "fbgemm":
        model.qconfig = tq.QConfig(activation=tq.default_observer,
                                   weight=tq.default_per_channel_weight_observer)
    elif backend == "qnnpack":
        model.qconfig = tq.QConfig(activation=tq.default_observer,
                                   weight=tq.default_weight_observer)
    model.fuse_model()
    tq.prepare(model, inplace=True)
    model(calibration_batch)
    tq.convert(model, inplace=True)


def _fuse_modules(model, modules_to_fuse, is_qat, **kwargs):
    """``fuse_modules_qat`` when `is_qat` (None: when the model is training), else
    ``fuse_modules``."""
    if is_qat is None:
        is_qat = model.training
    fuse = tq.fuse_modules_qat if is_qat else tq.fuse_modules
    return fuse(model, modules_to_fuse, **kwargs)


def _keyword_only(builder):
    """Let `builder`'s keyword-only arguments (weights, progress, quantize) also be given
    by position, with torchvision's deprecation warning (as its kwonly_to_pos_or_kw)."""
    names = ("weights", "progress", "quantize")

    @functools.wraps(builder)
    def wrapper(*args, **kwargs):
        if args:
            given = [f"'{name}'" for name in names[:len(args)]]
            listed = given[0] if len(given) == 1 else (
                f"{given[0]} and {given[1]}" if len(given) == 2 else
                f"{', '.join(given[:-1])}, and {given[-1]}")
            warnings.warn(f"Using {listed} as positional parameter(s) is deprecated since "
                          f"0.13 and may be removed in the future. Please use keyword "
                          f"parameter(s) instead.", stacklevel=2)
            if len(args) > len(names):
                raise TypeError(f"{builder.__name__}() takes 0 positional arguments but "
                                f"{len(args)} were given")
            kwargs.update(zip(names, args))
        return builder(**kwargs)
    return wrapper


def _resolve_weights(kwargs, weights, quantize, quantized_enum, float_enum, float_legacy):
    """The weights a quantizable builder was asked for: a member (or name) of
    `quantized_enum` when `quantize`, else of `float_enum`; None; a local file path; or the
    legacy ``pretrained=True/False`` in `kwargs` (or a bool given as `weights`), with
    torchvision's warnings, meaning the quantized enum's first member, or `float_enum`'s
    `float_legacy` member, or None."""
    enum_cls = quantized_enum if quantize else float_enum
    legacy_positional = isinstance(weights, bool)
    if legacy_positional or "pretrained" in kwargs:
        if legacy_positional:
            pretrained = weights
        else:
            pretrained = kwargs.pop("pretrained")
            if weights is not None:
                raise ValueError("Use either 'weights' or the deprecated 'pretrained', "
                                 "not both")
            warnings.warn("The parameter 'pretrained' is deprecated since 0.13 and may be "
                          "removed in the future, please use 'weights' instead.",
                          stacklevel=3)
        default = next(iter(quantized_enum)) if quantize else float_enum[float_legacy]
        weights = default if pretrained else None
        message = (f"Arguments other than a weight enum or `None` for 'weights' are "
                   f"deprecated since 0.13 and may be removed in the future. The current "
                   f"behavior is equivalent to passing `weights={weights!r}`.")
        if pretrained:
            message += (f" You can also use `weights={type(default).__name__}.DEFAULT` to "
                        f"get the most up-to-date weights.")
        warnings.warn(message, stacklevel=3)
    if isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights):
        return os.fspath(weights)
    return enum_cls.verify(weights)


def _fix_kwargs(kwargs, weights, default_backend):
    """With an enum's weights the classifier has its number of categories and the
    backend is the one the weights were quantized for; returns the backend."""
    if weights is not None and not isinstance(weights, str):
        overwrite_named_param(kwargs, "num_classes", len(weights.meta["categories"]))
        if "backend" in weights.meta:
            overwrite_named_param(kwargs, "backend", weights.meta["backend"])
    return kwargs.pop("backend", default_backend)


def _load(model, weights, progress):
    """Load an enum member's (or a local file's) state dict into the built model."""
    return load_weights(model, weights, progress)


_PTQ_RECIPE = ("https://github.com/pytorch/vision/tree/main/references/classification"
               "#post-training-quantized-models")


def _quantized_weights(url, num_params, acc1, acc5, unquantized, ops, file_size,
                       backend="fbgemm", crop_size=224, resize_size=256, min_size=(1, 1),
                       recipe=_PTQ_RECIPE, qat=False):
    """A Weights record of a quantized ImageNet classifier, with torchvision's meta
    keys: the float weights it was quantized from (`unquantized`), the `backend` whose
    kernels it was calibrated for, and how (post-training, or `qat`)."""
    from functools import partial

    from .._api import ImageClassification, Weights
    from .._meta import _IMAGENET_CATEGORIES
    meta = {"num_params": num_params, "min_size": min_size,
            "categories": _IMAGENET_CATEGORIES, "backend": backend, "recipe": recipe,
            "unquantized": unquantized,
            "_metrics": {"ImageNet-1K": {"acc@1": acc1, "acc@5": acc5}},
            "_ops": ops, "_file_size": file_size,
            "_docs": f"These weights were produced by doing "
                     f"{'Quantization Aware Training' if qat else 'Post Training Quantization'}"
                     f" (eager mode) on top of the unquantized weights listed below."}
    return Weights(url=url, transforms=partial(ImageClassification, crop_size=crop_size,
                                               resize_size=resize_size), meta=meta)
