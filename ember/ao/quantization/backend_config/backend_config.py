"""BackendConfig (torch.ao.quantization.backend_config): what a backend can run quantized,
as data that FX graph mode quantization reads.

A BackendConfig is a list of BackendPatternConfigs. Each names a pattern (one op: a module
class, a function or a method name; or a tuple of ops in the order they run, e.g.
``(nn.Conv2d, nn.BatchNorm2d, nn.ReLU)``), how its output is observed (ObservationType),
the dtypes the backend supports for it (DTypeConfig) and, for fusions, the fused module
and the fuser method; for weighted ops the reference and QAT module classes.
"""
from enum import Enum

__all__ = ["BackendConfig", "BackendPatternConfig", "DTypeConfig", "DTypeWithConstraints",
           "ObservationType"]


class ObservationType(Enum):
    """How a pattern's output is observed.

    OUTPUT_USE_DIFFERENT_OBSERVER_AS_INPUT: an observer of its own (conv, linear, add).
    OUTPUT_SHARE_OBSERVER_WITH_INPUT: the input's observer instance (reshape, maxpool,
    relu): the op does not change the range, so the quantized op keeps the input's qparams.
    INPUT_OUTPUT_NOT_OBSERVED: neither (size, shape: the output is not a tensor).
    """
    OUTPUT_USE_DIFFERENT_OBSERVER_AS_INPUT = 0
    OUTPUT_SHARE_OBSERVER_WITH_INPUT = 1
    INPUT_OUTPUT_NOT_OBSERVED = 2


class DTypeWithConstraints:
    """A dtype and the limits a backend puts on its qparams (quant range, scale bounds)."""

    def __init__(self, dtype=None, quant_min_lower_bound=None, quant_max_upper_bound=None,
                 scale_min_lower_bound=None, scale_max_upper_bound=None, scale_exact_match=None,
                 zero_point_exact_match=None):
        self.dtype = dtype
        self.quant_min_lower_bound = quant_min_lower_bound
        self.quant_max_upper_bound = quant_max_upper_bound
        self.scale_min_lower_bound = scale_min_lower_bound
        self.scale_max_upper_bound = scale_max_upper_bound
        self.scale_exact_match = scale_exact_match
        self.zero_point_exact_match = zero_point_exact_match

    def __eq__(self, other):
        return isinstance(other, DTypeWithConstraints) and vars(self) == vars(other)

    def __hash__(self):
        return hash(self.dtype)


def _dtype_of(d):
    return d.dtype if isinstance(d, DTypeWithConstraints) else d


class DTypeConfig:
    """The dtypes of a pattern's input activation, output, weight and bias that a backend
    supports; is_dynamic marks dynamic quantization (activation qparams chosen per call)."""

    def __init__(self, input_dtype=None, output_dtype=None, weight_dtype=None, bias_dtype=None,
                 is_dynamic=None):
        self.input_dtype_with_constraints = (
            input_dtype if isinstance(input_dtype, DTypeWithConstraints)
            else DTypeWithConstraints(dtype=input_dtype))
        self.output_dtype_with_constraints = (
            output_dtype if isinstance(output_dtype, DTypeWithConstraints)
            else DTypeWithConstraints(dtype=output_dtype))
        self.weight_dtype_with_constraints = (
            weight_dtype if isinstance(weight_dtype, DTypeWithConstraints)
            else DTypeWithConstraints(dtype=weight_dtype))
        self.bias_dtype = bias_dtype
        self.is_dynamic = is_dynamic

    @property
    def input_dtype(self):
        return self.input_dtype_with_constraints.dtype

    @property
    def output_dtype(self):
        return self.output_dtype_with_constraints.dtype

    @property
    def weight_dtype(self):
        return self.weight_dtype_with_constraints.dtype

    def __repr__(self):
        return (f"DTypeConfig(input_dtype={self.input_dtype}, output_dtype={self.output_dtype}, "
                f"weight_dtype={self.weight_dtype}, bias_dtype={self.bias_dtype}, "
                f"is_dynamic={self.is_dynamic})")

    @classmethod
    def from_dict(cls, d):
        return cls(d.get("input_dtype"), d.get("output_dtype"), d.get("weight_dtype"),
                   d.get("bias_dtype"), d.get("is_dynamic"))

    def to_dict(self):
        out = {}
        for key, value in (("input_dtype", self.input_dtype_with_constraints),
                           ("output_dtype", self.output_dtype_with_constraints),
                           ("weight_dtype", self.weight_dtype_with_constraints),
                           ("bias_dtype", self.bias_dtype), ("is_dynamic", self.is_dynamic)):
            if _dtype_of(value) is not None:
                out[key] = value
        return out


