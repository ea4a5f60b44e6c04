"""The sandbox's background process: `python -m lepton_cli.sandbox.serve --home DIR`.

Serves every emulated cloud on loopback, writes DIR/sandbox.json once all answer, and removes
it on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path

from lepton_cli.sandbox.runtime import remove_runtime, write_runtime
from lepton_cli.sandbox.server import serve_all


def main() -> None:
    parser = argparse.ArgumentParser(prog="lepton-sandbox")
    parser.add_argument("--home", required=True)
    args = parser.parse_args()
    home = Path(args.home)
    running = serve_all()
    finished = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: finished.set())
    signal.signal(signal.SIGINT, lambda *_: finished.set())
    write_runtime(home, os.getpid(), running.endpoints, running.details)
    try:
        finished.wait()
    finally:
        remove_runtime(home, os.getpid())
        running.shutdown()


if __name__ == "__main__":
    main()
