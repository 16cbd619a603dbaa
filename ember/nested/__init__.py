"""ember.nested (``torch.nested``): not built.

PyTorch's nested tensors hold a batch of tensors of different lengths in one object
(variable-length sequences without padding). ember has no nested layout: every function
here raises NotImplementedError; pad the sequences (nn.utils.rnn.pad_sequence) and pass a
mask instead.
"""

__all__ = ["nested_tensor", "as_nested_tensor", "to_padded_tensor", "narrow",
           "nested_tensor_from_jagged", "masked_select"]


def _not_built(name):
    def refuse(*args, **kwargs):
        raise NotImplementedError(
            f"ember.nested.{name}: ember has no nested tensors (torch.nested); pad the "
            f"sequences (ember.nn.utils.rnn.pad_sequence) and pass an attention mask instead")
    refuse.__name__ = refuse.__qualname__ = name
    return refuse


nested_tensor = _not_built("nested_tensor")
as_nested_tensor = _not_built("as_nested_tensor")
to_padded_tensor = _not_built("to_padded_tensor")
narrow = _not_built("narrow")
nested_tensor_from_jagged = _not_built("nested_tensor_from_jagged")
masked_select = _not_built("masked_select")
