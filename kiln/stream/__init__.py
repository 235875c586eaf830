"""Stream processors: rules over batches as they arrive, columns in, conditions out."""
