"""What each ember function, nn.functional function, Tensor method and Python operator
of a traced forward becomes in the TorchScript code ember.jit.save writes (_codegen.py):
the ATen function's name and, for nn.functional, F's parameters in ATen's order.

A name is in a table only when the ATen schema takes the Python call's arguments as they
are (positional order, keyword names); the others are written by _codegen._Writer's
special cases or refused.
"""
import operator

__all__ = ["OPERATORS", "TORCH_FUNCTIONS", "SIZE_FUNCTIONS", "FUNCTIONAL", "POOL_LISTS",
           "METHODS", "SIZE_METHODS", "CAST_METHODS", "REDUCTIONS", "LOSSES",
           "NORMS_WITH_FLAG", "KEYWORD_ONLY", "METHOD_ALIASES"]

OPERATORS = {operator.add: "add", operator.sub: "sub", operator.mul: "mul",
              operator.truediv: "div", operator.floordiv: "floordiv", operator.mod: "remainder",
              operator.pow: "pow", operator.matmul: "matmul", operator.neg: "neg",
              operator.eq: "eq", operator.ne: "ne", operator.lt: "lt", operator.le: "le",
              operator.gt: "gt", operator.ge: "ge", operator.and_: "__and__",
              operator.or_: "__or__", operator.iadd: "add_", operator.isub: "sub_",
              operator.imul: "mul_", operator.itruediv: "div_", operator.xor: "__xor__",
              operator.invert: "bitwise_not", operator.abs: "abs"}

# ember.<name> functions whose Python signature is ATen's schema (positional order)
TORCH_FUNCTIONS = frozenset("""
relu sigmoid tanh exp log sqrt rsqrt abs neg sin cos flatten cat stack matmul mm bmm t
transpose unsqueeze squeeze clamp softmax log_softmax mean sum max min argmax argmin
add sub mul div pow where zeros ones zeros_like ones_like full arange tanh_ relu_ chunk
split unbind addmm baddbmm einsum maximum minimum floor ceil round erf cumsum prod
logsumexp masked_fill norm gather index_select narrow roll flip tril triu permute reshape
prelu hardtanh leaky_relu elu selu celu gelu silu hardswish hardsigmoid softplus mish threshold
topk sort argsort square sign sgn amax amin var std std_mean var_mean full_like randn_like
rand_like empty_like all any isnan isinf isfinite logical_not logical_and logical_or
logical_xor bitwise_not floor_divide remainder fmod atan2 lerp addcmul addcdiv diag diagonal
outer cross cdist repeat_interleave masked_select broadcast_to clone detach numel log1p expm1
log2 log10 sinh cosh tan asin acos atan reciprocal trunc frac exp2 rand randn randint
linspace eye empty unflatten movedim select take_along_dim nan_to_num clamp_min clamp_max
dist tile cumprod kthvalue median mode cosine_similarity pairwise_distance channel_shuffle
pixel_shuffle pixel_unshuffle bucketize searchsorted conv1d conv2d conv3d conv_transpose1d
conv_transpose2d conv_transpose3d layer_norm dropout mv dot logit erfinv lgamma digamma
rsub cummax cummin diff xlogy pdist hypot heaviside logaddexp fmax fmin kron trace
signbit sinc deg2rad rad2deg i0 erfc nansum nanmean count_nonzero
""".split())

# ember.<name> factories taking sizes as *args or one list (torch.zeros(2, 3)): ATen
# takes one int[] list
SIZE_FUNCTIONS = frozenset("zeros ones empty rand randn full".split())

