"""Commands defined outside ``cstosim.cli``, one module per family, registered there with
``main.add_command`` (e.g. :mod:`cstosim.commands.explore`: ``sweep``, ``sensitivity``,
``discover``, with the functions behind them, usable from Python)."""
