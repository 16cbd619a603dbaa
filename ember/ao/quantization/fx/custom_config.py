"""PrepareCustomConfig, ConvertCustomConfig, FuseCustomConfig
(torch.ao.quantization.fx.custom_config): the per-model options of prepare_fx / convert_fx /
fuse_fx (set_* methods return self; from_dict/to_dict give the old dict form)."""

__all__ = ["ConvertCustomConfig", "FuseCustomConfig", "PrepareCustomConfig",
           "StandaloneModuleConfigEntry"]


class StandaloneModuleConfigEntry:
    def __init__(self, qconfig_mapping, example_inputs, prepare_custom_config, backend_config):
        self.qconfig_mapping = qconfig_mapping
        self.example_inputs = example_inputs
        self.prepare_custom_config = prepare_custom_config
        self.backend_config = backend_config


class PrepareCustomConfig:
    """Standalone modules, custom (float -> observed) module classes, non-traceable module
    names and classes, which graph inputs / outputs are already quantized, attributes to
    keep on the GraphModule."""

    def __init__(self):
        self.standalone_module_names = {}
        self.standalone_module_classes = {}
        self.float_to_observed_mapping = {}
        self.non_traceable_module_names = []
        self.non_traceable_module_classes = []
        self.input_quantized_indexes = []
        self.output_quantized_indexes = []
        self.preserved_attributes = []

    def __repr__(self):
        set_fields = {k: v for k, v in vars(self).items() if v}
        return f"PrepareCustomConfig({set_fields})"

    def set_standalone_module_name(self, module_name, qconfig_mapping, example_inputs,
                                   prepare_custom_config, backend_config):
        self.standalone_module_names[module_name] = StandaloneModuleConfigEntry(
            qconfig_mapping, example_inputs, prepare_custom_config, backend_config)
        return self

    def set_standalone_module_class(self, module_class, qconfig_mapping, example_inputs,
                                    prepare_custom_config, backend_config):
        self.standalone_module_classes[module_class] = StandaloneModuleConfigEntry(
            qconfig_mapping, example_inputs, prepare_custom_config, backend_config)
        return self

    def set_float_to_observed_mapping(self, float_class, observed_class, quant_type=None):
        from ..quant_type import QuantType
        quant_type = QuantType.STATIC if quant_type is None else quant_type
        if quant_type != QuantType.STATIC:
            raise ValueError("set_float_to_observed_mapping is currently only supported for "
                             "static quantization")
        self.float_to_observed_mapping.setdefault(quant_type, {})[float_class] = observed_class
        return self

    def set_non_traceable_module_names(self, module_names):
        self.non_traceable_module_names = list(module_names)
        return self

    def set_non_traceable_module_classes(self, module_classes):
        self.non_traceable_module_classes = list(module_classes)
        return self

    def set_input_quantized_indexes(self, indexes):
        self.input_quantized_indexes = list(indexes)
        return self

    def set_output_quantized_indexes(self, indexes):
        self.output_quantized_indexes = list(indexes)
        return self

    def set_preserved_attributes(self, attributes):
        self.preserved_attributes = list(attributes)
        return self

    @classmethod
    def from_dict(cls, d):
        from ..quant_type import _quant_type_from_str
        config = cls()
        for name, mapping, inputs, custom, backend in d.get("standalone_module_name", []):
            config.set_standalone_module_name(name, mapping, inputs, custom, backend)
        for klass, mapping, inputs, custom, backend in d.get("standalone_module_class", []):
            config.set_standalone_module_class(klass, mapping, inputs, custom, backend)
        for quant_type, mapping in d.get("float_to_observed_custom_module_class", {}).items():
            for float_class, observed in mapping.items():
                config.set_float_to_observed_mapping(float_class, observed,
                                                     _quant_type_from_str(quant_type))
        config.set_non_traceable_module_names(d.get("non_traceable_module_name", []))
        config.set_non_traceable_module_classes(d.get("non_traceable_module_class", []))
        config.set_input_quantized_indexes(d.get("input_quantized_idxs", []))
        config.set_output_quantized_indexes(d.get("output_quantized_idxs", []))
        config.set_preserved_attributes(d.get("preserved_attributes", []))
        return config

    def to_dict(self):
        from ..quant_type import _get_quant_type_to_str
        d = {}
        if self.standalone_module_names:
            d["standalone_module_name"] = [
                (k, e.qconfig_mapping, e.example_inputs, e.prepare_custom_config,
                 e.backend_config) for k, e in self.standalone_module_names.items()]
        if self.standalone_module_classes:
            d["standalone_module_class"] = [
                (k, e.qconfig_mapping, e.example_inputs, e.prepare_custom_config,
                 e.backend_config) for k, e in self.standalone_module_classes.items()]
        if self.float_to_observed_mapping:
            d["float_to_observed_custom_module_class"] = {
                _get_quant_type_to_str(k): v for k, v in self.float_to_observed_mapping.items()}
        for key, value in (("non_traceable_module_name", self.non_traceable_module_names),
                           ("non_traceable_module_class", self.non_traceable_module_classes),
                           ("input_quantized_idxs", self.input_quantized_indexes),
                           ("output_quantized_idxs", self.output_quantized_indexes),
                           ("preserved_attributes", self.preserved_attributes)):
            if value:
                d[key] = value
        return d


class ConvertCustomConfig:
    """Observed -> quantized custom module classes and attributes to keep."""

    def __init__(self):
        self.observed_to_quantized_mapping = {}
        self.preserved_attributes = []

    def __repr__(self):
        set_fields = {k: v for k, v in vars(self).items() if v}
        return f"ConvertCustomConfig({set_fields})"

    def set_observed_to_quantized_mapping(self, observed_class, quantized_class,
                                          quant_type=None):
        from ..quant_type import QuantType
        quant_type = QuantType.STATIC if quant_type is None else quant_type
        self.observed_to_quantized_mapping.setdefault(quant_type, {})[observed_class] = \
            quantized_class
        return self

    def set_preserved_attributes(self, attributes):
        self.preserved_attributes = list(attributes)
        return self

    @classmethod
    def from_dict(cls, d):
        from ..quant_type import _quant_type_from_str
        config = cls()
        for quant_type, mapping in d.get("observed_to_quantized_custom_module_class",
                                         {}).items():
            for observed, quantized in mapping.items():
                config.set_observed_to_quantized_mapping(observed, quantized,
                                                         _quant_type_from_str(quant_type))
        config.set_preserved_attributes(d.get("preserved_attributes", []))
        return config

    def to_dict(self):
        from ..quant_type import _get_quant_type_to_str
        d = {}
        if self.observed_to_quantized_mapping:
            d["observed_to_quantized_custom_module_class"] = {
                _get_quant_type_to_str(k): v
                for k, v in self.observed_to_quantized_mapping.items()}
        if self.preserved_attributes:
            d["preserved_attributes"] = self.preserved_attributes
        return d


class FuseCustomConfig:
    """Attributes fuse_fx keeps on the GraphModule."""

    def __init__(self):
        self.preserved_attributes = []

    def __repr__(self):
        return f"FuseCustomConfig({ {'preserved_attributes': self.preserved_attributes} })"

    def set_preserved_attributes(self, attributes):
        self.preserved_attributes = list(attributes)
        return self

    @classmethod
    def from_dict(cls, d):
        return cls().set_preserved_attributes(d.get("preserved_attributes", []))

    def to_dict(self):
        return ({"preserved_attributes": self.preserved_attributes}
                if self.preserved_attributes else {})
