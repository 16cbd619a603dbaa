"""ember.utils.tensorboard (torch.utils.tensorboard): `SummaryWriter` writes TensorBoard
event files (scalars, histograms, images, text, hparams, PR curves, audio, custom scalars)
without importing tensorboard or protobuf; viewing them needs TensorBoard itself."""
from .writer import FileWriter, SummaryWriter

__all__ = ["FileWriter", "SummaryWriter"]
