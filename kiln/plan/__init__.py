"""The city action-plan tracker: plans, targets, indicators, filings, progress, disclosure."""
