"""Walking distances and times from Valhalla, the independent peer for our walking network.

Valhalla comes from PyPI's `pyvalhalla` wheel, whose executables run on their own (their
libraries sit next to them and are found by rpath), so the wheel is downloaded with pip and
unzipped once into a cache rather than installed: it needs Python 3.12 and we run 3.11.
`valhalla_build_tiles` turns an OpenStreetMap extract into routing tiles, and one-shot
`valhalla_service` calls snap the points (`locate`) and route them (`sources_to_targets`).

Points Valhalla cannot snap are left out of the matrix request and get NaN rows or columns:
one such point would otherwise fail the whole request ("Locations are in unconnected
regions"). By default Valhalla snaps a point up to 35 km away; `max_snap_m` sets a limit.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from observatory.errors import InputError, ObservatoryError, SourceFileError

VERSION = "3.9.1"
REPO_ROOT = Path(__file__).resolve().parents[2]  # the parent of the observatory package
DEFAULT_CACHE = REPO_ROOT / "var" / "cache" / f"pyvalhalla-{VERSION}"
DEFAULT_TILES = REPO_ROOT / "var" / "cache" / "valhalla-tiles"
# The stamp records what the tiles were built from; bump this when the config changes.
CONFIG_REVISION = 3
DOWNLOAD_TIMEOUT_S = 600.0
CONFIG_TIMEOUT_S = 60.0
BUILD_TIMEOUT_S = 3600.0
ROUTE_TIMEOUT_S = 1800.0  # per request; requests hold at most PAIRS_PER_REQUEST pairs
PAIRS_PER_REQUEST = 250_000
MIN_SPEED_KMH, MAX_SPEED_KMH = 0.5, 25.0  # the range Valhalla's pedestrian costing accepts
EARTH_RADIUS_M = 6_371_008.8
EXECUTABLES = ("valhalla_build_tiles", "valhalla_service")


class ValhallaError(ObservatoryError, RuntimeError):
    """A Valhalla executable failed or answered with an error."""


@dataclass(frozen=True)
class ValhallaMatrix:
    """Walks from every source to every target; NaN where a point is unsnapped or unreachable.

    `minutes` is Valhalla's time (whole seconds, / 60), which is distance / speed plus its
    own extra time for steps and crossings. Distances are whole metres and start at the
    snapped points: the straight lines from the given points to them (`source_snap_m`,
    `target_snap_m`) are not included. `seconds_to_build` is the time the tiles took to
    build; when they were reused (`tiles_reused`) it is the time recorded when they were
    built. `seconds_to_route` covers snapping and routing, process starts included.
    Valhalla searches from the targets when there are more sources than targets; on a few
    pairs that changes the answer by some metres.
    """

    distance_m: np.ndarray
    minutes: np.ndarray
    seconds_to_build: float
    seconds_to_route: float
    source_snap_m: np.ndarray
    target_snap_m: np.ndarray
    tiles_reused: bool
    source_at: np.ndarray  # (n, 2) lon, lat where each source was snapped (NaN: not)
    source_in_tunnel: np.ndarray  # bool: that place is on a tunnel's edge


# --- the executables ---------------------------------------------------------------------


def valhalla_dir(cache: Path | None = None) -> Path:
    """The folder holding pyvalhalla's unzipped wheel, downloaded on the first call."""
    cache = (cache or DEFAULT_CACHE).resolve()
    if _is_unpacked(cache):
        return cache
    cache.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache.parent, prefix=".pyvalhalla-") as scratch:
        wheel = _download_wheel(Path(scratch), cache=cache)
        unpacked = Path(scratch) / "unpacked"
        _unzip_wheel(wheel, unpacked)
        try:
            unpacked.rename(cache)  # atomic: a half-unzipped cache is never seen
        except OSError as error:
            if not _is_unpacked(cache):  # another process may have won the race
                raise InputError(
                    f"Cannot put Valhalla into {cache}: {error}. That folder exists but "
                    f"holds no complete pyvalhalla {VERSION}; delete it and try again."
                ) from error
    return cache


def _executable(valhalla: Path, name: str) -> Path:
    return valhalla / "valhalla" / "bin" / name


