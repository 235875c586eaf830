"""Production KPIs after ISO 22400-2: the time model, shift calendars, ideal cycle times,
OEE and its losses, reliability, energy, and roll-ups from equipment to the city.

Pure: columns in, columns out; no I/O, no clock. `kpi_table` runs the whole pipeline over what
the store returns; the modules below it can be used one by one.
"""
