"""Benchmark: plan and apply a generated stack in the sandbox; print JSON.

    python bench/bench_plan_apply.py                      # 20 buckets, 20 compute groups
    python bench/bench_plan_apply.py --buckets 10 --groups 10 --lbs 2 --cdns 2

Generates a plan file with N buckets, M compute groups, L load balancers (each targeting a
group) and C CDNs (each in front of a bucket), then times, against an in-process moto server:
the first plan, the apply, a no-op plan (pure refresh + diff), and the destroy; and counts the
AWS API calls each phase makes, by operation, with a botocore event hook.

The no-op plan is compared with its floor (boto3_floor.py): a hand-written boto3 script that
reads the same things with the same concurrency and does nothing else. Both run `--repeat`
times after a warm-up; the median wall time is reported, and `vs_floor` gives the ratios
(the goal: a no-op plan within 1.5x of the floor). Wall-clock figures are indicative only
(shared, noisy machines); the call counts are exact and repeatable.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("MOTO_AMIS_PATH", str(REPO / "lepton_cli/sandbox/data/aws_amis.json"))


def generate_plan(buckets: int, groups: int, lbs: int, cdns: int) -> str:
    lines = ["stack: bench", "defaults: {cloud: aws, region: us-east-1}", "resources:"]
    for i in range(buckets):
        lines += [f"  b{i}:", "    kind: bucket", "    versioning: true", "    force_destroy: true"]
    for i in range(groups):
        lines += [f"  g{i}:", "    kind: compute", "    size: {cpus: 2, memory_gb: 4}",
                  "    count: 1", "    zones: 2", "    ports: [8080]"]
    for i in range(min(lbs, groups)):
        lines += [f"  lb{i}:", "    kind: load_balancer", f"    target: g{i}",
                  "    listeners: [{port: 80, protocol: http, target_port: 8080}]"]
    for i in range(min(cdns, buckets)):
        lines += [f"  cdn{i}:", "    kind: cdn", f"    origin: b{i}"]
    return "\n".join(lines) + "\n"


class CallCounter:
    """Counts botocore API calls by `service.Operation`, thread-safely."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts: collections.Counter[str] = collections.Counter()

    def __call__(self, model, **_):
        with self.lock:
            self.counts[f"{model.service_model.service_name}.{model.name}"] += 1

    def take(self) -> dict:
        with self.lock:
            counts, self.counts = self.counts, collections.Counter()
        return {"total": sum(counts.values()), "by_operation": dict(sorted(counts.items()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buckets", type=int, default=20)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--lbs", type=int, default=0)
    parser.add_argument("--cdns", type=int, default=0)
    parser.add_argument("--parallelism", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of the no-op plan and of the floor")
    args = parser.parse_args()

    from boto3_floor import Floor
    from lepton_cli import api
    from lepton_cli.sandbox.testing import in_process_sandbox

    work = Path(tempfile.mkdtemp(prefix="lepton-bench-"))
    plan_file = work / "lepton.yaml"
    plan_file.write_text(generate_plan(args.buckets, args.groups, args.lbs, args.cdns))
    os.environ["LEPTON_SANDBOX_HOME"] = str(work / "sandbox")
    counter = CallCounter()
    phases: dict[str, dict] = {}

    with in_process_sandbox(work / "sandbox"):
        ws = api.open_workspace(plan_file, sandbox=True)
        for driver in ws.drivers().values():
            driver.session.events.register("before-call", counter)
        writes = count_state_writes(ws.store)

        def phase(name: str, fn):
            counter.take()
            writes.clear()
            started = time.perf_counter()
            value = fn()
            phases[name] = {"seconds": round(time.perf_counter() - started, 3), "api_calls": counter.take(),
                            "state_writes": len(writes), "state_write_seconds": round(sum(writes), 3)}
            return value

        with ws.locked("bench"):
            first = phase("plan", lambda: ws.plan(parallelism=args.parallelism))
            result = phase("apply", lambda: ws.apply(first, parallelism=args.parallelism))
            assert result.ok, result.failed
            noop = ws.plan(parallelism=args.parallelism)  # warm-up, as the floor's
            assert not noop.has_changes, [c.address for c in noop.actionable]
            phases["noop_plan"] = repeated(phase, phases, "noop_plan", lambda: ws.plan(parallelism=args.parallelism),
                                           args.repeat)
            floor = Floor(boto3_session(counter), ws.drivers()["aws"].config.endpoint("aws"), "bench",
                          parallelism=args.parallelism)
            read = lambda: floor.read(lbs=args.lbs > 0, cdns=args.cdns > 0)  # noqa: E731
            read()
            phases["floor"] = repeated(phase, phases, "floor", read, args.repeat)
            gone = phase("destroy_plan", lambda: ws.plan(destroy=True, parallelism=args.parallelism))
            done = phase("destroy", lambda: ws.apply(gone, parallelism=args.parallelism))
            assert done.ok, done.failed

    noop_plan, floor_read = phases["noop_plan"], phases["floor"]
    print(json.dumps({
        "benchmark": "plan_apply",
        "stack": {"buckets": args.buckets, "groups": args.groups, "lbs": args.lbs, "cdns": args.cdns},
        "primitives": len([c for c in first.changes]),
        "parallelism": args.parallelism,
        "phases": phases,
        "vs_floor": {
            "noop_plan": {"api_calls": noop_plan["api_calls"]["total"], "seconds": noop_plan["seconds"]},
            "floor": {"api_calls": floor_read["api_calls"]["total"], "seconds": floor_read["seconds"]},
            "ratio": {"api_calls": round(noop_plan["api_calls"]["total"] / max(1, floor_read["api_calls"]["total"]), 2),
                      "seconds": round(noop_plan["seconds"] / max(1e-9, floor_read["seconds"]), 2)},
        },
    }, indent=2))


def repeated(phase, phases: dict, name: str, fn, times: int) -> dict:
    """`times` timed runs: the median wall time, and the calls of one run (every run's must agree)."""
    runs = []
    for _ in range(max(1, times)):
        phase(name, fn)
        runs.append(phases[name])
    calls = {json.dumps(r["api_calls"], sort_keys=True) for r in runs}
    assert len(calls) == 1, f"{name}: runs made different calls: {calls}"
    seconds = sorted(r["seconds"] for r in runs)
    return {"seconds": seconds[len(seconds) // 2], "runs": len(runs), "seconds_each": [r["seconds"] for r in runs],
            "api_calls": runs[0]["api_calls"]}


def count_state_writes(store) -> list[float]:
    """The seconds each state write of `store` takes, as a list the phases clear: apply journals
    intents before each batch of operations and a result after each operation."""
    writes: list[float] = []
    write = store.write

    def timed(state):
        started = time.perf_counter()
        write(state)
        writes.append(time.perf_counter() - started)

    store.write = timed
    return writes


def boto3_session(counter):
    """A session for the floor, its calls counted like lepton's."""
    import boto3

    from lepton_cli.drivers.aws.driver import SANDBOX_CREDENTIALS

    session = boto3.session.Session(**SANDBOX_CREDENTIALS)
    session.events.register("before-call", counter)
    return session


if __name__ == "__main__":
    main()
