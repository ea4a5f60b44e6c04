"""Pending operations (issue 7): an apply killed between creating a bucket and tagging it.

The kill is simulated in process: a botocore hook raises, in the worker thread, just before
PutBucketTagging is sent, so the bucket exists without lepton's tags and the apply never
records it, exactly as after a SIGKILL at that moment (the e2e kill tests do the real thing).
"""

from __future__ import annotations

import pytest

from lepton_cli.engine.model import Action
from tests.drivers.aws.test_bucket import bucket

ADDRESS = "data/aws.s3_bucket"


class Killed(BaseException):
    """Stands for SIGKILL: not an Exception, so nothing in lepton handles it as an API error."""


def kill_before(operation: str):
    fired = []

    def hook(model, **_):
        if model.name == operation and not fired:
            fired.append(model.name)
            raise Killed(f"killed before {operation}")
    return hook, fired


def tags_of(s3, name: str) -> dict[str, str]:
    from botocore.exceptions import ClientError

    try:
        return {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchTagSet"
        return {}


@pytest.fixture
def killed_before_tagging(aws):
    """The stack after an apply killed between CreateBucket and PutBucketTagging."""
    hook, fired = kill_before("PutBucketTagging")
    aws.hooks.append(("before-call", hook))
    result = aws.apply(aws.plan(bucket()))
    aws.hooks.clear()
    assert fired and not result.ok
    state = aws.store.read()
    assert ADDRESS not in state.primitives
    (intent,) = [p for p in state.pending if p.address == ADDRESS]
    assert intent.operation == "create" and intent.name
    s3 = aws.client("s3")
    s3.head_bucket(Bucket=intent.name)  # it exists ...
    assert tags_of(s3, intent.name) == {}  # ... without any tag
    return intent.name


def test_the_next_apply_adopts_the_untagged_bucket_and_finishes_it(aws, killed_before_tagging):
    plan = aws.plan(bucket())
    (change,) = [c for c in plan.changes if c.address == ADDRESS]
    assert change.adopt and change.action is Action.UPDATE
    assert any("interrupted apply" in note for note in change.notes)
    aws.converge(bucket())
    s3 = aws.client("s3")
    assert tags_of(s3, killed_before_tagging) == {"lepton-stack": aws.stack, "lepton-name": ADDRESS}
    assert s3.get_bucket_versioning(Bucket=killed_before_tagging)["Status"] == "Enabled"
    state = aws.store.read()
    assert state.primitives[ADDRESS].id == killed_before_tagging
    assert state.pending == []
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]].count(killed_before_tagging) == 1


def test_destroy_right_after_the_kill_deletes_the_untagged_bucket(aws, killed_before_tagging):
    aws.destroy(bucket())
    names = [b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]]
    assert killed_before_tagging not in names
    assert aws.store.read().pending == []


def test_a_bucket_with_lepton_s_name_but_no_intent_on_record_is_still_refused(aws):
    name = aws.plan(bucket()).changes[0].desired.properties["name"]
    aws.client("s3").create_bucket(Bucket=name)  # someone else's, in this account, untagged
    plan = aws.plan(bucket())
    assert plan.changes[0].action is Action.CREATE and not plan.changes[0].adopt
    result = aws.apply(plan)
    assert "not owned by stack" in result.failed[ADDRESS]
    assert tags_of(aws.client("s3"), name) == {}  # untouched
    # The refused create made nothing: no intent stays to make a later run adopt that bucket.
    assert aws.store.read().pending == []
    again = aws.plan(bucket())
    assert again.changes[0].action is Action.CREATE and not again.changes[0].adopt
    aws.client("s3").delete_bucket(Bucket=name)


def test_a_settled_intent_is_dropped_when_nothing_was_created(aws):
    hook, fired = kill_before("CreateBucket")
    aws.hooks.append(("before-call", hook))
    assert not aws.apply(aws.plan(bucket())).ok and fired
    aws.hooks.clear()
    assert [p.address for p in aws.store.read().pending] == [ADDRESS]
    aws.converge(bucket())
    assert aws.store.read().pending == []