def _is_unpacked(cache: Path) -> bool:
    return all(os.access(_executable(cache, name), os.X_OK) for name in EXECUTABLES) and (
        cache / "valhalla" / "valhalla_build_config.py"
    ).is_file()


def _pip_command() -> list[str] | None:
    """pip in this interpreter, else the first `pip3` or `pip` on PATH (uv has no download)."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    for name in ("pip3", "pip"):
        found = shutil.which(name)
        if found:
            return [found]
    return None


def _download_wheel(folder: Path, *, cache: Path) -> Path:
    """pyvalhalla's wheel for this platform, for Python 3.12 (it has no 3.11 wheel)."""
    manual = (
        f"run `pip download --no-deps --only-binary=:all: --python-version 3.12 -d DIR "
        f"pyvalhalla=={VERSION}`, unzip the wheel into {cache} and make its "
        f"valhalla/bin/* executable"
    )
    pip = _pip_command()
    if pip is None:
        raise InputError(f"Cannot download Valhalla: no pip in {sys.executable} nor on PATH. "
                         f"Install pip, or {manual}.")
    command = [*pip, "download", "--no-deps", "--only-binary=:all:", "--python-version",
               "3.12", "--disable-pip-version-check", "-d", str(folder), f"pyvalhalla=={VERSION}"]
    try:
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=DOWNLOAD_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise InputError(f"Cannot download Valhalla with `{' '.join(command)}`: {error}. "
                         f"Check the connection to PyPI, or {manual}.") from error
    wheels = sorted(folder.glob(f"pyvalhalla-{VERSION}-*.whl"))
    if done.returncode != 0 or not wheels:
        raise InputError(
            f"Cannot download Valhalla: `{' '.join(command)}` exited {done.returncode}:\n"
            f"{_tail(done.stderr or done.stdout)}\nCheck the connection to PyPI and that "
            f"pyvalhalla {VERSION} has a wheel for this platform, or {manual}."
        )
    return wheels[0]


