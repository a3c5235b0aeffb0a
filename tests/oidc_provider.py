"""Run oidc-provider-mock on 127.0.0.1 in its own process (the test process turns warnings
into errors, which its deprecated imports would raise inside the provider).

`python tests/oidc_provider.py USERS_JSON`: serves on a free port, prints the port on the
first line of stdout, and stops when stdin closes.
"""

from __future__ import annotations

import json
import sys
import threading

import oidc_provider_mock
import werkzeug.serving


def main(users_json: str) -> None:
    users = [oidc_provider_mock.User(sub=sub, claims=claims)
             for sub, claims in json.loads(users_json).items()]
    server = werkzeug.serving.make_server(
        "127.0.0.1", 0, oidc_provider_mock.app(user_claims=users), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_port, flush=True)
    sys.stdin.read()  # until the test closes our stdin
    server.shutdown()


if __name__ == "__main__":
    main(sys.argv[1])
