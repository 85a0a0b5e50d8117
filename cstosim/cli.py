"""The ``cstosim`` command: validate scenarios, print the schema, run, plot, compare and score.

Exit codes: 0 success; 2 bad input (invalid scenario, missing file, bad option); 1 a failure
while running (one line; ``--debug`` shows the traceback).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from cstosim import __version__
from cstosim.loader import load_scenario
from cstosim.scenario import json_schema
from cstosim.yamlio import ScenarioError

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cstosim")
def main() -> None:
    """Simulate the cohesion of a military alliance from a scenario file.

    \b
    Typical use:
      cstosim validate scenarios/*.yaml      check scenario files
      cstosim run scenarios/csto-2022-2023.yaml   run an ensemble, write results and figures
    """


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check scenario FILES; print "ok" per valid file or every problem found.

    Each problem is printed as file:line:column: field.path: message. Exits 0 when every file
    is valid and 2 otherwise.
    """
    failed = False
    for file in files:
        try:
            load_scenario(file)
        except ScenarioError as exc:
            failed = True
            for problem in exc.problems:
                click.echo(str(problem), err=True)
        else:
            click.echo(f"{file}: ok")
    if failed:
        sys.exit(EXIT_BAD_INPUT)


@main.command()
@click.option("--indent", default=2, show_default=True, help="Indentation of the JSON output.")
def schema(indent: int) -> None:
    """Print the JSON Schema of scenario files (for editors and standard validators)."""
    click.echo(json.dumps(json_schema(), indent=indent))