class BackendPatternConfig:
    """How one pattern is quantized by a backend (set_* methods return self)."""

    def __init__(self, pattern=None):
        self.pattern = pattern
        self.observation_type = ObservationType.OUTPUT_USE_DIFFERENT_OBSERVER_AS_INPUT
        self.dtype_configs = []
        self.root_module = None
        self.qat_module = None
        self.reference_quantized_module = None
        self.fused_module = None
        self.fuser_method = None
        self._num_tensor_args_to_observation_type = {}
        self._input_type_to_index = {}

    def __repr__(self):
        fields = {k: v for k, v in vars(self).items() if v not in (None, {}, [])}
        return f"BackendPatternConfig({fields})"

    def set_pattern(self, pattern):
        self.pattern = pattern
        return self

    def set_observation_type(self, observation_type):
        self.observation_type = observation_type
        return self

    def add_dtype_config(self, dtype_config):
        self.dtype_configs.append(dtype_config)
        return self

    def set_dtype_configs(self, dtype_configs):
        self.dtype_configs = list(dtype_configs)
        return self

    def set_root_module(self, root_module):
        self.root_module = root_module
        return self

    def set_qat_module(self, qat_module):
        self.qat_module = qat_module
        return self

    def set_reference_quantized_module(self, reference_quantized_module):
        self.reference_quantized_module = reference_quantized_module
        return self

    def set_fused_module(self, fused_module):
        self.fused_module = fused_module
        return self

    def set_fuser_method(self, fuser_method):
        self.fuser_method = fuser_method
        return self

    def _set_num_tensor_args_to_observation_type(self, mapping):
        self._num_tensor_args_to_observation_type = dict(mapping)
        return self

    def _set_input_type_to_index(self, input_type_to_index):
        self._input_type_to_index = dict(input_type_to_index)
        return self

    def to_dict(self):
        out = {"pattern": self.pattern, "observation_type": self.observation_type,
               "dtype_configs": [d.to_dict() for d in self.dtype_configs]}
        for key in ("root_module", "qat_module", "reference_quantized_module", "fused_module",
                    "fuser_method"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    @classmethod
    def from_dict(cls, d):
        config = cls(d["pattern"])
        config.set_observation_type(d.get("observation_type",
                                          ObservationType.OUTPUT_USE_DIFFERENT_OBSERVER_AS_INPUT))
        for dtype_config in d.get("dtype_configs", []):
            config.add_dtype_config(dtype_config if isinstance(dtype_config, DTypeConfig)
                                    else DTypeConfig.from_dict(dtype_config))
        for key in ("root_module", "qat_module", "reference_quantized_module", "fused_module",
                    "fuser_method"):
            setattr(config, key, d.get(key))
        return config


class BackendConfig:
    """A backend's patterns (set_backend_pattern_config(s) return self; a pattern set
    again replaces the earlier config)."""

    def __init__(self, name=""):
        self.name = name
        self._pattern_complex_format_to_config = {}

    def __repr__(self):
        count = len(self._pattern_complex_format_to_config)
        return f"BackendConfig({self.name!r}, {count} patterns)"

    def set_name(self, name):
        self.name = name
        return self

    def set_backend_pattern_config(self, config):
        self._pattern_complex_format_to_config[config.pattern] = config
        return self

    def set_backend_pattern_configs(self, configs):
        for config in configs:
            self.set_backend_pattern_config(config)
        return self

    @property
    def configs(self):
        return list(self._pattern_complex_format_to_config.values())

    def to_dict(self):
        return {"name": self.name, "configs": [c.to_dict() for c in self.configs]}

    @classmethod
    def from_dict(cls, d):
        config = cls(d.get("name", ""))
        for c in d.get("configs", []):
            config.set_backend_pattern_config(
                c if isinstance(c, BackendPatternConfig) else BackendPatternConfig.from_dict(c))
        return config
