"""ember.ao.quantization.backend_config (torch.ao.quantization.backend_config): the data
that tells FX graph mode quantization which patterns a backend runs quantized."""
from .backend_config import (BackendConfig, BackendPatternConfig, DTypeConfig,  # noqa: F401
                             DTypeWithConstraints, ObservationType)
from .native import (get_fbgemm_backend_config, get_native_backend_config,  # noqa: F401
                     get_native_backend_config_dict, get_qnnpack_backend_config,
                     get_x86_backend_config)

__all__ = ["get_fbgemm_backend_config", "get_native_backend_config",
           "get_native_backend_config_dict", "get_qnnpack_backend_config",
           "get_x86_backend_config", "BackendConfig", "BackendPatternConfig", "DTypeConfig",
           "DTypeWithConstraints", "ObservationType"]
