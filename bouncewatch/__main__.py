"""`python -m bouncewatch` runs the command line."""

from .cli import main

# Guarded: parsing worker processes ("spawn") import the main module again.
if __name__ == "__main__":
    main()
