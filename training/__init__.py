"""Data loading, training, evaluation and the command line."""