def _unzip_wheel(wheel: Path, folder: Path) -> None:
    """Unzip, and restore the executable bits that zipfile drops."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(folder)
    except (OSError, zipfile.BadZipFile) as error:
        raise InputError(f"Cannot unzip {wheel.name} into {folder}: {error}. Check the free "
                         f"disk space (it needs about 300 MB) and try again.") from error
    for name in EXECUTABLES:
        path = _executable(folder, name)
        if not path.is_file():
            raise InputError(f"{wheel.name} has no valhalla/bin/{name}: this platform's wheel "
                             f"does not ship the executables. Use Linux x86_64.")
    for path in (folder / "valhalla" / "bin").iterdir():
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


# --- tiles -------------------------------------------------------------------------------


def build_tiles(pbf: Path, workdir: Path, *, valhalla: Path) -> Path:
    """Valhalla's config for routing tiles of `pbf` in `workdir`, built unless already there.

    Tiles are reused when the stamp says they came from the same file (path, size and
    modification time) with the same Valhalla and config. A failed build leaves the
    previous tiles as they were.
    """
    pbf = _existing_pbf(pbf)
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    config, tiles, stamp = workdir / "valhalla.json", workdir / "tiles", workdir / "stamp.json"
    if _tiles_ready(pbf, workdir, valhalla=valhalla):
        return config
    partial, build_config = workdir / "tiles.partial", workdir / "valhalla.build.json"
    try:
        seconds = _build_into(partial, pbf=pbf, config=build_config, valhalla=valhalla)
        stamp.unlink(missing_ok=True)
        shutil.rmtree(tiles, ignore_errors=True)
        partial.rename(tiles)
        _write_json(config, _config(valhalla, tile_dir=tiles))
        _write_json(stamp, {**_stamp(pbf, valhalla=valhalla), "seconds_to_build": seconds})
    finally:
        shutil.rmtree(partial, ignore_errors=True)
        build_config.unlink(missing_ok=True)
    return config


def _build_into(tile_dir: Path, *, pbf: Path, config: Path, valhalla: Path) -> float:
    """Build tiles of `pbf` into a fresh `tile_dir`; the seconds valhalla_build_tiles took."""
    shutil.rmtree(tile_dir, ignore_errors=True)
    _write_json(config, _config(valhalla, tile_dir=tile_dir))
    started = time.perf_counter()
    _run([str(_executable(valhalla, "valhalla_build_tiles")), "-c", str(config), str(pbf)],
         what=f"building Valhalla tiles from {pbf}", timeout=BUILD_TIMEOUT_S,
         cwd=config.parent)
    seconds = time.perf_counter() - started
    if not any(tile_dir.rglob("*.gph")):
        raise ValhallaError(f"valhalla_build_tiles made no tiles from {pbf}: the extract has "
                            f"no routable ways. Check that it is the area you meant.")
    return seconds


def _existing_pbf(pbf: Path) -> Path:
    pbf = Path(pbf).resolve()
    if not pbf.is_file():
        raise SourceFileError(f"{pbf}: no such OpenStreetMap extract. Give the path of an "
                              f".osm.pbf file.")
    return pbf


def _tiles_ready(pbf: Path, workdir: Path, *, valhalla: Path) -> bool:
    """Whether `workdir` holds a config and tiles built from this very `pbf`."""
    recorded = _read_json(workdir / "stamp.json")
    wanted = _stamp(pbf, valhalla=valhalla)
    return ((workdir / "valhalla.json").is_file() and (workdir / "tiles").is_dir()
            and isinstance(recorded, dict) and all(recorded.get(k) == v
                                                   for k, v in wanted.items()))


def _stamp(pbf: Path, *, valhalla: Path) -> dict[str, Any]:
    info = pbf.stat()
    return {"pbf": str(pbf), "size": info.st_size, "mtime_ns": info.st_mtime_ns,
            "valhalla": VERSION, "valhalla_dir": str(valhalla.resolve()),
            "config_revision": CONFIG_REVISION}


def _config(valhalla: Path, *, tile_dir: Path) -> dict[str, Any]:
    """Valhalla's default config: no timezones, admins or extracts; matrices as below."""
    script = valhalla / "valhalla" / "valhalla_build_config.py"
    out = _run([sys.executable, str(script), "--mjolnir-tile-dir", str(tile_dir),
                "--mjolnir-timezone", "", "--mjolnir-admin", "", "--mjolnir-tile-extract", "",
                "--mjolnir-traffic-extract", ""],
               what="writing Valhalla's config", timeout=CONFIG_TIMEOUT_S, cwd=valhalla)
    config = json.loads(out)
    config["logging"]["color"] = False
    walk = config["service_limits"]["pedestrian"]
    walk["max_matrix_location_pairs"] = PAIRS_PER_REQUEST  # the default 2500 is 50 × 50
    # max_matrix_distance stays 200 km: raising it slows every search (10,000 km: 10 times).
    # Left to choose, Valhalla uses CostMatrix once both sides have over 5 points: 4 to 9
    # times slower on walks here, and on a few pairs far off (0 m for a 597 m walk).
    config["thor"]["source_to_target_algorithm"] = "timedistancematrix"
    return config


# --- routing -----------------------------------------------------------------------------


