"""Ingest: protocol adapters that turn what arrives into columnar bundles."""
