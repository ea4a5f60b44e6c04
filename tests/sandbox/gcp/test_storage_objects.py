"""The Cloud Storage emulator's objects, driven only through google-cloud-storage: uploads
(multipart, resumable), downloads, checksums, generations, listing and preconditions."""

from __future__ import annotations

import base64
import hashlib

import google_crc32c
import pytest
from google.api_core import exceptions as gexc

from tests.sandbox.gcp.storage_server import client, serve


@pytest.fixture(scope="module")
def gcs():
    with serve() as url:
        yield client(url)


@pytest.fixture
def bucket(gcs, request):
    name = request.node.name.replace("_", "-").lower()[:50].strip("-")
    made = gcs.bucket(name)
    made.iam_configuration.uniform_bucket_level_access_enabled = True
    return gcs.create_bucket(made)


@pytest.fixture
def versioned(gcs, request):
    made = gcs.bucket(request.node.name.replace("_", "-").lower()[:45].strip("-") + "-v")
    made.versioning_enabled = True
    return gcs.create_bucket(made)


def digests(data: bytes) -> tuple[str, str]:
    return (base64.b64encode(hashlib.md5(data).digest()).decode(),
            base64.b64encode(google_crc32c.value(data).to_bytes(4, "big")).decode())


def test_small_upload_round_trip_with_checksums(bucket):
    blob = bucket.blob("dir/hello.txt")
    blob.upload_from_string(b"hello world", content_type="text/plain")
    blob.metadata = {"owner": "me"}
    blob.patch()
    got = bucket.blob("dir/hello.txt")
    got.reload()
    assert (got.md5_hash, got.crc32c) == digests(b"hello world")
    assert got.size == 11 and got.content_type == "text/plain"
    assert got.metadata == {"owner": "me"} and got.metageneration == 2
    assert got.generation == blob.generation and got.time_created is not None
    assert got.download_as_bytes() == b"hello world"


def test_media_upload_and_name_with_slashes_and_specials(bucket):
    blob = bucket.blob("a/acl")  # the object "a/acl", not the ACL of "a"
    blob.upload_from_string(b"x", if_generation_match=0)
    odd = bucket.blob("odd name?#%.txt")
    odd.upload_from_file(__import__("io").BytesIO(b"y"), size=1)
    assert sorted(b.name for b in bucket.list_blobs()) == ["a/acl", "odd name?#%.txt"]
    assert bucket.blob("odd name?#%.txt").download_as_bytes() == b"y"


def test_resumable_upload_in_chunks(bucket):
    body = bytes(range(256)) * (600 * 4)  # 600 KiB
    blob = bucket.blob("big.bin")
    blob.chunk_size = 256 * 1024
    blob.upload_from_string(body, content_type="application/x-test")
    got = bucket.blob("big.bin")
    got.reload()
    assert got.size == len(body) and (got.md5_hash, got.crc32c) == digests(body)
    assert got.content_type == "application/x-test"
    assert got.download_as_bytes() == body
    assert got.download_as_bytes(start=1000, end=1009) == body[1000:1010]
    assert got.download_as_bytes(start=-5) == body[-5:]
    assert got.download_as_bytes(start=len(body) - 3) == body[-3:]


def test_upload_with_wrong_checksum_refused(bucket):
    blob = bucket.blob("bad-sum")
    blob.crc32c = digests(b"other")[1]  # sent in the upload's metadata, checked by the service
    with pytest.raises(gexc.BadRequest):
        blob.upload_from_string(b"body", checksum=None)
    assert not bucket.get_blob("bad-sum")


def test_missing_object_and_bucket(gcs, bucket):
    with pytest.raises(gexc.NotFound):
        bucket.blob("nope").download_as_bytes()
    with pytest.raises(gexc.NotFound):
        bucket.blob("nope").delete()
    assert bucket.get_blob("nope") is None
    with pytest.raises(gexc.NotFound):
        gcs.bucket("no-such-bucket-here").blob("x").upload_from_string(b"x")


def test_preconditions(bucket):
    blob = bucket.blob("guarded")
    blob.upload_from_string(b"first", if_generation_match=0)
    with pytest.raises(gexc.PreconditionFailed):
        bucket.blob("guarded").upload_from_string(b"second", if_generation_match=0)
    with pytest.raises(gexc.PreconditionFailed):
        bucket.blob("guarded").upload_from_string(b"second", if_generation_match=blob.generation + 1)
    bucket.blob("guarded").upload_from_string(b"second", if_generation_match=blob.generation)
    with pytest.raises(gexc.PreconditionFailed):
        bucket.blob("guarded").delete(if_generation_match=blob.generation)  # replaced since
    with pytest.raises(gexc.PreconditionFailed):
        bucket.blob("guarded").reload(if_metageneration_match=5)
    current = bucket.get_blob("guarded").generation
    with pytest.raises(gexc.PreconditionFailed):
        bucket.blob("guarded").upload_from_string(b"third", if_generation_not_match=current)
    assert bucket.blob("guarded").download_as_bytes() == b"second"


def test_resumable_precondition(bucket):
    bucket.blob("r").upload_from_string(b"exists")
    blob = bucket.blob("r")
    blob.chunk_size = 256 * 1024
    with pytest.raises(gexc.PreconditionFailed):
        blob.upload_from_string(b"z" * (300 * 1024), if_generation_match=0)
    assert bucket.blob("r").download_as_bytes() == b"exists"


