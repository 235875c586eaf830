"""Storage: one interface, a backend per technology, and the one writer thread."""
