"""torch._logging: the switches of PyTorch's compiler logs (``set_logs(recompiles=True)``,
``TORCH_LOGS``). ember has no compiler (``ember.compile`` runs models eagerly), so there is
nothing these artifacts would show: ``set_logs`` checks its keywords as PyTorch's and
records them; no log records are emitted.
"""
import logging

__all__ = ["set_logs", "getArtifactLogger", "warning_once"]

# PyTorch 2.13's set_logs keywords: components (a logging level) and artifacts (a bool)
_NAMES = (
    "all", "dynamo", "aot", "autograd", "dynamic", "inductor", "distributed", "c10d", "ddp",
    "fsdp", "dtensor", "onnx", "bytecode", "aot_graphs", "aot_joint_graph", "ddp_graphs",
    "graph", "graph_code", "graph_code_verbose", "graph_breaks", "side_effects", "graph_sizes",
    "guards", "recompiles", "recompiles_verbose", "trace_source", "trace_call",
    "trace_bytecode", "output_code", "kernel_code", "schedule", "perf_hints",
    "pre_grad_graphs", "post_grad_graphs", "ir_pre_fusion", "ir_post_fusion",
    "onnx_diagnostics", "fusion", "overlap", "export", "modules", "cudagraphs", "sym_node",
    "compiled_autograd", "compiled_autograd_verbose", "cudagraph_static_inputs",
    "benchmarking", "autotuning", "incremental", "graph_region_expansion", "inductor_metrics",
    "hierarchical_compile", "compute_dependencies", "caching")

# what set_logs was last given (PyTorch's call replaces the whole configuration)
SETTINGS = {}


def set_logs(*args, **kwargs):
    """Accept PyTorch's log settings (keyword-only, its names) and record them; ember emits
    none of these compiler logs."""
    if args:
        raise TypeError(f"set_logs() takes 0 positional arguments but {len(args)} were given")
    for name in kwargs:
        if name not in _NAMES:
            raise TypeError(f"set_logs() got an unexpected keyword argument '{name}'")
    SETTINGS.clear()
    SETTINGS.update({k: v for k, v in kwargs.items() if v is not None})


def getArtifactLogger(module_qname, artifact_name):
    """A standard logger for the artifact (never enabled by ember)."""
    return logging.getLogger(f"{module_qname}.__{artifact_name}")


def warning_once(logger_obj, *args, **kwargs):
    """logger_obj.warning(...) once per distinct message."""
    key = (id(logger_obj), args)
    if key not in _WARNED:
        _WARNED.add(key)
        logger_obj.warning(*args, **kwargs)


_WARNED = set()
