"""A Spark session for builds, opened only once what it needs is there.

Before pyspark starts a JVM, `preflight` checks the Java runtime and that the master
answers, so a missing piece is one line naming it and how to fix it (exit 2) instead of a
Java stack trace, and the current snapshot is untouched.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from observatory.errors import InputError

DEFAULT_MASTER = "local[*]"
_PORTS = {"spark": 7077, "sc": 15002}


class SparkUnavailableError(InputError, RuntimeError):
    """Spark cannot run here: no Java runtime, no pyspark, or a master that does not answer."""


def java_runtime() -> Path | None:
    """The `java` that pyspark will start ($JAVA_HOME first, then the PATH)."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return Path(home) / "bin" / "java"
    found = shutil.which("java")
    return Path(found) if found else None


def _reachable(master: str) -> None:
    parsed = urlparse(master)
    if parsed.scheme not in _PORTS:
        raise SparkUnavailableError(
            f"--master {master}: not a Spark master; give local[*], local[N], "
            "spark://HOST:PORT, sc://HOST:PORT (Spark Connect), yarn or k8s://URL.")
    host, port = parsed.hostname or "", parsed.port or _PORTS[parsed.scheme]
    try:
        with socket.create_connection((host, port), timeout=3):
            pass
    except OSError as exc:
        raise SparkUnavailableError(
            f"--master {master}: nothing answers at {host}:{port} ({exc.strerror or exc}); "
            "start the cluster or check the URL (`observatory build --engine spark "
            "--master URL`).") from None


def preflight(master: str = DEFAULT_MASTER) -> None:
    """Raise SparkUnavailableError naming what is missing; return when Spark can start."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SparkUnavailableError(
            "pyspark is not installed: `uv sync --extra spark` (the test command installs "
            "it) or `pip install pyspark`.") from None
    if master.startswith("sc://"):
        try:
            import grpc  # noqa: F401  # Spark Connect's client speaks gRPC
        except ImportError:
            raise SparkUnavailableError(
                f"--master {master}: Spark Connect needs its client libraries: "
                "`pip install 'pyspark[connect]'` (or use spark://HOST:PORT).") from None
    if not master.startswith("sc://") and java_runtime() is None:
        raise SparkUnavailableError(
            "no Java runtime for Spark: install one (`apt-get install "
            "openjdk-17-jre-headless`) or set $JAVA_HOME.")
    if not master.startswith(("local", "yarn", "k8s://")):  # YARN and Kubernetes: Spark's
        _reachable(master)                                   # own client finds them


def spark_session(master: str = DEFAULT_MASTER, *, app: str = "observatory") -> Any:
    """A Spark session on `master` (checked first), quiet, in UTC, bound to 127.0.0.1 in
    local mode."""
    preflight(master)
    from pyspark.sql import SparkSession

    # Python tasks (the regional walking access) run in this interpreter, with its packages;
    # on a cluster, $PYSPARK_PYTHON names the executors' one
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # pyspark 4.3 warns about pandas 3 on every Arrow task; this code uses Arrow only
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas",
                            FutureWarning)

    if master.startswith("sc://"):
        return SparkSession.builder.remote(master).appName(app).getOrCreate()
    builder = (SparkSession.builder.master(master).appName(app)
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", "8")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               # SQL reads registered views only, never `parquet.\`/some/path\``
               .config("spark.sql.runSQLOnFiles", "false")
               .config("spark.driver.memory", "4g"))
    if master.startswith("local"):
        builder = (builder.config("spark.driver.host", "127.0.0.1")
                   .config("spark.driver.bindAddress", "127.0.0.1"))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
