"""The sandbox's runtime file, `$LEPTON_SANDBOX_HOME/sandbox.json`: who serves, and where."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

RUNTIME = "sandbox.json"


def sandbox_home(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("LEPTON_SANDBOX_HOME") or Path.home() / ".lepton" / "sandbox")


def read_runtime(home: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((home / RUNTIME).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "pid" in data and "endpoints" in data else None


def write_runtime(home: Path, pid: int, endpoints: Mapping[str, str], details: Mapping[str, Any] | None = None) -> None:
    """`details`: what else clients need (services unavailable and why, Azurite's accounts)."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = home / f".{RUNTIME}.{pid}.tmp"
    temp.write_text(json.dumps({**(details or {}), "pid": pid, "endpoints": dict(endpoints),
                                "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}))
    os.replace(temp, home / RUNTIME)


def remove_runtime(home: Path, pid: int) -> None:
    data = read_runtime(home)
    if data is not None and data.get("pid") == pid:
        (home / RUNTIME).unlink(missing_ok=True)
