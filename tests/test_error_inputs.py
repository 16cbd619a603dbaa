"""Bad inputs, found by bench/opinfo_errors_sweep.py (torch's OpInfo error_inputs): each case
is the same program run on torch and on ember, which must raise the same exception type;
where ember adopts torch's wording, the case names a regex both messages must match."""
import re

import pytest

import ember

torch = pytest.importorskip("torch")


def _expanded(m, n):
    """A length-`n` tensor whose elements share one memory location."""
    return m.zeros(1).expand(n)


# name -> (program of the module m, regex both messages match or None)
CASES = {
    # out= over memory the op reads from (PyTorch's assert_no_overlap)
    "cat_out_is_input": (lambda m: _cat_out_is_input(m), "single memory location"),
    "cat_out_slice_of_input": (lambda m: _cat_out_slice(m), "single memory location"),
    "cat_out_expanded": (lambda m: m.cat([m.ones(2), m.ones(2)], out=_expanded(m, 4)),
                         "more than one element of the written-to tensor"),
    "gather_out_is_input": (lambda m: _gather_out_is_input(m), "single memory location"),
    "index_select_out_expanded": (
        lambda m: m.index_select(m.ones(3, 6), 1, m.tensor([0, 1]),
                                 out=m.zeros(1, 2).expand(3, 2)),
        "more than one element of the written-to tensor"),
    "masked_select_out_is_input": (lambda m: _masked_select_out_is_input(m),
                                   "single memory location"),
    "take_out_is_input": (lambda m: _take_out_is_input(m), "single memory location"),
    "take_out_expanded": (lambda m: m.take(m.ones(6), m.tensor([2, 1, 0]),
                                           out=_expanded(m, 3)),
                          "more than one element of the written-to tensor"),
    "kthvalue_out_is_input": (lambda m: _kthvalue_out_is_input(m), "single memory location"),
    # Tensor methods take no out=
    "method_gather_out": (lambda m: m.ones(3).gather(0, m.tensor([0]), out=m.zeros(1)),
                          "unexpected keyword argument 'out'"),
    "method_sum_out": (lambda m: m.ones(3).sum(out=m.zeros(())), None),
    "method_index_select_out": (
        lambda m: m.ones(3).index_select(0, m.tensor([0]), out=m.zeros(1)),
        "unexpected keyword argument 'out'"),
    # arange
    "arange_inf": (lambda m: m.arange(float("inf"), 2), r"unsupported range: inf -> 2"),
    "arange_nan": (lambda m: m.arange(0, float("nan")), r"unsupported range: 0 -> nan"),
    "arange_int_out_float_step": (
        lambda m: m.arange(0, 64, 0.5, out=m.empty(0, dtype=m.int64)), "step must be nonzero"),
    "arange_wrong_sign": (lambda m: m.arange(5, 0, 1),
                          "upper bound and lower bound inconsistent with step sign"),
    # convolution arguments, checked in PyTorch's order
    "conv1d_dilation_0": (lambda m: m.nn.functional.conv1d(m.ones(1, 1, 4), m.ones(1, 1, 2),
                                                           dilation=0),
                          "dilation should be greater than zero"),
    "conv1d_negative_padding_before_channels": (
        lambda m: m.nn.functional.conv1d(m.ones(1, 1, 4), m.ones(1, 2, 2), padding=-1),
        "negative padding is not supported"),
    "conv1d_stride_0_before_channels": (
        lambda m: m.nn.functional.conv1d(m.ones(1, 1, 4), m.ones(1, 2, 2), stride=0),
        "non-positive stride is not supported"),
    "conv1d_groups_above_out_channels": (
        lambda m: m.nn.functional.conv1d(m.ones(2, 2, 4), m.ones(2, 2, 2), groups=3),
        r"Given groups=3, expected weight to be at least 3 at dimension 0"),
    "conv1d_2d_weight": (lambda m: m.nn.functional.conv1d(m.ones(1, 1, 4), m.ones(1, 2)),
                         "weight should have at least three dimensions"),
    "conv2d_3d_weight": (lambda m: m.nn.functional.conv2d(m.ones(1, 1, 4, 4), m.ones(1, 1, 2),
                                                          stride=1, padding=0, dilation=1),
                         None),
    "conv3d_same_strided": (
        lambda m: m.nn.functional.conv3d(m.ones(1, 1, 4, 4, 4), m.ones(1, 1, 2, 2, 2),
                                         stride=2, padding="same"),
        "padding='same' is not supported for strided convolutions"),
    "conv1d_bad_padding_string": (
        lambda m: m.nn.functional.conv1d(m.ones(1, 1, 4), m.ones(1, 1, 2), padding="foo"),
        "Invalid padding string: 'foo'"),
    # activations and losses refusing bad parameters
    "softshrink_negative_lambda": (
        lambda m: m.nn.functional.softshrink(m.ones(3), -0.5),
        r"lambda must be in range \[0, 3.40282e\+38\] for input dtype Float, but found -0.5"),
    "softshrink_negative_lambda_double": (
        lambda m: m.nn.functional.softshrink(m.ones(3, dtype=m.float64), -0.5),
        r"lambda must be in range \[0, 1.79769e\+308\] for input dtype Double"),
    "prelu_0dim_input": (lambda m: m.nn.functional.prelu(m.tensor(1.0), m.ones(2)),
                         "Not allow zero-dim input tensor."),
    "prelu_2d_weight": (lambda m: m.nn.functional.prelu(m.ones(2, 8, 3), m.ones(2, 4)),
                        "Expected `weight` to be a scalar or 1D tensor, but got: ndim = 2"),
    "prelu_weight_size": (lambda m: m.nn.functional.prelu(m.ones(2, 8, 3), m.ones(9)),
                          "Found parameter numbers = 9 and channel size = 8"),
    "prelu_1d_input": (lambda m: m.nn.functional.prelu(m.ones(3), m.ones(3)),
                       "Found parameter numbers = 3 and channel size = 1"),
    "rrelu_lower_above_upper": (lambda m: m.nn.functional.rrelu(m.ones(3), 0.5, 0.1),
                                "Lower bound should be less than or equal to the upper bound"),
    "huber_loss_delta_0": (lambda m: m.nn.functional.huber_loss(m.ones(3), m.ones(3), delta=0),
                           "huber_loss does not support non-positive values for delta"),
    "triplet_margin_negative": (
        lambda m: m.nn.functional.triplet_margin_loss(m.ones(3, 4), m.ones(3, 4), m.ones(3, 4),
                                                      margin=-1.0),
        r"margin must be greater than 0, got -1.0"),
    "triplet_ndim": (
        lambda m: m.nn.functional.triplet_margin_loss(m.ones(3), m.ones(3, 4), m.ones(3, 4)),
        "expected to have the same number of dimensions, but got: anchor 1D, positive 2D"),
    "triplet_distance_margin_negative": (
        lambda m: m.nn.functional.triplet_margin_with_distance_loss(
            m.ones(3, 4), m.ones(3, 4), m.ones(3, 4), margin=-1.0),
        r"^margin must be greater than 0, got -1.0"),
    "cauchy_sigma_0": (lambda m: m.ones(3).cauchy_(0, 0),
                       r"cauchy_ expects sigma > 0.0, but found sigma=0"),
    # pooling arguments, in PyTorch's order and wording
    "max_pool2d_negative_pad": (
        lambda m: m.nn.functional.max_pool2d(m.ones(1, 4, 4), 2, 1, -1),
        r"pad must be non-negative, but got pad: -1"),
    "avg_pool1d_negative_pad": (
        lambda m: m.nn.functional.avg_pool1d(m.ones(0, 1, 49), 2, 50, -1),
        r"pad must be non-negative, but got pad: -1"),
    "max_pool1d_negative_pad": (
        lambda m: m.nn.functional.max_pool1d(m.ones(1, 1, 4), 2, 1, -1),
        r"max_pool1d\(\) padding must be non-negative, but got -1"),
    "max_pool1d_indices_negative_pad": (
        lambda m: m.nn.functional.max_pool1d(m.ones(1, 1, 4), 2, 1, -1, return_indices=True),
        r"pad must be non-negative, but got pad: -1"),
    "max_pool1d_stride_0": (lambda m: m.nn.functional.max_pool1d(m.ones(3, 3, 3), 1, 0),
                            r"max_pool1d\(\) stride must be greater than zero, but got 0"),
    "max_pool1d_output_negative": (
        lambda m: m.nn.functional.max_pool1d(m.ones(2, 2, 2), 5, 1, 0, 1),
        r"max_pool1d\(\) Invalid computed output size: -2"),
    "max_pool1d_empty_length": (
        lambda m: m.nn.functional.max_pool1d(m.ones(1, 10, 0), 1),
        r"max_pool1d: Expected 2D or 3D \(batch mode\) tensor with optional 0 dim batch size "
        r"for input, but got:\[1, 10, 0\]"),
    "max_pool2d_empty_height": (
        lambda m: m.nn.functional.max_pool2d(m.ones(1, 0, 10), 1),
        r"Expected 3D or 4D \(batch mode\) tensor with optional 0 dim batch size for input, "
        r"but got:\[1, 0, 10\]"),
    "max_pool2d_kernel_0": (lambda m: m.nn.functional.max_pool2d(m.ones(1, 4, 4), 0, 1),
                            r"kernel size should be greater than zero, but got kH: 0 kW: 0"),
    "avg_pool2d_stride_0": (lambda m: m.nn.functional.avg_pool2d(m.ones(1, 4, 4), 1, 0),
                            "stride should not be zero"),
    "max_pool2d_output_too_small": (
        lambda m: m.nn.functional.max_pool2d(m.ones(1, 1, 4), 2),
        r"Given input size: \(1x1x4\). Calculated output size: \(1x0x2\). Output size is "
        r"too small"),
    "max_pool3d_empty_channels": (
        lambda m: m.nn.functional.max_pool3d(m.ones(0, 1, 2, 10), 1),
        r"Expected input's non-batch dimensions to have positive length, but input has a shape "
        r"of \[0, 1, 2, 10\] and non-batch dimension 0 has length zero!"),
    "adaptive_avg_pool1d_empty_size": (
        lambda m: m.nn.functional.adaptive_avg_pool1d(m.ones(1, 2, 3), ()),
        r"argument 'output_size' should contain one int \(got 0\)"),
    "adaptive_avg_pool1d_negative": (
        lambda m: m.nn.functional.adaptive_avg_pool1d(m.ones(1, 1, 1), (-1,)),
        r"adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but "
        r"received \{1, -1\}"),
    "adaptive_max_pool1d_negative": (
        lambda m: m.nn.functional.adaptive_max_pool1d(m.ones(1, 1, 1), (-1,)),
        r"Trying to create tensor with negative dimension -1: \[1, 1, 1, -1\]"),
    "adaptive_avg_pool2d_2d_input": (
        lambda m: m.nn.functional.adaptive_avg_pool2d(m.ones(2, 2), (2, 2)),
        "Input dimension should be at least 3"),
    "adaptive_max_pool3d_empty_size": (
        lambda m: m.nn.functional.adaptive_max_pool3d(m.ones(1, 2, 3, 4, 5), ()),
        r"output_size.size\(\) must be 3"),
    "adaptive_avg_pool2d_negative": (
        lambda m: m.nn.functional.adaptive_avg_pool2d(m.ones(1, 1, 1, 1), (-1, 0)),
        r"elements of output_size must be greater than or equal to 0 but received \{-1, 0\}"),
    # values that do not fit the dtype
    "masked_fill_complex_into_float": (
        lambda m: m.ones(2, 2).masked_fill(m.tensor(False), 1j),
        "value cannot be converted to type float without overflow"),
    "masked_fill_complex_tensor_into_long": (
        lambda m: m.ones(2, dtype=m.int64).masked_fill(m.tensor(False), m.tensor(1j)),
        "value cannot be converted to type int64_t without overflow"),
    "masked_fill_300_into_uint8": (
        lambda m: m.ones(2, dtype=m.uint8).masked_fill(m.tensor([True, False]), 300),
        "value cannot be converted to type uint8_t without overflow"),
    "masked_fill_nan_into_int": (
        lambda m: m.ones(2, dtype=m.int32).masked_fill(m.tensor([True, False]), float("nan")),
        "value cannot be converted to type int without overflow"),
    "masked_fill_1e6_into_half": (
        lambda m: m.ones(2, dtype=m.float16).masked_fill(m.tensor([True, False]), 1e6),
        r"value cannot be converted to type c10::Half without overflow"),
    # shape arguments
    "narrow_copy_dim_too_large": (lambda m: m.narrow_copy(m.ones(10, 5, 20), 3, 0, 0),
                                  r"Expected dim < static_cast<int64_t>\(self_sizes.size\(\)\)"),
    "narrow_copy_negative_length": (
        lambda m: m.narrow_copy(m.ones(10), 0, 0, -1),
        r"start \(0\) \+ length \(-1\) exceeds dimension size \(10\)\."),
    "narrow_copy_start_out_of_range": (
        lambda m: m.narrow_copy(m.ones(10), 0, 11, 0),
        r"start out of range \(expected to be in range of \[-10, 10\], but got 11\)"),
    "narrow_copy_0dim": (lambda m: m.narrow_copy(m.tensor(1.0), 0, 0, 1),
                         r"narrow\(\) cannot be applied to a 0-dim tensor\."),
    "narrow_bool_start": (lambda m: m.ones(20, 10, 5).narrow(-3, m.tensor(True), 3),
                          r"start must be an 0-dim integral Tensor\."),
    "narrow_1d_start": (lambda m: m.narrow(m.ones(20, 10, 5), 1, m.tensor([1, 2]), 2),
                        r"start must be an 0-dim integral Tensor\."),
    "roll_0dim_dims": (lambda m: m.roll(m.tensor(1.0), 0, 0),
                       "Dimension specified as 0 but tensor has no dimensions"),
    "roll_no_shifts": (lambda m: m.roll(m.ones(5), ()), "`shifts` required"),
    "hstack_first_1d": (lambda m: m.hstack((m.ones(5), m.ones(5, 5, 5, 5), m.ones(5))),
                        "Tensors must have same number of dimensions"),
    "histogramdd_bins_per_dim": (
        lambda m: m.histogramdd(m.ones(5, 6), [1, 1, 1, 1, 1]),
        "histogramdd: The size of bins must be equal to the innermost dimension of the input."),
    "gradient_repeated_dim": (lambda m: m.gradient(m.ones(3, 3), spacing=0.1, dim=(1, 1)),
                              "dim 1 appears multiple times in the list of dims"),
    # out= dtypes
    "gather_out_dtype": (
        lambda m: m.gather(m.ones(2, 2), 1, m.tensor([[0, 0], [1, 0]]),
                           out=m.empty(2, 2, dtype=m.float64)),
        "Expected out tensor to have dtype float, but got double instead"),
    "aminmax_out_dtype": (
        lambda m: m.aminmax(m.ones(4, 3), dim=0, out=(m.empty(3), m.empty(3, dtype=m.float64))),
        "Expected out tensor to have dtype float, but got double instead"),
    "amax_out_dtype": (
        lambda m: m.amax(m.ones(4, 3), 0, out=m.empty(3, dtype=m.int32)),
        "Expected the dtype for input and out to match, but got Float for input's dtype and "
        "Int for out's dtype."),
    "complex_out_dtype": (
        lambda m: m.complex(m.ones(2, dtype=m.float64), m.ones(2, dtype=m.float64),
                            out=m.empty(2, dtype=m.complex64)),
        "Expected object of scalar type ComplexDouble but got scalar type ComplexFloat for "
        "argument 'out'"),
    "complex_int_imag": (lambda m: m.complex(m.ones(2), m.ones(2, dtype=m.int32)),
                         "Expected both inputs to be Half, Float or Double tensors but got "
                         "Float and Int"),
    # random sampling
    "bernoulli_out_expanded": (
        lambda m: m.bernoulli(m.ones(6) * 0.5, out=_expanded(m, 6)),
        "more than one element of the written-to tensor"),
    "multinomial_out_dtype": (
        lambda m: m.multinomial(m.ones(3), 2, out=m.empty(2)),
        "multinomial expects Long tensor out, got: Float"),
    "multinomial_negative_with_replacement": (
        lambda m: m.multinomial(m.tensor([1.0, -1.0, 1.0]), 2, True),
        r"invalid multinomial distribution \(encountering probability entry < 0\)"),
    "multinomial_nan_with_replacement": (
        lambda m: m.multinomial(m.tensor([1.0, float("nan")]), 2, True),
        r"invalid multinomial distribution \(encountering probability entry < 0\)"),
    "multinomial_inf_with_replacement": (
        lambda m: m.multinomial(m.tensor([1.0, float("inf")]), 2, True),
        r"invalid multinomial distribution \(encountering probability entry = infinity or "
        r"NaN\)"),
    "multinomial_inf_without_replacement": (
        lambda m: m.multinomial(m.tensor([1.0, float("inf"), 1.0]), 2),
        "probability tensor contains either `inf`, `nan` or element < 0"),
    # normalization and embedding shapes
    "rms_norm_empty_normalized_shape": (
        lambda m: m.nn.functional.rms_norm(m.ones(1, 2, 3), ()),
        r"Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one "
        r"element, but got normalized_shape = \[\]"),
    "rms_norm_weight_shape": (
        lambda m: m.nn.functional.rms_norm(m.ones(1, 2, 3), (1, 2, 3), m.ones(1, 2)),
        r"Expected weight to be of same shape as normalized_shape, but got weight of shape "
        r"\[1, 2\] and normalized_shape = \[1, 2, 3\]"),
    "rms_norm_input_shape": (
        lambda m: m.nn.functional.rms_norm(m.ones(1, 2, 3), (4, 3)),
        r"Given normalized_shape=\[4, 3\], expected input with shape \[\*4, 3\], but got "
        r"input of size\[1, 2, 3\]"),
    "layer_norm_empty_normalized_shape": (
        lambda m: m.nn.functional.layer_norm(m.ones(1, 2, 3), ()),
        r"Expected normalized_shape to be at least 1-dimensional"),
    "layer_norm_weight_before_input": (
        lambda m: m.nn.functional.layer_norm(m.ones(1, 2, 3), (2, 2), m.ones(3)),
        r"Expected weight to be of same shape as normalized_shape"),
    "embedding_0dim_weight": (
        lambda m: m.nn.functional.embedding(m.tensor([[0, 0], [0, 0]]), m.tensor(1.0)),
        "'weight' must be 2-D"),
    "embedding_3d_weight": (
        lambda m: m.nn.functional.embedding(m.tensor([[0, 0], [0, 0]]), m.ones(1, 1, 1)),
        "'weight' must be 2-D"),
    "gaussian_nll_var_size": (
        lambda m: m.nn.functional.gaussian_nll_loss(m.ones(10, 2, 3), m.ones(10, 2, 3),
                                                    m.ones(10, 2, 2)),
        "var is of incorrect size"),
    "gaussian_nll_reduction": (
        lambda m: m.nn.functional.gaussian_nll_loss(m.ones(10, 2, 3), m.ones(10, 2, 3),
                                                    m.ones(10, 2, 3), reduction="abc"),
        "abc is not valid"),
    # wording adopted from PyTorch
    "fft_0dim": (lambda m: m.fft.fft(m.tensor(1.0)),
                 "Dimension specified as -1 but tensor has no dimensions"),
    "fft2_0dim": (lambda m: m.fft.fft2(m.tensor(1.0), dim=(0,)),
                  "Dimension specified as 0 but tensor has no dimensions"),
    "irfftn_0dim": (lambda m: m.fft.irfftn(m.tensor(1.0), dim=(0,)),
                    "Dimension specified as 0 but tensor has no dimensions"),
    "fftshift_0dim": (lambda m: m.fft.fftshift(m.tensor(1.0)), "`shifts` required"),
    "movedim_repeated": (lambda m: m.movedim(m.ones(1, 2, 3, 4, 5), (0, 4, -5), (1, 2, 3)),
                         r"movedim: repeated dim in `source` \(\[0, 4, -5\]\)"),
    "reshape_0_elements_ambiguous": (
        lambda m: m.ones(0, 2).reshape(0, -1),
        r"cannot reshape tensor of 0 elements into shape \[0, -1\] because the unspecified "
        r"dimension size -1 can be any value and is ambiguous"),
    "view_0_elements_ambiguous": (lambda m: m.ones(0, 2).view(0, -1),
                                  r"cannot reshape tensor of 0 elements"),
    "scatter_src_ndim": (
        lambda m: m.scatter(m.ones(3, 5), 0, m.tensor([[0, 1], [1, 2]]), m.ones(2, 5, 2)),
        "Index tensor must have the same number of dimensions as src tensor"),
    "dot_dtype_before_size": (
        lambda m: m.dot(m.ones(1), m.ones(3, dtype=m.float64)),
        "dot : expected both vectors to have same dtype, but found Float and Double"),
    "ormqr_tau_length": (
        lambda m: m.ormqr(m.ones(5, 3), m.ones(4), m.ones(5, 5)),
        r"tau.shape\[-1\] must be equal to min\(other.shape\[-2\], input.shape\[-1\]\)"),
    "hsplit_string": (lambda m: m.hsplit(m.ones(5, 5, 5), "abc"),
                      "hsplit\\(\\) received an invalid combination of arguments - got "
                      "\\(Tensor, str\\)"),
    "linspace_float_steps": (lambda m: m.linspace(0, 3, 1.0),
                             r"received an invalid combination of arguments - got \(int, int, "
                             r"float"),
    "logspace_1d_bounds": (
        lambda m: m.logspace(m.tensor([1, 1]), m.tensor([3, 3]), 1),
        "logspace only supports 0-dimensional start and end tensors, but got start with 1 "
        r"dimension\(s\) and end with 1 dimension\(s\)."),
    "empty_permuted_dim_out_of_range": (
        lambda m: m.empty_permuted((2,), (3,)),
        r"Dimension out of range \(expected to be between 0 and 0, but got 3 at index 0\)"),
    "margin_ranking_ndim": (
        lambda m: m.nn.functional.margin_ranking_loss(m.ones(5, 4), m.ones(5, 4), m.ones(5)),
        "margin_ranking_loss : All input tensors should have same dimension but got sizes"),
    # multi-class margin losses check in PyTorch's order
    "multi_margin_empty_classes": (
        lambda m: m.nn.functional.multi_margin_loss(m.ones(5, 0), m.ones(5)),
        r"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
        r"\[5, 0\]"),
    "multi_margin_float_target": (
        lambda m: m.nn.functional.multi_margin_loss(m.ones(5, 4), m.ones(5)),
        "expected scalar type Long but found Float"),
    "multi_margin_weight_size": (
        lambda m: m.nn.functional.multi_margin_loss(m.ones(5, 4), m.ones(5), weight=m.ones(5)),
        r"inconsistent weight size, expected 4 but got \[5\]"),
    "multi_margin_3d": (
        lambda m: m.nn.functional.multi_margin_loss(m.ones(3, 4, 5), m.ones(3).long()),
        r"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
        r"\[3, 4, 5\]"),
    "multilabel_margin_empty": (
        lambda m: m.nn.functional.multilabel_margin_loss(m.ones(0), m.ones(0).long()),
        r"Expected non-empty vector or matrix with optional 0-dim batch size, but got: \[0\]"),
    "multilabel_margin_target_range": (
        lambda m: m.nn.functional.multilabel_margin_loss(m.ones(1), m.ones(1).long()),
        "argument #2 'target' is out of range"),
}


