"""ember.profiler (torch.profiler): time the ops a program runs.

    from ember.profiler import profile, record_function, ProfilerActivity
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        with record_function("model_inference"):
            model(inputs)
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))

Ops are listed under PyTorch's ATen names (``aten::mm``, ``aten::add``) where the op maps
to one (ember/profiler/_names.py), else as ``ember::<OpClass>``; backward nodes as
``autograd::engine::evaluate_function: MulBackward0`` around ``MulBackward0``; the
composite functions a program calls (``F.linear``, ``torch.matmul``, ``F.cross_entropy``)
as PyTorch's operators around them (``aten::linear`` -> ``aten::addmm``, _composite.py). ember
measures CPU time only (see profiler.py).
"""
from ._events import EventList, FunctionEvent, FunctionEventAvg
from .profiler import (ProfilerAction, ProfilerActivity, kineto_available, profile,
                       record_function, schedule, supported_activities,
                       tensorboard_trace_handler)

__all__ = ["profile", "record_function", "schedule", "ProfilerAction", "ProfilerActivity",
           "supported_activities", "tensorboard_trace_handler", "EventList", "FunctionEvent",
           "FunctionEventAvg", "kineto_available"]
