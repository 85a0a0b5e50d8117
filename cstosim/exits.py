"""The exit codes of every ``cstosim`` command (README, results/README.md).

A leaf module of constants, imported by the console script (:mod:`cstosim.entry`) before
anything else and by the commands' guard (:mod:`cstosim.commands.guard`).
"""

EXIT_OK = 0
EXIT_FAILURE = 1  # a failure while running (one line; --debug shows the traceback)
EXIT_BAD_INPUT = 2  # bad input: located scenario errors, an unusable --out, a damaged folder
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT)
EXIT_TERMINATED = 143  # SIGTERM
