"""Where things live: the store file and the indicator folder."""

from __future__ import annotations

import os
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
