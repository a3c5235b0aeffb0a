"""JSON over HTTP for portal connectors: timeouts, retries with backoff, clear errors."""

from __future__ import annotations

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


def get_json(url: str, *, timeout: float = TIMEOUT_S, retries: int = RETRIES,
             backoff: float = BACKOFF_S) -> Any:
    """GET a JSON document, retrying timeouts, connection errors and 429/5xx answers."""
    if not url.startswith(("http://", "https://")):
        raise InputError(f"{url}: not an http(s) URL.")
    last = ""
    for attempt in range(retries + 1):
        try:
            body = _open(url, timeout=timeout)
            return json.loads(body)
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            if exc.code not in RETRY_STATUS:
                raise PortalError(f"{url}: the portal answered HTTP {exc.code} ({detail}).") \
                    from exc
            last = f"HTTP {exc.code}"
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            last = str(getattr(exc, "reason", exc))
        except json.JSONDecodeError as exc:
            raise PortalError(f"{url}: the answer is not JSON ({exc.msg} at line "
                              f"{exc.lineno}).") from exc
        if attempt < retries:
            time.sleep(backoff * 2**attempt)
    raise PortalError(f"{url}: no answer after {retries + 1} tries ({last}). Check the URL "
                      "and the network, then try again.")
