"""`python -m dncsync`."""

from dncsync.cli import main

main()
