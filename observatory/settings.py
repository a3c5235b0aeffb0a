"""Where things live: the store file and the indicator folder."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
STORE_ENV = "OBSERVATORY_STORE"
INDICATORS_ENV = "OBSERVATORY_INDICATORS"
DEFAULT_STORE = REPO_ROOT / "var" / "observatory.duckdb"
DEFAULT_INDICATORS = REPO_ROOT / "indicators"


def store_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The store file: an explicit path, else $OBSERVATORY_STORE, else var/observatory.duckdb."""
    # absolute but not resolved: the store path is a link to its current snapshot
    if explicit:
        return Path(os.path.abspath(Path(explicit).expanduser()))
    env = os.environ.get(STORE_ENV)
    return Path(os.path.abspath(Path(env).expanduser())) if env else DEFAULT_STORE


def existing_store_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """`store_path`, which must exist; StoreMissingError saying how to build one."""
    from observatory.errors import StoreMissingError

    path = store_path(explicit)
    if not path.exists():
        raise StoreMissingError(f"{path}: no store here yet. Run `observatory demo --no-serve` "
                                "to build the embedded default, or `observatory ingest osm "
                                "PATH`.")
    return path


def indicators_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The indicator folder: an explicit path, else $OBSERVATORY_INDICATORS, else indicators/."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(INDICATORS_ENV)
    return Path(env).expanduser().resolve() if env else DEFAULT_INDICATORS


DEMO_ROLES_ENV = "OBSERVATORY_DEMO_ROLES"
SECRETS_ENV = "OBSERVATORY_SECRETS"


def demo_roles_enabled() -> bool:
    """Whether the demo role switcher (and `?role=`) is on: only `observatory demo` sets
    OBSERVATORY_DEMO_ROLES=1 (and never when sign-in is configured); anything else serves
    the public portal to every visitor who has not signed in."""
    return os.environ.get(DEMO_ROLES_ENV, "0").strip().lower() in ("1", "true", "yes", "on")


DEMO_DATE_ENV = "OBSERVATORY_DEMO_DATE"


def demo_date(explicit: str | dt.date | None = None, *, today: dt.date | None = None) -> dt.date:
    """The date the demo's simulated feeds run up to: `explicit` (`--as-of`), else
    $OBSERVATORY_DEMO_DATE, else today's UTC date. The same date gives the same feeds, byte
    for byte; a date after today is refused (it would put readings in the future)."""
    from observatory.errors import InputError

    today = today or dt.datetime.now(dt.UTC).date()
    env = os.environ.get(DEMO_DATE_ENV, "").strip()
    if isinstance(explicit, dt.date):
        where, value = "the demo date", explicit
    elif explicit is not None or env:
        where = "--as-of" if explicit is not None else f"${DEMO_DATE_ENV}"
        value = _iso_day(explicit.strip() if explicit is not None else env, where=where)
    else:
        return today
    if isinstance(value, dt.datetime):
        value = value.date()
    if value > today:
        raise InputError(f"{where} {value.isoformat()}: after today ({today.isoformat()}, UTC); "
                         "the simulated feeds would hold readings from the future. Give "
                         "today or an earlier date.")
    return value


def _iso_day(text: str, *, where: str) -> dt.date:
    from observatory.errors import InputError

    try:
        return dt.datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise InputError(f"{where} {text!r}: not a date; give it as YYYY-MM-DD (e.g. "
                         "2025-01-01).") from None


def serve_command(path: Path, *, port: int, address: str,
                  demo: bool = False) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that serve the dashboard on `path`.

    Only the demo offers the demo role switcher (unless OBSERVATORY_DEMO_ROLES=0 is set);
    a deployment serves the public portal, plus sign-in when `[auth]` is configured in
    the secrets file ($OBSERVATORY_SECRETS, else .streamlit/secrets.toml at the
    repository root). XSRF protection stays Streamlit's default: on.
    """
    env = dict(os.environ, OBSERVATORY_STORE=str(path))
    env[DEMO_ROLES_ENV] = env.get(DEMO_ROLES_ENV, "1") if demo else "0"
    secrets = Path(env.get(SECRETS_ENV) or REPO_ROOT / ".streamlit" / "secrets.toml")
    command = [sys.executable, "-m", "observatory.ui.server", "run",
               str(REPO_ROOT / "streamlit_app.py"),
               "--server.port", str(port), "--server.address", address,
               "--server.headless", "true", "--secrets.files", str(secrets),
               # a full garbage collection after every run cost an eighth of a page load
               # (observatory bench load); Python's own generational collection still runs
               "--runner.postScriptGC", "false"]
    if not demo:  # a deployment does not reload itself when files change
        command += ["--server.fileWatcherType", "none"]
    return command, env
