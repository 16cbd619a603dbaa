"""The op library, one module per family. Each module lists its public functions in
``__all__`` (re-exported by ``ember``) and attaches its Tensor methods itself."""
