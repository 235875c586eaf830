"""`python -m kiln` runs the kiln command."""

from kiln.cli import main

main()
