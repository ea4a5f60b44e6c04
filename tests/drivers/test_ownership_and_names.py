"""Ownership markers and physical names (DESIGN §4): lepton_cli.drivers.ownership and .names."""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from lepton_cli.drivers import base, ownership
from lepton_cli.drivers.aws import tags as aws_tags
from lepton_cli.drivers.aws.bucket import bucket_name
from lepton_cli.drivers.aws.load_balancer import short_name
from lepton_cli.drivers.names import DNS_LABEL, LOWER_ALNUM, digest, fit, physical_name, unique_name
from lepton_cli.drivers.ownership import (
    LABEL_VALUE_MAX,
    Owner,
    decode_label_value,
    description_marker,
    encode_label_value,
    label_markers,
    owner_from_description,
    owner_from_labels,
    owner_from_tags,
)

LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")
LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")

stacks = st.from_regex(r"[a-z][a-z0-9-]{0,29}", fullmatch=True)
resources = st.from_regex(r"[a-z][a-z0-9-]{0,39}", fullmatch=True)
regions = st.sampled_from(["us-east-1", "europe-west4", "eastus", "ap-southeast-2", "us-central1"])
type_names = st.from_regex(r"(aws|gcp|azure)\.[a-z][a-z0-9_]{0,30}", fullmatch=True)
keys = st.one_of(st.none(), st.from_regex(r"[a-z0-9_.-]{1,20}", fullmatch=True), st.text(min_size=1, max_size=20))


@st.composite
def addresses(draw) -> str:
    """`<resource>/<cloud>.<type>[/<key>]`, including the implicit `network-<region>` resource
    and keys of any characters."""
    resource = draw(st.one_of(resources, regions.map(lambda r: f"network-{r}")))
    key = draw(keys)
    return f"{resource}/{draw(type_names)}" + (f"/{key}" if key is not None else "")


# -- ownership: tags ---------------------------------------------------------------------------------
def test_the_tag_keys_live_in_ownership_and_base_still_exports_them():
    assert (ownership.TAG_STACK, ownership.TAG_NAME) == ("lepton-stack", "lepton-name")
    assert (base.TAG_STACK, base.TAG_NAME) == (ownership.TAG_STACK, ownership.TAG_NAME)


def test_tag_markers_round_trip_and_need_both_keys():
    tags = ownership.markers("shop", "web-lb/aws.lb_listener/80")
    assert tags == {"lepton-stack": "shop", "lepton-name": "web-lb/aws.lb_listener/80"}
    assert owner_from_tags(tags) == Owner("shop", "web-lb/aws.lb_listener/80")
    assert owner_from_tags({"lepton-stack": "shop"}) is None
    assert owner_from_tags({"lepton-name": "web/aws.vpc"}) is None
    assert owner_from_tags(None) is None
    assert ownership.owned_address(tags, "shop") == "web-lb/aws.lb_listener/80"
    assert ownership.owned_address(tags, "other") is None


def test_aws_tags_use_the_ownership_markers():
    listed = aws_tags.tag_list("shop", "web/aws.autoscaling_group")
    assert aws_tags.tag_dict(listed) == ownership.markers("shop", "web/aws.autoscaling_group")
    assert aws_tags.owned_address(listed, "shop") == "web/aws.autoscaling_group"
    assert aws_tags.owned_address(listed, "other") is None
    assert aws_tags.owned_address([{"key": "lepton-stack", "value": "shop"}], "shop") is None
    assert aws_tags.owned_address([{"Key": "Name", "Value": "shop-web"}], "shop") is None
    assert aws_tags.stack_filter("shop") == [{"Name": "tag:lepton-stack", "Values": ["shop"]}]


# -- ownership: GCP labels ---------------------------------------------------------------------------
@given(st.text(max_size=300))
def test_label_encoding_round_trips_any_text(text):
    encoded = encode_label_value(text)
    assert re.fullmatch(r"[a-z0-9_-]*", encoded)
    assert decode_label_value(encoded) == text


