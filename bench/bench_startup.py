"""Start-up time of `lepton --help` and `lepton --version` against their floor, the interpreter
importing what they print with (`python -c "import typer, rich.console"`).

Each command runs N times in a fresh interpreter, alternating with the floor so machine noise
hits both alike; prints one JSON document: the median seconds of each, and per command the
ratio to the floor and the difference (the goal: a difference within 0.07 s).

    python bench/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

FLOOR = [sys.executable, "-c", "import typer, rich.console"]
COMMANDS = {
    "lepton --help": [sys.executable, "-m", "lepton_cli.cli.main", "--help"],
    "lepton --version": [sys.executable, "-m", "lepton_cli.cli.main", "--version"],
}
GOAL_SECONDS = 0.07


def once(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    once(FLOOR)  # warm the file system cache for both
    for argv in COMMANDS.values():
        once(argv)
    times: dict[str, list[float]] = {"floor": [], **{name: [] for name in COMMANDS}}
    for _ in range(runs):
        times["floor"].append(once(FLOOR))
        for name, argv in COMMANDS.items():
            times[name].append(once(argv))
    floor = statistics.median(times["floor"])
    document = {"runs": runs, "floor": {"command": "python -c 'import typer, rich.console'",
                                        "median_s": round(floor, 4)}, "commands": {}}
    for name in COMMANDS:
        median = statistics.median(times[name])
        document["commands"][name] = {
            "median_s": round(median, 4), "ratio": round(median / floor, 2),
            "difference_s": round(median - floor, 4), "within_goal": median - floor <= GOAL_SECONDS,
        }
    print(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
