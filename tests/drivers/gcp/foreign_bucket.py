"""Someone else's GCS bucket, for the contract suite (merged by tests/drivers/gcp/harness.py).

With `same_name`, the bucket holds the exact name the stack wants, in the stack's own project
and without lepton's labels (a 409 that must not be taken for a retried create of ours);
otherwise it only looks like the stack's (its name starts with `<stack>-`, so the driver's
prefix list returns it and only the labels tell it apart).
"""

from __future__ import annotations

import uuid

from tests.drivers.contract.harness import Built, ForeignObject
from tests.sandbox.gcp.storage_server import client


def make(harness, built: Built, same_name: bool) -> ForeignObject:
    gcs = client(harness.endpoints["storage"], built.driver.project)
    name = built.properties["name"] if same_name else f"{built.stack}-foreign-{uuid.uuid4().hex[:10]}"
    bucket = gcs.bucket(name)
    bucket.labels = {"team": "someone-else"}
    bucket = gcs.create_bucket(bucket, location=built.region)
    bucket.blob("theirs.txt").upload_from_string(b"not lepton's")

    def snapshot():
        bucket.reload()
        props = bucket._properties
        return ({k: props.get(k) for k in ("labels", "versioning", "lifecycle", "iamConfiguration",
                                           "metageneration", "location")},
                sorted((b["role"], sorted(b["members"])) for b in bucket.get_iam_policy().bindings),
                sorted((b.name, b.generation) for b in gcs.list_blobs(name, versions=True)))

    def cleanup():
        for version in gcs.list_blobs(name, versions=True):
            bucket.delete_blob(version.name, generation=version.generation)
        bucket.delete()

    return ForeignObject(name, snapshot, cleanup)


FOREIGN = {"gcp.storage_bucket": make}