@given(st.text(max_size=50), st.text(max_size=50))
def test_label_encoding_is_injective(a, b):
    assume(a != b)
    assert encode_label_value(a) != encode_label_value(b)


@given(stacks)
def test_a_stack_name_is_its_own_label_value(stack):
    assert encode_label_value(stack) == stack
    assert label_markers(stack, "web/gcp.x")["lepton-stack"] == stack
    assert ownership.stack_label_filter(stack) == f'labels.lepton-stack = "{stack}"'


@given(stacks, addresses())
def test_label_markers_are_valid_gcp_labels_and_round_trip(stack, address):
    labels = label_markers(stack, address)
    for key, value in labels.items():
        assert LABEL_KEY.fullmatch(key), key
        assert LABEL_VALUE.fullmatch(value), value
    assert owner_from_labels(labels) == Owner(stack, address)
    # Other labels beside lepton's do not disturb the reading.
    assert owner_from_labels({**labels, "team": "web", "lepton-namex": "1"}) == Owner(stack, address)
    assert ownership.owned_address_from_labels(labels, stack) == address
    assert ownership.owned_address_from_labels(labels, stack + "x") is None


def test_known_label_encodings():
    assert encode_label_value("web-lb/aws.lb_listener/80") == "web-lb_saws_plb__listener_s80"
    assert encode_label_value("network-us-east-1/gcp.subnetwork") == "network-us-east-1_sgcp_psubnetwork"
    assert encode_label_value("A:é") == "_41_3a_c3_a9"


def test_a_long_address_is_split_over_numbered_labels():
    address = "network-southamerica-east1/gcp.region_backend_service/" + "k" * 100
    labels = label_markers("shop", address)
    encoded = encode_label_value(address)
    assert len(encoded) > 2 * LABEL_VALUE_MAX
    assert sorted(labels) == ["lepton-name", "lepton-name-1", "lepton-name-2", "lepton-stack"]
    assert [len(labels[k]) for k in ("lepton-name", "lepton-name-1")] == [63, 63]
    assert labels["lepton-name"] + labels["lepton-name-1"] + labels["lepton-name-2"] == encoded
    assert owner_from_labels(labels) == Owner("shop", address)
    # A missing middle chunk, or a short one, is not a marker: never a wrong owner.
    assert owner_from_labels({k: v for k, v in labels.items() if k != "lepton-name-1"}) is None
    assert owner_from_labels({**labels, "lepton-name": labels["lepton-name"][:-1]}) is None
    assert owner_from_labels({k: v for k, v in labels.items() if k != "lepton-name-2"}) is None  # a lost tail
    assert owner_from_labels({**labels, "lepton-name-3": "x"}) is None


def test_an_encoding_of_exactly_63_characters_ends_with_an_empty_chunk():
    address = "web/aws.x/" + "k" * (63 - len(encode_label_value("web/aws.x/")))
    labels = label_markers("shop", address)
    assert (len(labels["lepton-name"]), labels["lepton-name-1"]) == (63, "")
    assert owner_from_labels(labels) == Owner("shop", address)
    assert owner_from_labels({k: v for k, v in labels.items() if k != "lepton-name-1"}) is None


@pytest.mark.parametrize("value", ["_", "web_", "_x", "_4", "_zz", "_61", "_2d", "_5f", "_c3", "A", "web.lb"])
def test_malformed_or_non_canonical_label_values_are_refused(value):
    with pytest.raises(ValueError):
        decode_label_value(value)
    assert owner_from_labels({"lepton-stack": "shop", "lepton-name": value}) is None


def test_labels_without_a_complete_marker_have_no_owner():
    assert owner_from_labels(None) is None
    assert owner_from_labels({"lepton-stack": "shop"}) is None
    assert owner_from_labels({"lepton-name": "web_sgcp_px"}) is None
    assert owner_from_labels({"lepton-stack": "shop", "lepton-name": ""}) is None


