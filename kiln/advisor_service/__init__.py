"""The advisor over the store: measured lines, candidates with their solutions, installations."""
