"""The simulated factory city: a seeded world of enterprises and the equipment models that run it.

Pure: NumPy and SciPy only, no I/O, no clock. `world.build_city` makes the asset document;
`engine.Simulator` turns it into points, state changes and counts, one `advance` at a time.
"""
