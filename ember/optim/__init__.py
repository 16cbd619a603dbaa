"""ember.optim: optimizers and learning-rate schedulers (torch.optim)."""
from .optimizer import Optimizer
from .sgd import SGD
from .adam import Adam, AdamW
from .rmsprop import RMSprop, Adagrad
from . import lr_scheduler
