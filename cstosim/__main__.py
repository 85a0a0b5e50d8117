"""``python -m cstosim`` is the same as the ``cstosim`` command."""

from cstosim.cli import main

main()