def test_aminmax_writes_out():
    """aminmax(out=) writes its results into the given tensors, as PyTorch's."""
    lo, hi = ember.empty(3), ember.empty(3)
    ember.aminmax(ember.arange(6.0).reshape(2, 3), dim=0, out=(lo, hi))
    assert lo.tolist() == [0.0, 1.0, 2.0] and hi.tolist() == [3.0, 4.0, 5.0]


def test_adaptive_pool_empty_output_size():
    """An output size of 0 gives an empty result (ember divided by it)."""
    for fn in ("adaptive_avg_pool2d", "adaptive_max_pool2d"):
        t = getattr(torch.nn.functional, fn)(torch.ones(1, 1, 2, 2), (1, 0))
        e = getattr(ember.nn.functional, fn)(ember.ones(1, 1, 2, 2), (1, 0))
        assert tuple(e.shape) == tuple(t.shape) and str(e.dtype)[6:] == str(t.dtype)[6:]
    t, ti = torch.nn.functional.adaptive_max_pool1d(torch.ones(1, 1, 3), 0, return_indices=True)
    e, ei = ember.nn.functional.adaptive_max_pool1d(ember.ones(1, 1, 3), 0, return_indices=True)
    assert tuple(e.shape) == tuple(t.shape) and tuple(ei.shape) == tuple(ti.shape)
    assert ei.dtype is ember.int64