# ember.nn.functional.<name> -> (aten name, F's parameter names in ATen's order, their
# defaults): F's keyword defaults made explicit where ATen has none; `inplace`, where F
# has it, picks ATen's in-place spelling (relu_) and is not passed on
FUNCTIONAL = {
    "relu": ("relu", ("input", "inplace"), {"inplace": False}),
    "gelu": ("gelu", ("input", "approximate"), {"approximate": "none"}),
    "silu": ("silu", ("input", "inplace"), {"inplace": False}),
    "sigmoid": ("sigmoid", ("input",), {}),
    "tanh": ("tanh", ("input",), {}),
    "linear": ("linear", ("input", "weight", "bias"), {"bias": None}),
    "softmax": ("softmax", ("input", "dim", "dtype"), {"dtype": None}),
    "log_softmax": ("log_softmax", ("input", "dim", "dtype"), {"dtype": None}),
    "dropout": ("dropout", ("input", "p", "training", "inplace"),
                {"p": 0.5, "training": True, "inplace": False}),
    "adaptive_avg_pool2d": ("adaptive_avg_pool2d", ("input", "output_size"), {}),
    "adaptive_avg_pool1d": ("adaptive_avg_pool1d", ("input", "output_size"), {}),
    "layer_norm": ("layer_norm", ("input", "normalized_shape", "weight", "bias", "eps"),
                   {"weight": None, "bias": None, "eps": 1e-5}),
    "conv2d": ("conv2d", ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
               {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1}),
    "conv1d": ("conv1d", ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
               {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1}),
    "leaky_relu": ("leaky_relu", ("input", "negative_slope", "inplace"),
                   {"negative_slope": 0.01, "inplace": False}),
    "hardtanh": ("hardtanh", ("input", "min_val", "max_val", "inplace"),
                 {"min_val": -1.0, "max_val": 1.0, "inplace": False}),
    "elu": ("elu", ("input", "alpha", "inplace"), {"alpha": 1.0, "inplace": False}),
    "pad": ("pad", ("input", "pad", "mode", "value"), {"mode": "constant", "value": None}),
    "interpolate": ("interpolate", ("input", "size", "scale_factor", "mode", "align_corners",
                                    "recompute_scale_factor", "antialias"),
                    {"size": None, "scale_factor": None, "mode": "nearest",
                     "align_corners": None, "recompute_scale_factor": None,
                     "antialias": False}),
    "pixel_shuffle": ("pixel_shuffle", ("input", "upscale_factor"), {}),
    "pixel_unshuffle": ("pixel_unshuffle", ("input", "downscale_factor"), {}),
    "logsigmoid": ("log_sigmoid", ("input",), {}),
    "glu": ("glu", ("input", "dim"), {"dim": -1}),
    "max_pool2d": ("max_pool2d", ("input", "kernel_size", "stride", "padding", "dilation",
                                  "ceil_mode"),
                   {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False}),
    "avg_pool2d": ("avg_pool2d", ("input", "kernel_size", "stride", "padding", "ceil_mode",
                                  "count_include_pad", "divisor_override"),
                   {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True,
                    "divisor_override": None}),
    "max_pool1d": ("max_pool1d", ("input", "kernel_size", "stride", "padding", "dilation",
                                  "ceil_mode"),
                   {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False}),
    "avg_pool1d": ("avg_pool1d", ("input", "kernel_size", "stride", "padding", "ceil_mode",
                                  "count_include_pad"),
                   {"stride": None, "padding": 0, "ceil_mode": False,
                    "count_include_pad": True}),
    "adaptive_max_pool1d": ("adaptive_max_pool1d", ("input", "output_size"), {}),
    "adaptive_max_pool2d": ("adaptive_max_pool2d", ("input", "output_size"), {}),
    "adaptive_avg_pool3d": ("adaptive_avg_pool3d", ("input", "output_size"), {}),
    "softplus": ("softplus", ("input", "beta", "threshold"), {"beta": 1.0, "threshold": 20.0}),
    "softsign": ("", ("input",), {}),   # (written by the writer)
    "softmin": ("softmax", ("input", "dim", "dtype"), {"dtype": None}),
    "relu6": ("hardtanh", ("input", "min_val", "max_val", "inplace"),
              {"min_val": 0.0, "max_val": 6.0, "inplace": False}),
    "tanhshrink": ("", ("input",), {}),
    "normalize": ("", ("input", "p", "dim", "eps"), {}),
    "mish": ("mish", ("input", "inplace"), {"inplace": False}),
    "hardswish": ("hardswish", ("input", "inplace"), {"inplace": False}),
    "hardsigmoid": ("hardsigmoid", ("input", "inplace"), {"inplace": False}),
    "selu": ("selu", ("input", "inplace"), {"inplace": False}),
    "celu": ("celu", ("input", "alpha", "inplace"), {"alpha": 1.0, "inplace": False}),
    "threshold": ("threshold", ("input", "threshold", "value", "inplace"), {"inplace": False}),
    "hardshrink": ("hardshrink", ("input", "lambd"), {"lambd": 0.5}),
    "softshrink": ("softshrink", ("input", "lambd"), {"lambd": 0.5}),
    "prelu": ("prelu", ("input", "weight"), {}),
    "bilinear": ("bilinear", ("input1", "input2", "weight", "bias"), {"bias": None}),
    "conv3d": ("conv3d", ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
               {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1}),
    "conv_transpose1d": ("conv_transpose1d", ("input", "weight", "bias", "stride", "padding",
                                              "output_padding", "groups", "dilation"),
                         {"bias": None, "stride": 1, "padding": 0, "output_padding": 0,
                          "groups": 1, "dilation": 1}),
    "group_norm": ("group_norm", ("input", "num_groups", "weight", "bias", "eps"),
                   {"weight": None, "bias": None, "eps": 1e-5}),
    "batch_norm": ("batch_norm", ("input", "weight", "bias", "running_mean", "running_var",
                                  "training", "momentum", "eps"),
                   {"weight": None, "bias": None, "training": False, "momentum": 0.1,
                    "eps": 1e-5}),
    "instance_norm": ("instance_norm", ("input", "weight", "bias", "running_mean",
                                        "running_var", "use_input_stats", "momentum", "eps"),
                      {"running_mean": None, "running_var": None, "weight": None, "bias": None,
                       "use_input_stats": True, "momentum": 0.1, "eps": 1e-5}),
    "embedding": ("embedding", ("weight", "input", "padding_idx", "scale_grad_by_freq",
                                "sparse"),
                  {"padding_idx": None, "scale_grad_by_freq": False, "sparse": False}),
    "one_hot": ("one_hot", ("tensor", "num_classes"), {"num_classes": -1}),
    "scaled_dot_product_attention": (
        "scaled_dot_product_attention", ("query", "key", "value", "attn_mask", "dropout_p",
                                         "is_causal", "scale", "enable_gqa"),
        {"attn_mask": None, "dropout_p": 0.0, "is_causal": False, "scale": None,
         "enable_gqa": False}),
    "cosine_similarity": ("cosine_similarity", ("x1", "x2", "dim", "eps"), {"dim": 1, "eps": 1e-8}),
    "pairwise_distance": ("pairwise_distance", ("x1", "x2", "p", "eps", "keepdim"),
                          {"p": 2.0, "eps": 1e-6, "keepdim": False}),
    "unfold": ("im2col", ("input", "kernel_size", "dilation", "padding", "stride"),
               {"dilation": 1, "padding": 0, "stride": 1}),
    "fold": ("col2im", ("input", "output_size", "kernel_size", "dilation", "padding", "stride"),
             {"dilation": 1, "padding": 0, "stride": 1}),
    "dropout1d": ("feature_dropout", ("input", "p", "training", "inplace"),
                  {"p": 0.5, "training": True, "inplace": False}),
    "dropout2d": ("feature_dropout", ("input", "p", "training", "inplace"),
                  {"p": 0.5, "training": True, "inplace": False}),
    "dropout3d": ("feature_dropout", ("input", "p", "training", "inplace"),
                  {"p": 0.5, "training": True, "inplace": False}),
    "alpha_dropout": ("alpha_dropout", ("input", "p", "training", "inplace"),
                      {"p": 0.5, "training": False, "inplace": False}),
    # losses: F's reduction string becomes ATen's Reduction number (REDUCTIONS)
    "mse_loss": ("mse_loss", ("input", "target", "reduction"), {"reduction": "mean"}),
    "l1_loss": ("l1_loss", ("input", "target", "reduction"), {"reduction": "mean"}),
    "smooth_l1_loss": ("smooth_l1_loss", ("input", "target", "reduction", "beta"),
                       {"reduction": "mean", "beta": 1.0}),
    "huber_loss": ("huber_loss", ("input", "target", "reduction", "delta"),
                   {"reduction": "mean", "delta": 1.0}),
    "binary_cross_entropy": ("binary_cross_entropy", ("input", "target", "weight", "reduction"),
                             {"weight": None, "reduction": "mean"}),
    "binary_cross_entropy_with_logits": (
        "binary_cross_entropy_with_logits", ("input", "target", "weight", "pos_weight",
                                             "reduction"),
        {"weight": None, "pos_weight": None, "reduction": "mean"}),
    "cross_entropy": ("cross_entropy_loss", ("input", "target", "weight", "reduction",
                                             "ignore_index", "label_smoothing"),
                      {"weight": None, "reduction": "mean", "ignore_index": -100,
                       "label_smoothing": 0.0}),
    "nll_loss": ("nll_loss_nd", ("input", "target", "weight", "reduction", "ignore_index"),
                 {"weight": None, "reduction": "mean", "ignore_index": -100}),
    "soft_margin_loss": ("soft_margin_loss", ("input", "target", "reduction"),
                         {"reduction": "mean"}),
    "hinge_embedding_loss": ("hinge_embedding_loss", ("input", "target", "margin",
                                                      "reduction"),
                             {"margin": 1.0, "reduction": "mean"}),
    "cosine_embedding_loss": ("cosine_embedding_loss", ("input1", "input2", "target",
                                                        "margin", "reduction"),
                              {"margin": 0.0, "reduction": "mean"}),
    # spatial transformers: modes as ATen's GridSampler enums (written by _codegen)
    "grid_sample": ("grid_sampler", ("input", "grid", "mode", "padding_mode", "align_corners"),
                    {"mode": "bilinear", "padding_mode": "zeros", "align_corners": None}),
    "affine_grid": ("affine_grid_generator", ("theta", "size", "align_corners"),
                    {"align_corners": None}),
    "kl_div": ("kl_div", ("input", "target", "reduction", "log_target"),
               {"reduction": "mean", "log_target": False}),
    "triplet_margin_loss": ("triplet_margin_loss", ("anchor", "positive", "negative", "margin",
                                                    "p", "eps", "swap", "reduction"),
                            {"margin": 1.0, "p": 2.0, "eps": 1e-6, "swap": False,
                             "reduction": "mean"}),
    "rms_norm": ("rms_norm", ("input", "normalized_shape", "weight", "eps"),
                 {"weight": None, "eps": None}),
    "multi_margin_loss": ("multi_margin_loss", ("input", "target", "p", "margin", "weight",
                                                "reduction"),
                          {"p": 1, "margin": 1.0, "weight": None, "reduction": "mean"}),
    "multilabel_margin_loss": ("multilabel_margin_loss", ("input", "target", "reduction"),
                               {"reduction": "mean"}),
    "ctc_loss": ("ctc_loss", ("log_probs", "targets", "input_lengths", "target_lengths",
                              "blank", "reduction", "zero_infinity"),
                 {"blank": 0, "reduction": "mean", "zero_infinity": False}),
    "rrelu": ("rrelu", ("input", "lower", "upper", "training", "inplace"),
              {"lower": 1.0 / 8, "upper": 1.0 / 3, "training": False, "inplace": False}),
    # no ATen op: written as statements (_codegen_inline.py)
    "local_response_norm": ("", ("input", "size", "alpha", "beta", "k"),
                            {"alpha": 1e-4, "beta": 0.75, "k": 1.0}),
    "gaussian_nll_loss": ("", ("input", "target", "var", "full", "eps", "reduction"),
                          {"full": False, "eps": 1e-6, "reduction": "mean"}),
    "embedding_bag": ("", ("input", "weight", "offsets", "max_norm", "norm_type",
                           "scale_grad_by_freq", "mode", "sparse", "per_sample_weights",
                           "include_last_offset", "padding_idx"),
                      {"offsets": None, "max_norm": None, "norm_type": 2,
                       "scale_grad_by_freq": False, "mode": "mean", "sparse": False,
                       "per_sample_weights": None, "include_last_offset": False,
                       "padding_idx": None}),
}
for _n, _suffix in ((2, ""), (3, ""), (2, "_with_indices"), (3, "_with_indices")):
    FUNCTIONAL[f"fractional_max_pool{_n}d{_suffix}"] = (
        "", ("input", "kernel_size", "output_size", "output_ratio", "return_indices",
             "_random_samples"),
        {"output_size": None, "output_ratio": None, "return_indices": False,
         "_random_samples": None})
