"""``cstosim app``: serve the dashboard (:mod:`cstosim.views.dashboard`) on 127.0.0.1.

The same app runs with ``solara run cstosim.views.dashboard.app``; this command adds what a
fresh clone needs: it listens on the loopback address only, switches off Solara's telemetry and
version check (no request leaves the machine), and says which extra to install if Solara is
missing. Also runnable as ``python -m cstosim.commands.app``.
"""

from __future__ import annotations

import os
import socket
import warnings
import webbrowser

import click

APP = "cstosim.views.dashboard.app"
"""The Solara app module."""
HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def configure(port: int) -> None:
    """Environment for the Solara server: which app, where, no telemetry, production mode."""
    os.environ["SOLARA_APP"] = APP
    os.environ["SERVER_NAME"] = HOST
    os.environ["SERVER_PORT"] = str(port)
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
    os.environ.setdefault("SOLARA_MODE", "production")
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "false")
    # served on 127.0.0.1 over http, Solara warns on every page that cookies fall back to lax
    warnings.filterwarnings("ignore", message="Cookies with samesite=none", category=UserWarning)


@click.command("app")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port on 127.0.0.1 (0: any free port).",
)
@click.option(
    "--open/--no-open",
    "open_browser",
    default=False,
    show_default=True,
    help="Open the page in the default browser once the server runs.",
)
def app(port: int, open_browser: bool) -> None:
    """Serve the dashboard at http://127.0.0.1:PORT until Ctrl+C.

    Choose a scenario (or type a path), move sliders, run ensembles, compare a counterfactual
    under common random numbers, and step one replicate month by month. Needs the ``viz`` extra
    (pip install -e '.[viz]'; ``make test`` installs it).
    """
    try:
        import solara  # noqa: F401
        import uvicorn
    except ImportError as exc:
        raise click.ClickException(
            f"the dashboard needs the viz extra ({exc.name} is missing): pip install -e '.[viz]'"
        ) from None
    port = port or free_port()
    configure(port)
    url = f"http://{HOST}:{port}/"
    config = uvicorn.Config(
        "solara.server.starlette:app", host=HOST, port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    click.echo(f"cstosim dashboard at {url} (Ctrl+C to stop)")
    if open_browser:
        webbrowser.open(url)
    server.run()


if __name__ == "__main__":  # pragma: no cover - python -m cstosim.commands.app
    app()