def valhalla_matrix(pbf: Path, *, sources: np.ndarray, targets: np.ndarray,
                    speed_kmh: float = 4.8, workdir: Path | None = None,
                    max_snap_m: float | None = None, shortest: bool = False,
                    valhalla: Path | None = None) -> ValhallaMatrix:
    """Valhalla's walking distance and time from each source to each target (lon, lat rows).

    Valhalla picks the walk of least cost, which weighs steps, alleys and crossings;
    `shortest` ranks walks by length alone, as a plain shortest-path search does.
    `max_snap_m` leaves out points farther than that from every way (default: 35 km).
    `workdir` holds the tiles (default: var/cache/valhalla-tiles/<extract>-<hash>);
    `valhalla` is an unzipped wheel from `valhalla_dir` (default: its default cache).
    """
    src, tgt = _lonlat(sources, name="sources"), _lonlat(targets, name="targets")
    _check_speed(speed_kmh)
    if max_snap_m is not None and not max_snap_m > 0:
        raise InputError(f"max_snap_m={max_snap_m}: give a positive number of metres, or "
                         f"None for Valhalla's default (35 km).")
    home = valhalla or valhalla_dir()
    pbf = _existing_pbf(pbf)
    workdir = (workdir or _default_workdir(pbf)).resolve()
    reused = _tiles_ready(pbf, workdir, valhalla=home)
    config = build_tiles(pbf, workdir, valhalla=home)
    built = float(_read_json(workdir / "stamp.json")["seconds_to_build"])
    started = time.perf_counter()
    service = _Service(_executable(home, "valhalla_service"), config, max_snap_m=max_snap_m)
    snapped, tunnel = service.locate(np.vstack([src, tgt]))
    src_at, tgt_at = snapped[: len(src)], snapped[len(src):]
    distance_m, seconds = service.matrix(
        src, tgt, costing=_costing(speed_kmh, shortest=shortest),
        rows=np.flatnonzero(np.isfinite(src_at[:, 0])),
        cols=np.flatnonzero(np.isfinite(tgt_at[:, 0])))
    routed = time.perf_counter() - started
    return ValhallaMatrix(
        distance_m=distance_m, minutes=seconds / 60.0,
        seconds_to_build=built, seconds_to_route=routed,
        source_snap_m=_haversine_m(src, src_at), target_snap_m=_haversine_m(tgt, tgt_at),
        tiles_reused=reused, source_at=src_at, source_in_tunnel=tunnel[: len(src)],
    )


def _lonlat(points: np.ndarray, *, name: str) -> np.ndarray:
    array = np.asarray(points, dtype=np.float64)
    if array.size == 0:
        return np.zeros((0, 2))
    if array.ndim != 2 or array.shape[1] != 2:
        raise InputError(f"{name} has shape {array.shape}: give an (n, 2) array of "
                         f"longitude, latitude rows.")
    bad = ~np.isfinite(array).all(axis=1) | (np.abs(array[:, 0]) > 180) | (
        np.abs(array[:, 1]) > 90)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InputError(f"{name} row {first} is {array[first].tolist()}, not a longitude, "
                         f"latitude pair ({int(bad.sum())} such rows). Give degrees in "
                         f"WGS84, longitude first.")
    return array


def _check_speed(speed_kmh: float) -> None:
    if not MIN_SPEED_KMH <= speed_kmh <= MAX_SPEED_KMH:
        raise InputError(f"speed_kmh={speed_kmh}: Valhalla walks at {MIN_SPEED_KMH} to "
                         f"{MAX_SPEED_KMH} km/h; give a speed in that range.")


def _costing(speed_kmh: float, *, shortest: bool) -> dict[str, Any]:
    return {"walking_speed": float(speed_kmh), **({"shortest": True} if shortest else {})}


def _default_workdir(pbf: Path) -> Path:
    path = Path(pbf).resolve()
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    return DEFAULT_TILES / f"{path.name.split('.')[0]}-{digest}"


