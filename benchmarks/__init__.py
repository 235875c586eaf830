"""Kiln's benchmarks: one module per figure an issue names; they print numbers, assert nothing.

Run them all with ``benchmarks/run`` (``--quick`` for smaller sizes), or one alone with
``.venv/bin/python -m benchmarks.store_write``. See benchmarks/README.md.
"""
