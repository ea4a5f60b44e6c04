"""Shared machinery of the AWS primitive types: the driver's stack, tags, batched listing of
EC2-style objects filtered by the stack's tag, and the one way every type makes its create call
(`AwsType.create_call`)."""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from lepton_cli.drivers.aws.discovery import GLOBAL
from lepton_cli.drivers.aws.errors import error_code
from lepton_cli.drivers.aws.errors import translate  # noqa: F401 (the AWS types' one import)
from lepton_cli.drivers.aws.tags import owned_address, stack_filter, tag_dict, tag_list
from lepton_cli.drivers.base import TAG_NAME, Observed, Primitive, PrimitiveType
from lepton_cli.errors import CloudError, Diagnostic, LeptonError, OwnershipError

if TYPE_CHECKING:
    from lepton_cli.drivers.aws.discovery import AwsDiscovery
    from lepton_cli.drivers.aws.driver import AwsDriver

CREATE_ATTEMPTS = 8  # attempts of one create call (botocore makes up to 9 of any other call)


def client_token(stack: str, address: str, params: dict[str, Any]) -> str:
    """An idempotency token for a create: the same for every attempt of the same create (a
    retry, or a re-run after a crash), another for a successor at the same address, which asks
    for something else. 64 hex characters: EC2's limit for a ClientToken."""
    text = json.dumps([stack, address, params], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _retry_policy():
    """botocore's standard retry policy: its classification of retryable errors (throttling,
    5xx, lost connections, modeled retryable errors) and its jittered exponential backoff."""
    from botocore.retries.standard import (ExponentialBackoff, RetryEventAdapter, RetryPolicy,
                                           StandardRetryConditions, ThrottlingErrorDetector)

    return RetryPolicy(StandardRetryConditions(max_attempts=CREATE_ATTEMPTS),
                       ExponentialBackoff(throttling_detector=ThrottlingErrorDetector(RetryEventAdapter())))


def _retry_context(cause: BaseException, attempt: int, model):
    """A failed attempt as botocore's retry policy reads one."""
    from botocore.awsrequest import AWSResponse
    from botocore.exceptions import ClientError
    from botocore.retries.standard import RetryContext

    if not isinstance(cause, ClientError):
        return RetryContext(attempt, model, caught_exception=cause)
    meta = cause.response.get("ResponseMetadata", {})
    http = AWSResponse(None, meta["HTTPStatusCode"], meta.get("HTTPHeaders", {}), None) \
        if "HTTPStatusCode" in meta else None
    return RetryContext(attempt, model, parsed_response=cause.response, http_response=http)


class AwsType(PrimitiveType):
    driver: "AwsDriver"

    @property
    def stack(self) -> str:
        return self.driver.config.stack

    def client(self, service: str, region: str):
        return self.driver.client(service, region)

    # A global service's type (CloudFront) lists once, in its pseudo-region "global"; a
    # regional type never lists there.
    global_service: ClassVar[bool] = False

    def regions(self, regions: set[str]) -> set[str]:
        return regions & {GLOBAL} if self.global_service else regions - {GLOBAL}

    def tags(self, address: str, name: str | None = None) -> list[dict[str, str]]:
        tags = tag_list(self.stack, address)
        if name:
            tags.append({"Key": "Name", "Value": name})
        return tags

    def owned(self, tags) -> str | None:
        return owned_address(tags, self.stack)

    def discovery(self, region: str) -> "AwsDiscovery":
        """The driver's discovery of `region`, made once per refresh: what `list` starts from.
        Never used by create/update/delete, which must see the cloud as it is now."""
        return self.driver.discovery(region)

    def adoptable(self, found: Observed, address: str, properties: dict[str, Any]) -> bool:
        """Whether an object found carrying `address` is this create's own earlier attempt (to
        adopt) rather than the predecessor of a replacement, which differs in a property that
        forces replacement and must be left for its own delete."""
        return found.address == address and all(
            found.properties.get(key) == properties.get(key) for key in self.replace_on if key in found.properties)

    def claim(self, kind: str, name: str, primitive: Primitive, properties: dict[str, Any], found: Observed,
              tags) -> None:
        """Raise unless `found`, holding the unique name this create wants, is this create's
        adoptable earlier attempt: someone else's is refused; this address's predecessor (which
        differs in what forces replacement) must be deleted first."""
        if self.owned(tags) != primitive.address:
            raise self.refuse_foreign(kind, name, primitive.address, tags)
        if not self.adoptable(found, primitive.address, properties):
            raise LeptonError(Diagnostic(
                summary=f"the {kind} name {name!r} is still held by the object this one replaces",
                address=primitive.address, hint="run lepton apply again once it is deleted"))

    def differs(self, primitive: Primitive, current: Observed, properties: dict[str, Any]) -> set[str]:
        """The properties an adopted earlier attempt still lacks (what its update must set)."""
        wanted = self.normalize(dict(properties))
        canonical = lambda value: json.dumps(value, sort_keys=True, default=str)  # noqa: E731
        return {key for key, value in wanted.items()
                if key not in self.local | primitive.ignore_changes
                and canonical(value) != canonical(current.properties.get(key))}

    def create_call(self, primitive: Primitive, action: str, service: str, operation: str, params: dict[str, Any],
                    pick: Callable[[dict[str, Any]], Any] = lambda response: response,
                    find: Callable[[], Any] | None = None, taken: tuple[str, ...] = ()) -> Any:
        """Make a create call with botocore's retries off and retry it here, so a create whose
        answer was lost (a 500 after the work was done) never makes a second object.

        Every idempotency token the operation declares (EC2's ClientToken) is filled with
        `client_token`. After a retryable failure (botocore's own classification), and after an
        error saying the object already exists (`taken`: a unique name), `find()` looks for this
        create's earlier attempt, asked now by its ownership marker or name (it raises
        `OwnershipError` for a foreign holder of the name): what it finds is returned, else the
        call is retried after botocore's jittered exponential backoff, at most CREATE_ATTEMPTS
        times. Returns `pick(response)`, or what `find()` found (the same shape)."""
        client = self.driver.client(service, primitive.region, retries=False)
        model = client.meta.service_model.operation_model(client.meta.method_to_api_mapping[operation])
        params = {**params, **{member: client_token(self.stack, primitive.address, params)
                               for member in model.idempotent_members}}
        policy = _retry_policy()
        for attempt in itertools.count(1):
            try:
                with translate(action, primitive.address):
                    return pick(getattr(client, operation)(**params))
            except CloudError as exc:
                if exc.__cause__ is None:
                    raise
                context = _retry_context(exc.__cause__, attempt, model)
                retry = policy.should_retry(context)
                if not retry and error_code(exc.__cause__) not in taken:
                    raise
                found = find() if find is not None else None
                if found is not None:
                    return found
                if not retry:
                    raise
                time.sleep(policy.compute_retry_delay(context))

    def paginate(self, service: str, region: str, operation: str, key: str, page_size: int | None = None,
                 **kwargs) -> Iterator[dict[str, Any]]:
        """Every item of a paginated describe call, with the SDK's paginator. `page_size` asks
        for the API's largest page (fewer calls; and some emulators truncate a default-sized
        page without a continuation token)."""
        client = self.client(service, region)
        config = {"PageSize": page_size} if page_size else {}
        with translate(f"listing {key} in {region}"):
            for page in client.get_paginator(operation).paginate(PaginationConfig=config, **kwargs):
                yield from page.get(key, [])

    def ec2_owned(self, region: str, operation: str, key: str, kind: str | None = None,
                  page_size: int | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """(address, item) for every EC2 object of the stack: one filtered, paginated call, and
        none at all when discovery found no tagged object of its `kind` (`ec2:vpc`...) here."""
        if kind is not None and not self.discovery(region).arns(kind):
            return
        for item in self.paginate("ec2", region, operation, key, page_size=page_size, Filters=stack_filter(self.stack)):
            address = self.owned(item.get("Tags"))
            if address:
                yield address, item

    def ec2_find(self, primitive: Primitive, properties: dict[str, Any], operation: str, key: str,
                 observe: Callable[[str, str, dict[str, Any]], Observed]) -> dict[str, Any] | None:
        """The object carrying this primitive's address, asked now (never discovery's earlier
        answer), if it is an adoptable earlier attempt of this create (`observe` reads an item
        as `list` does)."""
        filters = stack_filter(self.stack) + [{"Name": f"tag:{TAG_NAME}", "Values": [primitive.address]}]
        for item in self.paginate("ec2", primitive.region, operation, key, Filters=filters):
            if self.adoptable(observe(primitive.address, primitive.region, item), primitive.address, properties):
                return item
        return None

    def refuse_foreign(self, kind: str, name: str, address: str, tags=None) -> OwnershipError:
        """The error for an object that has the name lepton wants but is not this stack's."""
        holder = tag_dict(tags).get("lepton-stack")
        detail = f"it belongs to lepton stack {holder!r}" if holder else "it does not carry this stack's lepton tags"
        return OwnershipError(Diagnostic(
            summary=f"a {kind} named {name!r} already exists and is not owned by stack {self.stack}",
            detail=detail + "; lepton never adopts, changes or deletes what it does not own",
            address=address,
            hint="rename or remove that object yourself, or choose another stack or resource name",
        ))


def name_tag(item: dict[str, Any]) -> str | None:
    return tag_dict(item.get("Tags")).get("Name")


def concurrently(function: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    """`[function(item) for item in items]`, run concurrently when there are several: for the
    reads an API makes one object at a time (a small constant per object, DESIGN §6)."""
    if len(items) <= 1:
        return [function(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(16, len(items)), thread_name_prefix="aws-read") as pool:
        return list(pool.map(function, items))
