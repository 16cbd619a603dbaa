"""ember.utils: data loading (torch.utils.data), activation checkpointing."""
from . import data
from . import checkpoint