# -- ownership: description marker -------------------------------------------------------------------
@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=120), st.text(max_size=30), st.text(max_size=30))
def test_description_markers_round_trip_inside_other_text(stack, address, before, after):
    assume("lepton:" not in before)
    marker = description_marker(stack, address)
    assert owner_from_description(marker) == Owner(stack, address)
    separator = " " if before else ""
    assert owner_from_description(f"{before}{separator}{marker} {after}") == Owner(stack, address)


def test_description_marker_format():
    marker = description_marker("shop", "assets-cdn/aws.cloudfront_oac")
    assert marker == "lepton:stack=shop;name=assets-cdn/aws.cloudfront_oac"
    assert owner_from_description(f"origin access for the CDN ({marker})") == Owner("shop", "assets-cdn/aws.cloudfront_oac")
    assert ownership.owned_address_from_description(marker, "shop") == "assets-cdn/aws.cloudfront_oac"
    assert ownership.owned_address_from_description(marker, "shopx") is None
    for text in (None, "", "lepton stack shop", "lepton:stack=shop", "lepton:name=x;stack=shop"):
        assert owner_from_description(text) is None


# -- names: the AWS names existing stacks already have ------------------------------------------------
def legacy_bucket_name(stack: str, name: str, account: str) -> str:
    """The S3 bucket name lepton gave before names.py existed (kept here as the reference)."""
    h = hashlib.sha256(f"{stack}/{name}/{account}".encode()).hexdigest()[:8]
    return f"{stack}-{name}"[: 63 - 9] + f"-{h}"


def legacy_short_name(*parts: str) -> str:
    """The ELB name lepton gave before names.py existed (kept here as the reference)."""
    full = "-".join(parts)
    if len(full) <= 32:
        return full
    return f"{full[:25].rstrip('-')}-{hashlib.sha256(full.encode()).hexdigest()[:6]}"


@pytest.mark.parametrize(("stack", "name", "account", "expected"), [
    ("shop", "assets", "123456789012", "shop-assets-0a6926ad"),
    ("t1234abcd", "data", "000000000000", "t1234abcd-data-e866a9e6"),
    ("a" * 30, "b" * 40, "123456789012", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbbbbbbbbb-9a8546dd"),
    ("s", "x-" * 20, "1", "s-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x--9e6b7e0b"),
])
def test_bucket_names_are_unchanged(stack, name, account, expected):
    assert bucket_name(stack, name, account) == expected


@pytest.mark.parametrize(("parts", "expected"), [
    (("shop", "web-lb"), "shop-web-lb"),
    (("shop", "web-lb", "8080"), "shop-web-lb-8080"),
    (("a" * 30, "b" * 40), "aaaaaaaaaaaaaaaaaaaaaaaaa-41fbb6"),
    (("a" * 30, "b" * 40, "80"), "aaaaaaaaaaaaaaaaaaaaaaaaa-76d95a"),
    (("abcdefghijklmnopqrstuvwx", "y-z", "1"), "abcdefghijklmnopqrstuvwx-y-z-1"),
    (("abc", "defghijklmnopqrstuvwxy-z-----------", "1"), "abc-defghijklmnopqrstuvwx-c64ac6"),
])
def test_load_balancer_names_are_unchanged(parts, expected):
    assert short_name(*parts) == expected


@given(stacks, resources, st.from_regex(r"[0-9]{12}", fullmatch=True))
def test_bucket_names_match_the_legacy_formula_for_every_valid_name(stack, resource, account):
    assert bucket_name(stack, resource, account) == legacy_bucket_name(stack, resource, account)


@given(stacks, resources, st.lists(st.from_regex(r"[0-9]{1,5}", fullmatch=True), max_size=1))
def test_load_balancer_names_match_the_legacy_formula_for_every_valid_name(stack, resource, port):
    assert short_name(stack, resource, *port) == legacy_short_name(stack, resource, *port)


# -- names: limits, determinism, uniqueness -----------------------------------------------------------
@given(stacks, resources, st.lists(st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True), max_size=2),
       st.integers(min_value=8, max_value=80))
