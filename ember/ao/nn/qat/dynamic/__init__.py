"""ember.ao.nn.qat.dynamic (torch.ao.nn.qat.dynamic): not built (Linear raises
NotImplementedError)."""
from ..._not_built import not_built

__all__ = ["Linear"]

Linear = not_built("torch.ao.nn.qat.dynamic", "Linear",
                   "train with ao.nn.qat.Linear (prepare_qat) or quantize_dynamic after training")
