"""The plan tracker over the store: seed, filings in bulk, dashboard, tables, scenarios."""
