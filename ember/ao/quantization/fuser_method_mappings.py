"""Which module sequences fuse_modules can fuse, and into what
(torch.ao.quantization.fuser_method_mappings).

For inference (eval mode) a BatchNorm after a conv or linear layer is folded into its weight
and bias (nn.utils.fusion); for QAT the modules are kept in a fused container (ConvBn2d ...)
that prepare_qat turns into a QAT module. A ReLU joins its predecessor in a ConvReLU /
LinearReLU / BNReLU container.
"""
from ember import nn
from ember.nn.utils import fusion

from ember.ao.nn.intrinsic.modules import fused as nni

__all__ = ["fuse_conv_bn", "fuse_conv_bn_relu", "fuse_linear_bn", "fuse_convtranspose_bn",
           "get_fuser_method", "get_fuser_method_new"]


def _check_bn_for_qat(bn, channels, what):
    if bn.num_features != channels:
        raise AssertionError(f"Output {what} must match num_features of "
                             f"{type(bn).__name__}")
    if not bn.affine:
        raise AssertionError(f"Only support fusing {type(bn).__name__} with affine set to True")
    if not bn.track_running_stats:
        raise AssertionError(f"Only support fusing {type(bn).__name__} with "
                             f"tracking_running_stats set to True")


def fuse_conv_bn(is_qat, conv, bn):
    """Conv + BatchNorm: ConvBn{1,2,3}d for QAT, else the conv with the BN folded in."""
    if conv.training != bn.training:
        raise AssertionError("Conv and BN both must be in the same mode (train or eval).")
    if not is_qat:
        return fusion.fuse_conv_bn_eval(conv, bn)
    _check_bn_for_qat(bn, conv.out_channels, "channel of Conv2d")
    fused_class = {nn.Conv1d: nni.ConvBn1d, nn.Conv2d: nni.ConvBn2d,
                   nn.Conv3d: nni.ConvBn3d}.get(type(conv))
    if fused_class is None:
        raise NotImplementedError(f"Cannot fuse train modules: {(conv, bn)}")
    return fused_class(conv, bn)


def fuse_conv_bn_relu(is_qat, conv, bn, relu):
    """Conv + BatchNorm + ReLU: ConvBnReLU for QAT, else ConvReLU(folded conv, relu)."""
    if not conv.training == bn.training == relu.training:
        raise AssertionError("Conv and BN both must be in the same mode (train or eval).")
    if is_qat:
        _check_bn_for_qat(bn, conv.out_channels, "channel of Conv2d")
        fused_class = {nn.Conv1d: nni.ConvBnReLU1d, nn.Conv2d: nni.ConvBnReLU2d,
                       nn.Conv3d: nni.ConvBnReLU3d}.get(type(conv))
        if fused_class is None:
            raise NotImplementedError(f"Cannot fuse train modules: {(conv, bn, relu)}")
        return fused_class(conv, bn, relu)
    fused_class = {nn.Conv1d: nni.ConvReLU1d, nn.Conv2d: nni.ConvReLU2d,
                   nn.Conv3d: nni.ConvReLU3d}.get(type(conv))
    if fused_class is None:
        raise NotImplementedError(f"Cannot fuse eval modules: {(conv, bn, relu)}")
    return fused_class(fusion.fuse_conv_bn_eval(conv, bn), relu)


def fuse_linear_bn(is_qat, linear, bn):
    """Linear + BatchNorm1d: LinearBn1d for QAT, else the linear with the BN folded in."""
    if linear.training != bn.training:
        raise AssertionError("Linear and BN both must be in the same mode (train or eval).")
    if not is_qat:
        return fusion.fuse_linear_bn_eval(linear, bn)
    _check_bn_for_qat(bn, linear.out_features, "features of Linear")
    return nni.LinearBn1d(linear, bn)


def fuse_convtranspose_bn(is_qat, convt, bn):
    """ConvTranspose + BatchNorm (eval only): the BN folded into the transposed conv."""
    if convt.training != bn.training:
        raise AssertionError("ConvTranspose and BN both must be in the same mode (train or "
                             "eval).")
    if is_qat:
        raise Exception(  # noqa: TRY002  (the type torch raises)
            "Fusing ConvTranspose+BatchNorm not yet supported in QAT.")
    return fusion.fuse_conv_bn_eval(convt, bn, transpose=True)


def _sequential_wrapper2(sequential):
    """A fuser method that puts the two modules in the fused container `sequential`."""
    def fuser_method(is_qat, m1, m2):
        return sequential(m1, m2)
    return fuser_method


_DEFAULT_OP_LIST_TO_FUSER_METHOD = {
    (nn.Conv1d, nn.BatchNorm1d): fuse_conv_bn,
    (nn.Conv1d, nn.BatchNorm1d, nn.ReLU): fuse_conv_bn_relu,
    (nn.Conv2d, nn.BatchNorm2d): fuse_conv_bn,
    (nn.Conv2d, nn.BatchNorm2d, nn.ReLU): fuse_conv_bn_relu,
    (nn.Conv3d, nn.BatchNorm3d): fuse_conv_bn,
    (nn.Conv3d, nn.BatchNorm3d, nn.ReLU): fuse_conv_bn_relu,
    (nn.Conv1d, nn.ReLU): _sequential_wrapper2(nni.ConvReLU1d),
    (nn.Conv2d, nn.ReLU): _sequential_wrapper2(nni.ConvReLU2d),
    (nn.Conv3d, nn.ReLU): _sequential_wrapper2(nni.ConvReLU3d),
    (nn.Linear, nn.BatchNorm1d): fuse_linear_bn,
    (nn.Linear, nn.ReLU): _sequential_wrapper2(nni.LinearReLU),
    (nn.BatchNorm2d, nn.ReLU): _sequential_wrapper2(nni.BNReLU2d),
    (nn.BatchNorm3d, nn.ReLU): _sequential_wrapper2(nni.BNReLU3d),
    (nn.ConvTranspose1d, nn.BatchNorm1d): fuse_convtranspose_bn,
    (nn.ConvTranspose2d, nn.BatchNorm2d): fuse_convtranspose_bn,
    (nn.ConvTranspose3d, nn.BatchNorm3d): fuse_convtranspose_bn,
}


def get_combined_dict(default_dict, additional_dict):
    """default_dict updated with additional_dict (a new dict)."""
    combined = dict(default_dict)
    combined.update(additional_dict)
    return combined


def get_fuser_method(op_list, additional_fuser_method_mapping=None):
    """The fuser method for a tuple of module types; AssertionError if there is none."""
    all_mappings = get_combined_dict(_DEFAULT_OP_LIST_TO_FUSER_METHOD,
                                     additional_fuser_method_mapping or {})
    fuser_method = all_mappings.get(op_list, None)
    if fuser_method is None:
        raise AssertionError(f"did not find fuser method for: {op_list} ")
    return fuser_method


def get_fuser_method_new(op_pattern, fuser_method_mapping):
    """The fuser method of a pattern (a tuple of ops in the order they run) from
    `fuser_method_mapping`, else the default one; AssertionError if there is none."""
    fuser_method = fuser_method_mapping.get(op_pattern) or \
        _DEFAULT_OP_LIST_TO_FUSER_METHOD.get(op_pattern)
    if fuser_method is None:
        raise AssertionError(f"did not find fuser method for: {op_pattern} ")
    return fuser_method
