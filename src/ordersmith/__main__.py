"""`python -m ordersmith` is the same as the `ordersmith` command."""

from ordersmith.cli import main

main()