for _n in (1, 2, 3):
    FUNCTIONAL[f"lp_pool{_n}d"] = ("", ("input", "norm_type", "kernel_size", "stride",
                                        "ceil_mode"), {"stride": None, "ceil_mode": False})
for _n in (2, 3):
    FUNCTIONAL[f"conv_transpose{_n}d"] = (f"conv_transpose{_n}d",) + FUNCTIONAL[
        "conv_transpose1d"][1:]
FUNCTIONAL["max_pool3d"] = ("max_pool3d",) + FUNCTIONAL["max_pool2d"][1:]
FUNCTIONAL["avg_pool3d"] = ("avg_pool3d",) + FUNCTIONAL["avg_pool2d"][1:]
# ATen's keyword-only parameters among FUNCTIONAL's
KEYWORD_ONLY = {"scaled_dot_product_attention": ("scale", "enable_gqa"),
                "kl_div": ("log_target",)}

# ATen's norms take a trailing cudnn_enabled flag (always True here)
NORMS_WITH_FLAG = frozenset({"batch_norm", "instance_norm", "group_norm", "layer_norm"})
LOSSES = frozenset(name for name, entry in FUNCTIONAL.items() if "reduction" in entry[1])
REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}   # ATen's Reduction enum
POOL_LISTS = {"max_pool2d": ("kernel_size", "stride", "padding", "dilation"),
              "max_pool3d": ("kernel_size", "stride", "padding", "dilation"),
              "avg_pool3d": ("kernel_size", "stride", "padding"),
              "adaptive_avg_pool3d": ("output_size",),
              "max_pool1d": ("kernel_size", "stride", "padding", "dilation"),
              "avg_pool2d": ("kernel_size", "stride", "padding"),
              "avg_pool1d": ("kernel_size", "stride", "padding"),
              "adaptive_avg_pool2d": ("output_size",), "adaptive_max_pool2d": ("output_size",),
              "adaptive_max_pool1d": ("output_size",), "adaptive_avg_pool1d": ("output_size",),
              "conv2d": ("stride", "padding", "dilation"),
              "conv1d": ("stride", "padding", "dilation"),
              "conv3d": ("stride", "padding", "dilation"),
              "conv_transpose1d": ("stride", "padding", "output_padding", "dilation"),
              "conv_transpose2d": ("stride", "padding", "output_padding", "dilation"),
              "conv_transpose3d": ("stride", "padding", "output_padding", "dilation"),
              "unfold": ("kernel_size", "dilation", "padding", "stride"),
              "fold": ("output_size", "kernel_size", "dilation", "padding", "stride")}

