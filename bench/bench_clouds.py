"""Benchmark: plan, apply, no-op plan and destroy of a generated stack on Google Cloud or Azure,
in the sandbox (the project's own emulators, in process); print JSON.

    python bench/bench_clouds.py --cloud gcp                 # 5 groups, 5 buckets, 2 lbs, 2 cdns
    python bench/bench_clouds.py --cloud azure --groups 10 --buckets 10 --lbs 3 --cdns 3

API calls are counted through the drivers' observers (the SDKs' own hooks: google-cloud-compute's
REST interceptors and the storage session's response hook; azure-core's `raw_response_hook`), by
`METHOD path-shape` for Azure and `Collection.method` for GCP. The no-op plan is the refresh:
its calls must not grow with the number of objects of a type (batched lists), which
`--scale` shows by running the same shape at two sizes. Wall times are indicative only (shared,
noisy machines); call counts are exact and repeatable.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def generate_plan(cloud: str, groups: int, buckets: int, lbs: int, cdns: int) -> str:
    lines = ["stack: bench", f"defaults: {{cloud: {cloud}}}", "resources:"]
    for i in range(buckets):
        lines += [f"  b{i}:", "    kind: bucket", "    versioning: true", "    force_destroy: true"]
    for i in range(groups):
        lines += [f"  g{i}:", "    kind: compute", "    size: {cpus: 2, memory_gb: 4}", "    count: 1",
                  "    zones: 2", "    ports: [8080]", '    allow_from: ["10.0.0.0/8"]']
    for i in range(min(lbs, groups)):
        lines += [f"  lb{i}:", "    kind: load_balancer", f"    target: g{i}",
                  "    listeners: [{port: 80, protocol: http, target_port: 8080}]"]
    for i in range(min(cdns, buckets)):
        lines += [f"  cdn{i}:", "    kind: cdn", f"    origin: b{i}"]
    return "\n".join(lines) + "\n"


_IDS = re.compile(r"/(subscriptions|resourceGroups|operations|operationResults|[A-Za-z]+s)/[^/]+")


def shape(operation: str) -> str:
    """An Azure call's method and path with names taken out (`PUT /subscriptions/*/...`)."""
    return _IDS.sub(lambda m: f"/{m.group(1)}/*", operation)


class Counter:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts: collections.Counter[str] = collections.Counter()

    def __call__(self, operation: str) -> None:
        with self.lock:
            self.counts[shape(operation)] += 1

    def take(self) -> dict:
        with self.lock:
            counts, self.counts = self.counts, collections.Counter()
        return {"total": sum(counts.values()), "by_operation": dict(sorted(counts.items()))}


def run(cloud: str, groups: int, buckets: int, lbs: int, cdns: int, parallelism: int, sandbox) -> dict:
    from lepton_cli import api
    from lepton_cli.sandbox.testing import in_process_sandbox

    work = Path(tempfile.mkdtemp(prefix=f"lepton-bench-{cloud}-"))
    plan_file = work / "lepton.yaml"
    plan_file.write_text(generate_plan(cloud, groups, buckets, lbs, cdns))
    os.environ["LEPTON_SANDBOX_HOME"] = str(work / "sandbox")
    counter = Counter()
    phases: dict[str, dict] = {}
    with in_process_sandbox(work / "sandbox", sandbox):
        ws = api.open_workspace(plan_file, sandbox=True)
        for driver in ws.drivers().values():
            driver.observers.append(counter)

        def phase(name: str, fn):
            counter.take()
            started = time.perf_counter()
            value = fn()
            phases[name] = {"seconds": round(time.perf_counter() - started, 3), "api_calls": counter.take()}
            return value

        with ws.locked("bench"):
            first = phase("plan", lambda: ws.plan(parallelism=parallelism))
            result = phase("apply", lambda: ws.apply(first, parallelism=parallelism))
            assert result.ok, result.failed
            noop = phase("noop_plan", lambda: ws.plan(parallelism=parallelism))
            assert not noop.has_changes, [c.address for c in noop.actionable]
            gone = phase("destroy_plan", lambda: ws.plan(destroy=True, parallelism=parallelism))
            done = phase("destroy", lambda: ws.apply(gone, parallelism=parallelism))
            assert done.ok, done.failed
    return {"stack": {"groups": groups, "buckets": buckets, "lbs": lbs, "cdns": cdns},
            "primitives": len(first.changes), "phases": phases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cloud", choices=["gcp", "azure"], required=True)
    parser.add_argument("--groups", type=int, default=5)
    parser.add_argument("--buckets", type=int, default=5)
    parser.add_argument("--lbs", type=int, default=2)
    parser.add_argument("--cdns", type=int, default=2)
    parser.add_argument("--parallelism", type=int, default=10)
    parser.add_argument("--scale", type=int, default=2, help="also run the stack this many times larger (0: no)")
    args = parser.parse_args()

    from lepton_cli.sandbox.server import serve_all

    sandbox = serve_all(shared_children=True)
    try:
        shapes = [1, args.scale] if args.scale > 1 else [1]
        runs = [run(args.cloud, args.groups * k, args.buckets * k, args.lbs * k, args.cdns * k, args.parallelism,
                    sandbox) for k in shapes]
    finally:
        sandbox.shutdown()
    noop = [r["phases"]["noop_plan"]["api_calls"] for r in runs]
    print(json.dumps({
        "benchmark": "clouds", "cloud": args.cloud, "parallelism": args.parallelism, "runs": runs,
        # Refresh calls that grow with the stack: the per-object reads an API forces (none for
        # Compute Engine's filtered lists; Azure storage accounts are read one by one).
        "noop_plan_calls": [n["total"] for n in noop],
        "noop_plan_calls_growing": sorted(op for op in noop[-1]["by_operation"]
                                          if noop[-1]["by_operation"][op] != noop[0]["by_operation"].get(op)),
    }, indent=2))


if __name__ == "__main__":
    main()