def _cat_out_is_input(m):
    x = m.zeros(4, 6)
    return m.cat((m.ones(4, 6), x), out=x)


def _cat_out_slice(m):
    z = m.zeros(4, 6)
    return m.cat((m.ones(4, 6), z), out=z[:2, :])


def _gather_out_is_input(m):
    x = m.arange(6.0)
    return m.gather(x, 0, m.tensor([2, 1, 0]), out=x)


def _masked_select_out_is_input(m):
    x = m.arange(6.0)
    return m.masked_select(x, x > 2, out=x)


def _take_out_is_input(m):
    x = m.arange(6.0)
    return m.take(x, m.tensor([2, 1, 0]), out=x)


def _kthvalue_out_is_input(m):
    x = m.arange(10.0)
    return m.kthvalue(x, 5, out=(x, m.zeros((), dtype=m.int64)))


def _exception(program, m):
    try:
        program(m)
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return e
    return None


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_exception_as_torch(name):
    program, regex = CASES[name]
    t_exc = _exception(program, torch)
    e_exc = _exception(program, ember)
    assert t_exc is not None, "torch no longer raises: the case is stale"
    assert type(e_exc) is type(t_exc), f"torch {t_exc!r}, ember {e_exc!r}"
    if regex is not None:
        assert re.search(regex, str(t_exc)), str(t_exc)
        assert re.search(regex, str(e_exc)), str(e_exc)


def test_methods_without_out_still_work():
    x = ember.arange(6.0)
    assert x.gather(0, ember.tensor([2, 1])).tolist() == [2.0, 1.0]
    out = ember.zeros(2)
    assert ember.gather(x, 0, ember.tensor([2, 1]), out=out) is out
    assert out.tolist() == [2.0, 1.0]
