"""Benchmark: the cost of apply's journal writes on the local, s3, gcs and azblob state backends; print JSON.

    python bench/bench_remote_state.py                    # states of 10, 100, 500 primitives
    python bench/bench_remote_state.py --sizes 50 --writes 40 --buckets 10

Apply writes state after every completed operation (and its intents before each batch), so the
cost of one state write is paid once or twice per operation. Two measurements, against the
sandbox's emulators (moto S3, the Cloud Storage emulator, Azurite) on loopback ports:

- `writes`: `StateStore.write` of a state holding N primitives, repeated; median milliseconds per
  write, requests per write (S3: counted with a botocore hook; gcs/azblob: object-store calls,
  one HTTP request each for documents this size) and the document's size.
- `apply`: a real `apply` (and `destroy`) of a stack of B buckets with each backend: wall time,
  state writes, and the S3 requests made for state.

Wall-clock figures are indicative only (shared machine; moto on loopback has none of S3's
~10-30 ms per request from a runner in the same region); request counts are exact.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("MOTO_AMIS_PATH", str(REPO / "lepton_cli/sandbox/data/aws_amis.json"))


def sample_state(size: int):
    from lepton_cli.state.model import PrimitiveRecord
    from lepton_cli.state.store import new_state

    state = new_state("bench")
    for i in range(size):
        state.primitives[f"r{i}/aws.s3_bucket"] = PrimitiveRecord(
            type="aws.s3_bucket", cloud="aws", region="us-east-1", id=f"bench-r{i}-0123456789", resource=f"r{i}",
            kind="bucket", properties={"versioning": True, "force_destroy": True, "tags": {"lepton-stack": "bench"}},
            outputs={"arn": f"arn:aws:s3:::bench-r{i}"})
    return state


class ObjectCalls:
    """Counts a remote store's object operations (get/put/delete: one request each here)."""

    def __init__(self):
        self.counts: collections.Counter[str] = collections.Counter()

    def install(self, store) -> None:
        for name in ("get", "put", "delete"):
            method = getattr(store.objects, name)
            setattr(store.objects, name, lambda *a, _m=method, _n=name, **k: (self.counts.update([_n]), _m(*a, **k))[1])


class S3Requests:
    """Counts S3 requests by operation, from every boto3 client made after `install`."""

    def __init__(self):
        self.counts: collections.Counter[str] = collections.Counter()

    def install(self, store) -> None:
        store.objects.client.meta.events.register(
            "before-call.s3.*", lambda model, **_: self.counts.update([model.name]))


def time_writes(make_store, size: int, writes: int, counter: S3Requests | None) -> dict:
    store = make_store()
    state = sample_state(size)
    store.write(state)
    if counter is not None:
        counter.install(store)
        counter.counts.clear()
    laps = []
    for _ in range(writes):
        start = time.perf_counter()
        store.write(state)
        laps.append((time.perf_counter() - start) * 1000)
    result = {"median_ms": round(statistics.median(laps), 2), "p90_ms": round(sorted(laps)[int(len(laps) * 0.9)], 2),
              "bytes": len(json.dumps(state.to_dict(), indent=2, sort_keys=True, default=str))}
    if counter is not None:
        result["requests_per_write"] = {k: v / writes for k, v in sorted(counter.counts.items())}
    return result