def test_physical_names_fit_their_limit_and_are_deterministic(stack, resource, suffix, limit):
    name = physical_name(stack, resource, *suffix, limit=limit)
    assert len(name) <= limit
    assert re.fullmatch(r"[a-z0-9-]+", name)
    assert name == physical_name(stack, resource, *suffix, limit=limit)
    full = "-".join((stack, resource, *suffix))
    if len(full) <= limit:
        assert name == full
    else:
        assert name.endswith("-" + digest(full, 6))
        assert full.startswith(name[: -7])


@given(stacks, resources, resources, st.integers(min_value=10, max_value=40))
def test_cut_names_stay_unique(stack, a, b, limit):
    assume(a != b)
    assert physical_name(stack, a, limit=limit) != physical_name(stack, b, limit=limit)


def test_a_cut_name_does_not_end_its_readable_part_with_a_hyphen():
    assert fit("shop-abcd-efghijkl", 17) == "shop-abcd-" + digest("shop-abcd-efghijkl", 6)


def test_names_outside_the_character_set_are_cleaned_and_hashed():
    name = fit("Shop_Web.Lb", 63)
    assert re.fullmatch(r"[a-z0-9-]+", name)
    assert name == "shop-web-lb-" + digest("Shop_Web.Lb", 6)
    assert fit("shop-web-lb", 63) == "shop-web-lb"  # the clean spelling stays unhashed, and differs
    assert fit("ab", 24, min_length=3) == "ab-" + digest("ab", 6)


@given(stacks, resources, st.from_regex(r"[0-9a-f-]{36}", fullmatch=True))
def test_azure_storage_account_names(stack, resource, subscription):
    name = unique_name(stack, resource, subscription, limit=24, charset=LOWER_ALNUM)
    assert re.fullmatch(r"[a-z0-9]{3,24}", name)
    assert name == unique_name(stack, resource, subscription, limit=24, charset=LOWER_ALNUM)
    assert name.endswith(digest(f"{stack}/{resource}/{subscription}", 8))
    assume(subscription != subscription[::-1])
    other = unique_name(stack, resource, subscription[::-1], limit=24, charset=LOWER_ALNUM)
    assert other != name  # another subscription, another name


@given(stacks, resources, resources)
def test_lower_alnum_physical_names_keep_hyphen_only_differences_apart(stack, a, b):
    assume(a != b)
    name = physical_name(stack, a, limit=24, charset=LOWER_ALNUM)
    assert re.fullmatch(r"[a-z0-9]{6,24}", name)
    assert name != physical_name(stack, b, limit=24, charset=LOWER_ALNUM)


def test_lower_alnum_runs_parts_together():
    assert physical_name("shop", "web-1", limit=24, charset=LOWER_ALNUM) == "shopweb1" + digest("shop-web-1", 6)
    assert physical_name("shop", "web1", limit=24, charset=LOWER_ALNUM) != physical_name(
        "shop", "web-1", limit=24, charset=LOWER_ALNUM)


@given(stacks, resources, st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=20))
def test_unique_names_depend_on_the_account(stack, resource, one, two):
    assume(one != two)
    assert unique_name(stack, resource, one, limit=63) != unique_name(stack, resource, two, limit=63)
    assert len(unique_name(stack, resource, one, limit=63)) <= 63


def test_a_limit_too_small_for_the_hash_is_an_error():
    with pytest.raises(ValueError):
        fit("x" * 10, 5)
    with pytest.raises(ValueError):
        unique_name("shop", "data", "1", limit=8)
    assert DNS_LABEL.allows("shop-web") and not LOWER_ALNUM.allows("shop-web")
