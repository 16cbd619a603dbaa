"""The code behind ember.nn.functional, one family a module (activation, dropout, loss,
distance, conv, pooling, misc). ember/nn/functional.py publishes it under
torch.nn.functional's names; import from there, not from here."""
