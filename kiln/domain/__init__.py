"""Plain data and rules of Kiln's domain: no I/O, no clock, no environment."""