class _Service:
    """One-shot `valhalla_service` calls on one config; requests go through a file."""

    def __init__(self, executable: Path, config: Path, *, max_snap_m: float | None) -> None:
        self.executable, self.config, self.max_snap_m = executable, config, max_snap_m

    def locate(self, lonlat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where Valhalla snaps each point (lon, lat; NaN where it cannot), and whether
        onto a tunnel."""
        out = np.full((len(lonlat), 2), np.nan)
        tunnel = np.zeros(len(lonlat), dtype=bool)
        if len(lonlat) == 0:
            return out, tunnel
        answer = self._ask("locate", {"locations": self._locations(lonlat),
                                      "costing": "pedestrian", "verbose": True})
        for i, found in enumerate(answer):
            if found.get("edges"):
                edge = found["edges"][0]
                out[i] = edge["correlated_lon"], edge["correlated_lat"]
                tunnel[i] = bool((edge.get("edge") or {}).get("tunnel"))
        return out, tunnel

    def matrix(self, sources: np.ndarray, targets: np.ndarray, *, costing: dict[str, Any],
               rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Metres and seconds from `sources[rows]` to `targets[cols]`; NaN elsewhere.

        Valhalla searches from the targets when a request has more sources than targets,
        and the two directions differ by a few metres on a few pairs. So requests split the
        smaller side, which keeps the direction of every request that of the whole matrix.
        """
        metres = np.full((len(sources), len(targets)), np.nan)
        seconds = metres.copy()
        if rows.size == 0 or cols.size == 0:
            return metres, seconds
        by_rows = rows.size <= cols.size
        split, whole = (rows, cols) if by_rows else (cols, rows)
        chunk = max(1, PAIRS_PER_REQUEST // whole.size)
        for start in range(0, split.size, chunk):
            part = split[start:start + chunk]
            r, c = (part, cols) if by_rows else (rows, part)
            km, sec = self._matrix_part(sources[r], targets[c], costing=costing)
            metres[np.ix_(r, c)] = km * 1000.0
            seconds[np.ix_(r, c)] = sec
        return metres, seconds

    def _matrix_part(self, sources: np.ndarray, targets: np.ndarray, *,
                     costing: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        request = {"sources": self._locations(sources), "targets": self._locations(targets),
                   "costing": "pedestrian", "units": "kilometers", "verbose": False,
                   "costing_options": {"pedestrian": costing}}
        answer = self._ask("sources_to_targets", request)["sources_to_targets"]
        return _floats(answer["distances"]), _floats(answer["durations"])

    def _locations(self, lonlat: np.ndarray) -> list[dict[str, float]]:
        extra = {} if self.max_snap_m is None else {"search_cutoff": float(self.max_snap_m)}
        return [{"lon": float(lon), "lat": float(lat), **extra} for lon, lat in lonlat]

    def _ask(self, action: str, request: dict[str, Any]) -> Any:
        # A file, not argv: one argument is capped at 128 kB, about 3,500 locations.
        with tempfile.TemporaryDirectory(prefix="valhalla-") as scratch:
            path = Path(scratch) / "request.json"
            _write_json(path, request)
            out = _run([str(self.executable), str(self.config), action, str(path)],
                       what=f"Valhalla's {action}", timeout=ROUTE_TIMEOUT_S,
                       cwd=self.config.parent, answer_on_error=True)
        answer = _last_json_line(out, what=f"Valhalla's {action}")
        if isinstance(answer, dict) and "error_code" in answer:
            raise ValhallaError(
                f"Valhalla's {action} with {self.config} failed: error {answer['error_code']}"
                f" {answer.get('error')!r}. If a point is at fault, check that every point "
                f"lies inside the extract's area."
            )
        return answer


def _floats(rows: list[list[float | None]]) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in row] for row in rows],
                    dtype=np.float64)


def _haversine_m(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Great-circle metres between (lon, lat) rows; NaN where either is NaN."""
    lon1, lat1, lon2, lat2 = (np.radians(v) for v in (a[:, 0], a[:, 1], b[:, 0], b[:, 1]))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(
        (lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


# --- plumbing ----------------------------------------------------------------------------


def _run(command: list[str], *, what: str, timeout: float, cwd: Path,
         answer_on_error: bool = False) -> str:
    """stdout of `command`; ValhallaError naming `what` if it fails or overruns.

    With `answer_on_error`, a failing run whose stdout holds a JSON line returns it, so the
    caller can report Valhalla's own error.
    """
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              cwd=cwd, check=False)
    except subprocess.TimeoutExpired as error:
        raise ValhallaError(f"{what} took over {timeout:.0f} s and was stopped: "
                            f"`{' '.join(command)}`. Give it fewer points.") from error
    except OSError as error:
        raise ValhallaError(f"{what} could not start: {error}. Delete the Valhalla cache "
                            f"({command[0]}'s folder) so it is unzipped afresh.") from error
    if done.returncode == 0 or (answer_on_error and _has_json_line(done.stdout)):
        return done.stdout
    raise ValhallaError(f"{what} failed (exit {done.returncode}): `{' '.join(command)}`\n"
                        f"{_tail(done.stderr + done.stdout)}")


def _has_json_line(text: str) -> bool:
    return any(line.startswith(("{", "[")) for line in text.splitlines())


def _last_json_line(text: str, *, what: str) -> Any:
    lines = [line for line in text.splitlines() if line.startswith(("{", "["))]
    if not lines:
        raise ValhallaError(f"{what} printed no JSON answer; its output ends:\n{_tail(text)}")
    return json.loads(lines[-1])


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value), encoding="utf-8")