# Tensor methods -> ATen function with the tensor first; those taking sizes as *args
METHODS = frozenset("""
flatten relu sigmoid tanh exp log sqrt abs neg t transpose unsqueeze squeeze contiguous
softmax log_softmax mean sum max min argmax argmin add sub mul div pow matmul clamp
chunk split unbind detach clone masked_fill cumsum float double int long bool dim numel
view_as expand_as type_as reshape_as index_select gather narrow roll flip topk sort argsort
all any prod logsumexp clamp_min clamp_max amax amin round floor ceil trunc frac sin cos tan
sinh cosh asin acos atan sign sgn reciprocal rsqrt square erf erfinv lerp bmm mm mv dot
outer unflatten eq ne lt le gt ge var std log1p log2 log10 expm1 exp2 cumprod logical_not
logical_and logical_or logical_xor bitwise_not bitwise_and bitwise_or isnan isinf isfinite
nan_to_num tril triu diagonal diag repeat_interleave masked_select scatter scatter_add
index_add index_fill index_copy baddbmm addmm movedim select unfold floor_divide remainder
fmod logit median kthvalue cummax cummin nonzero argwhere tile broadcast_to softplus
relu6 hardtanh leaky_relu elu celu selu silu mish hardswish hardsigmoid gelu
add_ sub_ mul_ div_ pow_ clamp_ clamp_min_ clamp_max_ masked_fill_ zero_ fill_ relu_
sigmoid_ tanh_ exp_ log_ sqrt_ abs_ neg_ floor_ round_ copy_ index_add_ index_fill_
scatter_ scatter_add_ unsqueeze_ squeeze_ t_ transpose_ normal_ uniform_ bernoulli_
absolute absolute_ acos_ acosh acosh_ addcdiv addcdiv_ addcmul addcmul_ addmm_ adjoint
allclose aminmax angle asin_ asinh asinh_ atan2 atan2_ atan_ atanh atanh_ ceil_
cholesky_solve clip clip_ conj copysign copysign_ corrcoef cos_ cosh_ count_nonzero cov cpu
cross cumprod_ cumsum_ deg2rad deg2rad_ detach_ diag_embed diagflat diff digamma digamma_ dist
element_size eq_ erf_ erfc erfc_ erfinv_ exp2_ expm1_ fix fix_ fliplr flipud float_power
floor_divide_ fmax fmin fmod_ frac_ frexp ge_ gt_ hardshrink heaviside heaviside_ histc
hsplit vsplit hypot hypot_ i0 i0_ igamma igamma_ igammac igammac_ inner is_complex
is_contiguous is_floating_point isclose isneginf isposinf isreal kron ldexp ldexp_ le_ lerp_
lgamma lgamma_ log10_ log1p_ log2_ logaddexp logcumsumexp logdet logical_and_ logical_not_
logical_or_ logical_xor_ logit_ lt_ matrix_exp maximum minimum mode msort mvlgamma mvlgamma_
nan_to_num_ nanmean nanmedian nansum ne_ negative negative_ nextafter nextafter_ pinverse
polygamma_ positive rad2deg rad2deg_ ravel reciprocal_ remainder_ resolve_conj resolve_neg
rot90 rsqrt_ sgn_ sign_ signbit sin_ sinc sinc_ sinh_ slice_scatter slogdet square_
storage_offset stride swapaxes swapaxes_ swapdims swapdims_ tan_ tensor_split trace tril_
triu_ true_divide true_divide_ trunc_ xlogy xlogy_
det inverse matrix_power logaddexp2 moveaxis divide divide_ multiply multiply_ subtract
subtract_ greater greater_ greater_equal greater_equal_ less less_ less_equal less_equal_
not_equal not_equal_ equal arccos arccos_ arccosh arccosh_ arcsin arcsin_ arcsinh arcsinh_
arctan arctan_ arctan2 arctan2_ arctanh arctanh_ fill_diagonal_ sum_to_size is_same_size
is_signed is_conj is_neg is_inference bernoulli multinomial exponential_ geometric_
log_normal_ cauchy_ random_ masked_scatter masked_scatter_ scatter_reduce scatter_reduce_
take take_along_dim renorm renorm_ qr svd put put_
""".split()) - {"softplus", "relu6", "hardtanh", "leaky_relu", "elu", "celu", "selu", "silu",
                "mish", "hardswish", "hardsigmoid", "gelu"}   # (no Tensor methods in torch)
# methods TorchScript has under another name
METHOD_ALIASES = {"ndimension": "dim", "nelement": "numel"}
SIZE_METHODS = frozenset({"view", "reshape", "permute", "expand", "repeat", "new_zeros",
                          "new_ones", "new_empty", "flip"})
# ATen's ScalarType numbers
CAST_METHODS = {"float": 6, "double": 7, "int": 3, "long": 4, "bool": 11, "half": 5, "byte": 0,
                "char": 1, "short": 2, "bfloat16": 15, "cfloat": 9, "cdouble": 10}
