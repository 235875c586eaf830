"""Pure analytics over columns: anomaly detectors, the NAB scorer, failure prediction."""
