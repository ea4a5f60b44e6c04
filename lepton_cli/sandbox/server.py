"""Serving the sandbox's WSGI applications on free loopback ports, in threads."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from werkzeug.serving import BaseWSGIServer, make_server

from lepton_cli.sandbox.services import SERVICES

HOST = "127.0.0.1"  # loopback only, never 0.0.0.0


@dataclass
class RunningServices:
    servers: dict[str, BaseWSGIServer] = field(default_factory=dict)
    threads: list[threading.Thread] = field(default_factory=list)

    @property
    def endpoints(self) -> dict[str, str]:
        return {name: f"http://{HOST}:{server.server_port}" for name, server in self.servers.items()}

    def shutdown(self) -> None:
        for server in self.servers.values():
            server.shutdown()
            server.server_close()
        for thread in self.threads:
            thread.join(timeout=5)


def serve_all() -> RunningServices:
    """Start every service on a free port (port 0: the OS picks), each in a daemon thread."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on the console
    running = RunningServices()
    for name, factory in SERVICES.items():
        server = make_server(HOST, 0, factory(), threaded=True)
        thread = threading.Thread(target=server.serve_forever, name=f"sandbox-{name}", daemon=True)
        thread.start()
        running.servers[name] = server
        running.threads.append(thread)
    return running
