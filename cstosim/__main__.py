"""``python -m cstosim`` is the same as the ``cstosim`` command."""

from cstosim.entry import run

run()
