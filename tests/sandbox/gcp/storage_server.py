"""The Cloud Storage emulator on a free loopback port, and SDK clients pointed at it."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from werkzeug.serving import make_server

from lepton_cli.sandbox.gcp.storage.app import make_app

PROJECT = "lepton-sandbox"


@contextlib.contextmanager
def serve() -> Iterator[str]:
    """A fresh emulator; yields its endpoint."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, make_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="gcs-emulator", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def client(endpoint: str, project: str = PROJECT):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(project=project, credentials=AnonymousCredentials(),
                          client_options={"api_endpoint": endpoint})
