"""The alarm service: rules and detectors on the ingest stream, the alarm book, notifications."""