def test_unversioned_overwrite_and_delete_are_final(bucket, gcs):
    blob = bucket.blob("f")
    blob.upload_from_string(b"1")
    first = blob.generation
    bucket.blob("f").upload_from_string(b"2")
    versions = list(gcs.list_blobs(bucket, versions=True))
    assert len(versions) == 1 and versions[0].generation > first
    with pytest.raises(gexc.NotFound):
        bucket.blob("f", generation=first).download_as_bytes()
    bucket.blob("f").delete()
    assert list(gcs.list_blobs(bucket, versions=True)) == []


def test_versioned_keeps_noncurrent_generations(versioned, gcs):
    versioned.blob("doc").upload_from_string(b"v1")
    versioned.blob("doc").upload_from_string(b"v2")
    versioned.blob("doc").delete()  # the live one becomes noncurrent
    versions = sorted(gcs.list_blobs(versioned, versions=True), key=lambda b: b.generation)
    assert [b.name for b in versions] == ["doc", "doc"]
    assert all(b.time_deleted is not None for b in versions)
    assert list(gcs.list_blobs(versioned)) == []
    assert [versioned.blob("doc", generation=b.generation).download_as_bytes() for b in versions] == [b"v1", b"v2"]
    old = versioned.get_blob("doc", generation=versions[0].generation)
    assert old.md5_hash == digests(b"v1")[0]
    versioned.blob("doc", generation=versions[0].generation).delete()
    assert [b.generation for b in gcs.list_blobs(versioned, versions=True)] == [versions[1].generation]


def test_generations_increase(bucket):
    generations = []
    for body in (b"a", b"b", b"c"):
        blob = bucket.blob("g")
        blob.upload_from_string(body)
        generations.append(blob.generation)
    assert generations == sorted(set(generations))


def test_list_prefix_delimiter_and_pages(bucket, gcs):
    for name in ["a/1", "a/2", "a/b/3", "b/1", "c", "d", "e"]:
        bucket.blob(name).upload_from_string(name.encode())
    listed = gcs.list_blobs(bucket, delimiter="/")
    assert [b.name for b in listed] == ["c", "d", "e"] and listed.prefixes == {"a/", "b/"}
    listed = gcs.list_blobs(bucket, prefix="a/", delimiter="/")
    assert [b.name for b in listed] == ["a/1", "a/2"] and listed.prefixes == {"a/b/"}
    pages = [[b.name for b in page] for page in gcs.list_blobs(bucket, page_size=3).pages]
    assert pages == [["a/1", "a/2", "a/b/3"], ["b/1", "c", "d"], ["e"]]
    assert [b.name for b in gcs.list_blobs(bucket, max_results=1, versions=True)] == ["a/1"]


def test_copy_and_rewrite(bucket, gcs):
    source = bucket.blob("src")
    source.upload_from_string(b"payload", content_type="text/plain")
    copied = bucket.copy_blob(source, bucket, "copy")
    assert copied.download_as_bytes() == b"payload" and copied.content_type == "text/plain"
    target = bucket.blob("rewritten")
    token, done, total = target.rewrite(source)
    assert token is None and done == total == 7
    assert target.download_as_bytes() == b"payload" and target.md5_hash == source.md5_hash


def test_object_name_rules(bucket):
    with pytest.raises(gexc.BadRequest):
        bucket.blob("line\nbreak").upload_from_string(b"x")
    with pytest.raises(gexc.BadRequest):
        bucket.blob("x" * 1025).upload_from_string(b"x")


def test_concurrent_creates_with_generation_zero_have_exactly_one_winner(bucket):
    from concurrent.futures import ThreadPoolExecutor

    def attempt(i: int) -> bool:
        try:
            bucket.blob("lock").upload_from_string(f"holder {i}".encode(), if_generation_match=0)
            return True
        except gexc.PreconditionFailed:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        wins = list(pool.map(attempt, range(16)))
    assert wins.count(True) == 1
    assert bucket.blob("lock").download_as_bytes() == f"holder {wins.index(True)}".encode()


def test_object_metadata_patch_preconditions(bucket):
    blob = bucket.blob("meta")
    blob.upload_from_string(b"x")
    blob.metadata = {"a": "1"}
    with pytest.raises(gexc.PreconditionFailed):
        blob.patch(if_metageneration_match=2)
    blob.patch(if_metageneration_match=1)
    assert bucket.get_blob("meta").metageneration == 2


def test_versions_paginate_within_one_name(versioned, gcs):
    for body in (b"1", b"2", b"3"):
        versioned.blob("same").upload_from_string(body)
    versioned.blob("z").upload_from_string(b"z")
    listed = gcs.list_blobs(versioned, versions=True, page_size=2)
    pages = [[(b.name, b.generation) for b in page] for page in listed.pages]
    assert [len(p) for p in pages] == [2, 2]
    flat = [entry for page in pages for entry in page]
    assert [name for name, _ in flat] == ["same", "same", "same", "z"]
    assert [gen for _, gen in flat[:3]] == sorted(gen for _, gen in flat[:3])