def run_apply(directory: Path, backend: str, buckets: int, counter_type=None) -> dict:
    from lepton_cli import api

    lines = ["stack: bench", "defaults: {cloud: aws, region: us-east-1}", backend, "resources:"]
    for i in range(buckets):
        lines += [f"  b{i}:", "    kind: bucket", "    force_destroy: true"]
    plan_file = directory / "lepton.yaml"
    plan_file.write_text("\n".join(lines) + "\n")
    ws = api.open_workspace(plan_file, sandbox=True)
    store = ws.store
    writes = 0
    original = store.write

    def counted(state):
        nonlocal writes
        writes += 1
        original(state)

    store.write = counted
    counter = (counter_type or S3Requests)()
    if hasattr(store, "objects"):
        counter.install(store)
    phases = {}
    for phase, destroy in (("apply", False), ("destroy", True)):
        writes = 0
        counter.counts.clear()
        start = time.perf_counter()
        with ws.locked(phase):
            result = ws.apply(ws.plan(destroy=destroy))
        assert result.ok, result.failed
        phases[phase] = {"seconds": round(time.perf_counter() - start, 3), "state_writes": writes,
                         "state_writes_per_operation": round(writes / buckets, 2),
                         "state_requests": dict(sorted(counter.counts.items())),
                         "state_requests_per_operation": round(sum(counter.counts.values()) / buckets, 2)}
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("--writes", type=int, default=30)
    parser.add_argument("--buckets", type=int, default=10)
    args = parser.parse_args()

    import boto3

    from lepton_cli.drivers.aws.driver import SANDBOX_CREDENTIALS
    from lepton_cli.sandbox.testing import in_process_sandbox
    from lepton_cli.state.local import LocalStateStore
    from lepton_cli.state.remote import RemoteStateStore
    from lepton_cli.state.s3 import S3Objects

    with tempfile.TemporaryDirectory() as tmp, in_process_sandbox(Path(tmp) / "home") as status:
        os.environ["LEPTON_SANDBOX_HOME"] = str(Path(tmp) / "home")
        endpoint = status.endpoints["aws"]
        bucket = f"bench-state-{uuid.uuid4().hex[:8]}"
        boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint, **SANDBOX_CREDENTIALS).create_bucket(
            Bucket=bucket)
        from azure.storage.blob import BlobServiceClient
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        from lepton_cli.sandbox.azurite import ACCOUNTS
        from lepton_cli.state.azblob import AzureBlobObjects
        from lepton_cli.state.gcs import GcsObjects

        account, blob_endpoint = "leptonsandbox0", status.endpoints["azblob"]
        BlobServiceClient(f"{blob_endpoint}/{account}", credential={
            "account_name": account, "account_key": ACCOUNTS[account]}).create_container(bucket)
        storage.Client(project="lepton-sandbox", credentials=AnonymousCredentials(),
                       client_options={"api_endpoint": status.endpoints["gcs"]}).create_bucket(bucket)
        remotes = {  # backend -> (object store, plan backend block)
            "gcs": (lambda: GcsObjects(bucket, sandbox=True, endpoint=lambda: status.endpoints["gcs"]),
                    f"backend: {{type: gcs, bucket: {bucket}, prefix: apply}}"),
            "azblob": (lambda: AzureBlobObjects(account, bucket, sandbox=True,
                                                endpoint=lambda a: (f"{blob_endpoint}/{a}", ACCOUNTS[a])),
                       f"backend: {{type: azblob, account: {account}, container: {bucket}, prefix: apply}}"),
        }
        report: dict = {"writes": {}, "apply": {}}
        for size in args.sizes:
            local_dir = Path(tmp) / f"local-{size}"
            report["writes"][size] = {
                "local": time_writes(lambda: LocalStateStore(local_dir, "bench"), size, args.writes, None),
                "s3": time_writes(lambda: RemoteStateStore(
                    S3Objects(bucket, "us-east-1", sandbox=True, endpoint=lambda: endpoint), f"w{size}", "bench",
                    Path(tmp)), size, args.writes, S3Requests()),
                **{name: time_writes(lambda: RemoteStateStore(objects(), f"w{size}", "bench", Path(tmp)), size,
                                     args.writes, ObjectCalls()) for name, (objects, _) in remotes.items()},
            }
        for name, backend in (("local", "backend: {type: local}"),
                              ("s3", f"backend: {{type: s3, bucket: {bucket}, prefix: apply, region: us-east-1}}")):
            directory = Path(tmp) / f"apply-{name}"
            directory.mkdir()
            report["apply"][name] = run_apply(directory, backend, args.buckets)
        for name, (_, backend) in remotes.items():
            directory = Path(tmp) / f"apply-{name}"
            directory.mkdir()
            report["apply"][name] = run_apply(directory, backend, args.buckets, ObjectCalls)
        report["apply"]["buckets"] = args.buckets
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
