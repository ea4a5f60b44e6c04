"""Serving the sandbox's WSGI applications on free loopback ports, in threads."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from lepton_cli.sandbox.services import CHILD_SERVICES, SERVICES, ServiceUnavailable

HOST = "127.0.0.1"  # loopback only, never 0.0.0.0


@dataclass
class RunningServices:
    servers: dict[str, BaseWSGIServer] = field(default_factory=dict)
    threads: list[threading.Thread] = field(default_factory=list)
    children: dict[str, Any] = field(default_factory=dict)  # child-process services (Azurite)
    unavailable: dict[str, str] = field(default_factory=dict)  # service -> why it is not served
    shared_children: bool = False  # the children outlive this sandbox (one per process)

    @property
    def endpoints(self) -> dict[str, str]:
        return {**{name: f"http://{HOST}:{server.server_port}" for name, server in self.servers.items()},
                **{name: child.endpoint for name, child in self.children.items()}}

    @property
    def details(self) -> dict[str, Any]:
        """What the runtime file records besides endpoints."""
        found: dict[str, Any] = {"unavailable": dict(self.unavailable)}
        for child in self.children.values():
            found.update(child.details)
        return found

    def shutdown(self) -> None:
        if not self.shared_children:
            for child in self.children.values():
                child.stop()
        for server in self.servers.values():
            server.shutdown()
            server.server_close()
        for thread in self.threads:
            thread.join(timeout=5)


def serve_all(shared_children: bool = False) -> RunningServices:
    """Start every service on a free port (port 0: the OS picks), each in a daemon thread, and
    every child-process service that can run here (the others are listed as unavailable)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on the console
    running = RunningServices(shared_children=shared_children)
    for name, start in CHILD_SERVICES.items():
        try:
            running.children[name] = start(shared_children)
        except ServiceUnavailable as exc:
            running.unavailable[name] = str(exc)
    for name, factory in SERVICES.items():
        server = make_server(HOST, 0, factory(running.children), threaded=True)
        thread = threading.Thread(target=server.serve_forever, name=f"sandbox-{name}", daemon=True)
        thread.start()
        running.servers[name] = server
        running.threads.append(thread)
    return running
