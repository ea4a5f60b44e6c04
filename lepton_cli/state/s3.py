"""The s3 state backend: an `ObjectStore` over one S3 bucket, with S3's conditional writes
(`If-None-Match: *` to create, `If-Match: ETag` to replace or delete).

Credentials come from boto3's default chain (environment, profile, instance role), never from
the plan file. With `--sandbox` it talks to the sandbox's moto S3 with the sandbox's dummy keys.
boto3 is imported on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lepton_cli.errors import Diagnostic, StateError
from lepton_cli.state.remote import Blob, ConditionFailed, ObjectStore

# S3 error code -> (summary, hint) for what the user must fix; {bucket}, {region} and
# {actual} (the bucket's region, when S3 says it) are filled in.
_USER_ERRORS: dict[str, tuple[str, str]] = {
    "NoSuchBucket": ("state bucket {bucket} does not exist",
                     "create it first (e.g. `aws s3 mb s3://{bucket} --region {region}`, ideally with versioning "
                     "on); lepton never creates the bucket that holds its state"),
    "AccessDenied": ("access to state bucket {bucket} was denied",
                     "the AWS credentials in use (boto3's default chain: AWS_PROFILE, AWS_ACCESS_KEY_ID, an "
                     "instance role) need s3:GetObject, s3:PutObject and s3:DeleteObject on {bucket}/*"),
    "AllAccessDisabled": ("access to state bucket {bucket} was denied", "the bucket has all access disabled"),
    "InvalidAccessKeyId": ("the AWS credentials were refused by S3 (unknown access key)",
                           "check AWS_PROFILE / AWS_ACCESS_KEY_ID; credentials never come from the plan file"),
    "SignatureDoesNotMatch": ("the AWS credentials were refused by S3 (wrong secret key)",
                              "check AWS_PROFILE / AWS_SECRET_ACCESS_KEY"),
    "PermanentRedirect": ("state bucket {bucket} is not in region {region}{actual}",
                          "set `region:` in the plan file's backend block to the bucket's region"),
    "AuthorizationHeaderMalformed": ("state bucket {bucket} is not in region {region}{actual}",
                                     "set `region:` in the plan file's backend block to the bucket's region"),
    "IllegalLocationConstraintException": ("state bucket {bucket} is not in region {region}{actual}",
                                           "set `region:` in the plan file's backend block to the bucket's region"),
}
_CONDITION_FAILED = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}
_ABSENT = {"NoSuchKey", "404", "NotFound"}
SANDBOX_SERVICE = "aws"  # the sandbox endpoint that serves S3 (moto)


class S3Objects(ObjectStore):
    def __init__(self, bucket: str, region: str | None, *, sandbox: bool = False,
                 endpoint: Callable[[], str] | None = None):
        self.bucket = bucket
        self.region = region
        self.sandbox = sandbox
        self._endpoint = endpoint  # called once, when the first request is made
        self._client: Any = None

    def settings(self) -> dict:
        return {"type": "s3", "bucket": self.bucket, "region": self.region}

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    @property
    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config

            options: dict[str, Any] = {"config": Config(retries={"mode": "standard", "max_attempts": 5})}
            session = boto3.session.Session()
            if self.sandbox:
                from lepton_cli.drivers.aws.driver import SANDBOX_CREDENTIALS

                session = boto3.session.Session(**SANDBOX_CREDENTIALS)
                options["endpoint_url"] = self._endpoint() if self._endpoint else None
                options["config"] = options["config"].merge(Config(s3={"addressing_style": "path"}))
            self.region = self.region or session.region_name or "us-east-1"
            self._client = session.client("s3", region_name=self.region, **options)
        return self._client

    def _call(self, method: str, **params) -> Any:
        """One S3 call; a problem the user must fix becomes one clear StateError."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            return getattr(self.client, method)(Bucket=self.bucket, **params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            if code in _CONDITION_FAILED:
                raise ConditionFailed(code) from None
            if code in _ABSENT:
                raise KeyError(params.get("Key")) from None
            headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            actual = headers.get("x-amz-bucket-region") or error.get("Region")
            if code in _USER_ERRORS:
                summary, hint = _USER_ERRORS[code]
                fill = {"bucket": self.bucket, "region": self.region,
                        "actual": f" (it is in {actual})" if actual and actual != self.region else ""}
                raise StateError(Diagnostic(summary=summary.format(**fill), hint=hint.format(**fill))) from None
            raise StateError(f"S3 refused {method} on {self.url(params.get('Key', ''))}: "
                             f"{code} {error.get('Message', '')}".rstrip()) from None
        except NoCredentialsError:
            raise StateError(Diagnostic(
                summary=f"no AWS credentials to reach state bucket {self.bucket}",
                hint="configure boto3's default chain (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                     "an instance role); credentials never come from the plan file")) from None
        except BotoCoreError as exc:
            raise StateError(f"cannot reach state bucket {self.bucket}: {exc}") from None

    def get(self, key: str) -> Blob | None:
        try:
            answer = self._call("get_object", Key=key)
        except KeyError:
            return None
        return Blob(answer["Body"].read(), answer["ETag"])

    def put(self, key: str, data: bytes, *, if_version: str | None = None, if_absent: bool = False) -> str:
        condition = {"IfMatch": if_version} if if_version else {"IfNoneMatch": "*"} if if_absent else {}
        try:
            answer = self._call("put_object", Key=key, Body=data, ContentType="application/json", **condition)
        except KeyError:  # If-Match on an object that is gone: not the version we read either
            raise ConditionFailed("NoSuchKey") from None
        return answer["ETag"]

    def delete(self, key: str, *, if_version: str | None = None) -> None:
        try:
            self._call("delete_object", Key=key, **({"IfMatch": if_version} if if_version else {}))
        except KeyError:
            pass
