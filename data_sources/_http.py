"""JSON over HTTP for portal connectors: timeouts, retries with backoff, clear errors."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from observatory.errors import InputError, SourceFileError

TIMEOUT_S = 20.0
RETRIES = 3
BACKOFF_S = 0.5
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
USER_AGENT = "observatory/0.1 (+open data connector)"


class PortalError(SourceFileError):
    """A portal answered with an error or not at all."""


def with_query(url: str, params: dict[str, Any]) -> str:
    """`url` with `params` added to its query string (None values left out)."""
    kept = {k: v for k, v in params.items() if v is not None}
    if not kept:
        return url
    separator = "&" if urllib.parse.urlparse(url).query else "?"
    return url + separator + urllib.parse.urlencode(kept)


def _open(url: str, *, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT,
                                                   "Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return response.read()


def _detail(body: bytes) -> str:
    """The portal's own words in an error answer: CKAN's or Opendatasoft's message, else text."""
    text = body.decode("utf-8", "replace").strip()
    try:
        payload = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict):  # CKAN: {"__type": …, "message": …} or {field: [problems]}
            rest = error.get("message") or "; ".join(
                f"{k}: {v}" for k, v in error.items() if k != "__type")
            return f"{error['__type']}: {rest}" if error.get("__type") else str(rest)
        if isinstance(payload.get("message"), str):  # Opendatasoft: {"error_code", "message"}
            return payload["message"]
    return text[:300]


def _parsed(url: str, body: bytes) -> Any:
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise PortalError(f"{url}: the answer is not JSON ({exc.msg} at line {exc.lineno}; it "
                          f"begins {body[:60].decode('utf-8', 'replace')!r}).") from exc
    except UnicodeDecodeError as exc:
        raise PortalError(f"{url}: the answer is not JSON (not UTF-8 text).") from exc


def get_json(url: str, *, timeout: float | None = None, retries: int | None = None,
             backoff: float | None = None) -> Any:
    """GET a JSON document, retrying timeouts, connection errors and 429/5xx answers.

    The defaults are TIMEOUT_S, RETRIES and BACKOFF_S, read at each call.
    """
    if not url.startswith(("http://", "https://")):
        raise InputError(f"{url}: not an http(s) URL.")
    timeout = TIMEOUT_S if timeout is None else timeout
    retries = RETRIES if retries is None else retries
    backoff = BACKOFF_S if backoff is None else backoff
    last = ""
    for attempt in range(retries + 1):
        try:
            return _parsed(url, _open(url, timeout=timeout))
        except urllib.error.HTTPError as exc:
            with exc:
                detail = _detail(exc.read())
            if exc.code not in RETRY_STATUS:
                raise PortalError(f"{url}: the portal answered HTTP {exc.code} ({detail}).") \
                    from exc
            last = f"HTTP {exc.code}"
        except (urllib.error.URLError, http.client.HTTPException, TimeoutError,
                ConnectionError) as exc:  # HTTPException: e.g. an answer cut short
            last = str(getattr(exc, "reason", exc)) or type(exc).__name__
        if attempt < retries:
            time.sleep(backoff * 2**attempt)
    raise PortalError(f"{url}: no answer after {retries + 1} tries ({last}). Check the URL "
                      "and the network, then try again.")
