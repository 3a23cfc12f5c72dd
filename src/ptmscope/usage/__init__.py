"""Downstream usage: which code loads which pre-trained model, read statically from the source."""
