"""`python -m bouncewatch` runs the command line."""

from .cli import main

main()
