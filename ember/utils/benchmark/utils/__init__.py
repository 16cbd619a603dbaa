"""ember.utils.benchmark.utils: the modules behind ember.utils.benchmark."""
