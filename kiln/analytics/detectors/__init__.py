"""Streaming anomaly detectors: each learns a signal's normal behaviour online, on batches."""
