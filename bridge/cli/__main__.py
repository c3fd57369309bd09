"""``python -m bridge.cli``: the same as the ``mims`` command."""

from bridge.cli import main

main()
