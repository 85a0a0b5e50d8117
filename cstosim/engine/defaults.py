"""Defaults of the runner, importable without NumPy, pandas or Mesa (the CLI's option defaults)."""

DEFAULT_SEED = 20231123
"""Root seed used when none is given (the date of the essay the first scenario follows)."""

DEFAULT_REPLICATES = 200

ENGINES = ("vector", "mesa")
"""``vector``: all replicates of a chunk at once as arrays; ``mesa``: the reference Mesa
``AllianceModel``, one replicate at a time. Both give the same tables replicate for replicate."""

DEFAULT_ENGINE = "vector"
