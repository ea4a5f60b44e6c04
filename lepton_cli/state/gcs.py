"""The gcs state backend: an `ObjectStore` over one Cloud Storage bucket, with GCS's
preconditions (`ifGenerationMatch=0` to create, `ifGenerationMatch=<generation>` to replace or
delete).

Credentials come from Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, `gcloud
auth application-default login`, the metadata server), never from the plan file. With
`--sandbox` it talks to the sandbox's Cloud Storage emulator with anonymous credentials.
google-cloud-storage is imported on first use. A bucket with object versioning keeps the
previous state itself; otherwise the previous version is kept as a `.backup` object.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lepton_cli.errors import Diagnostic, StateError
from lepton_cli.state.remote import Blob, ConditionFailed, ObjectStore, missing_sdk

SANDBOX_SERVICE = "gcs"  # the sandbox endpoint that serves Cloud Storage
SANDBOX_PROJECT = "lepton-sandbox"
_ROLE_HINT = ("the credentials in use (Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS, "
              "`gcloud auth application-default login`, a service account) need roles/storage.objectUser "
              "(storage.objects.get, create, delete) on gs://{bucket}")
# HTTP status -> (summary, hint) for what the user must fix; {bucket} is filled in.
_USER_ERRORS: dict[int, tuple[str, str]] = {
    401: ("the Google Cloud credentials were refused by Cloud Storage",
          "refresh them (`gcloud auth application-default login`) or check GOOGLE_APPLICATION_CREDENTIALS"),
    403: ("access to state bucket {bucket} was denied", _ROLE_HINT),
}
_NO_BUCKET = ("state bucket {bucket} does not exist",
              "create it first (e.g. `gcloud storage buckets create gs://{bucket} --location=US`, ideally with "
              "versioning on); lepton never creates the bucket that holds its state")


class GcsObjects(ObjectStore):
    def __init__(self, bucket: str, *, sandbox: bool = False, endpoint: Callable[[], str] | None = None):
        self.bucket = bucket
        self.sandbox = sandbox
        self._endpoint = endpoint  # called once, when the first request is made
        self._bucket: Any = None
        self._versioned: bool | None = None

    def settings(self) -> dict:
        return {"type": "gcs", "bucket": self.bucket}

    def url(self, key: str) -> str:
        return f"gs://{self.bucket}/{key}"

    @property
    def handle(self):
        """The bucket (no request made): the sandbox's emulator anonymously, or ADC."""
        if self._bucket is None:
            try:
                from google.cloud import storage
            except ImportError as exc:
                raise missing_sdk("gcs", "gcp", exc) from None

            if self.sandbox:
                from google.auth.credentials import AnonymousCredentials

                client = storage.Client(project=SANDBOX_PROJECT, credentials=AnonymousCredentials(),
                                        client_options={"api_endpoint": self._endpoint() if self._endpoint else None})
            else:
                from google.auth.exceptions import DefaultCredentialsError

                try:
                    client = storage.Client()
                except DefaultCredentialsError as exc:
                    raise self._no_credentials(exc) from None
            self._bucket = client.bucket(self.bucket)
        return self._bucket

    def _call(self, key: str, action: Callable[[Any], Any]) -> Any:
        """One call on the object `key`; a problem the user must fix becomes one clear StateError.
        Raises KeyError when the object does not exist, ConditionFailed on a failed precondition."""
        bucket = self.handle  # (first: a missing SDK is named before anything else is imported)
        from google.api_core import exceptions
        from google.auth.exceptions import DefaultCredentialsError, RefreshError, TransportError

        try:
            return action(bucket.blob(key))
        except exceptions.PreconditionFailed:
            raise ConditionFailed("412") from None
        except exceptions.NotFound as exc:
            if "bucket does not exist" in str(exc.message):
                self._user_error(_NO_BUCKET)
            raise KeyError(key) from None
        except exceptions.GoogleAPICallError as exc:
            if exc.code in _USER_ERRORS:
                self._user_error(_USER_ERRORS[exc.code])
            raise StateError(f"Cloud Storage refused a request on {self.url(key)}: {exc.code} {exc.message}") \
                from None
        except (DefaultCredentialsError, RefreshError) as exc:
            raise self._no_credentials(exc) from None
        except (TransportError, OSError) as exc:
            raise StateError(f"cannot reach state bucket {self.bucket}: {exc}") from None

    def _no_credentials(self, exc: Exception) -> StateError:
        return StateError(Diagnostic(
            summary=f"no usable Google Cloud credentials to reach state bucket {self.bucket}",
            detail=str(exc).splitlines()[0] if str(exc) else "",
            hint="run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS; "
                 "credentials never come from the plan file"))

    def _user_error(self, entry: tuple[str, str]) -> None:
        summary, hint = entry
        raise StateError(Diagnostic(summary=summary.format(bucket=self.bucket),
                                    hint=hint.format(bucket=self.bucket))) from None

    def get(self, key: str) -> Blob | None:
        def read(blob: Any) -> Blob:
            data = blob.download_as_bytes()  # sets blob.generation from the response
            return Blob(data, str(blob.generation))

        try:
            return self._call(key, read)
        except KeyError:
            return None

    def put(self, key: str, data: bytes, *, if_version: str | None = None, if_absent: bool = False) -> str:
        generation = int(if_version) if if_version else 0 if if_absent else None

        def write(blob: Any) -> str:
            blob.upload_from_string(data, content_type="application/json", if_generation_match=generation)
            return str(blob.generation)

        try:
            return self._call(key, write)
        except KeyError:  # (only a missing bucket is a 404 on upload; kept for symmetry)
            raise ConditionFailed("404") from None

    def delete(self, key: str, *, if_version: str | None = None) -> None:
        try:
            self._call(key, lambda blob: blob.delete(if_generation_match=int(if_version) if if_version else None))
        except KeyError:
            pass

    @property
    def versioned(self) -> bool:
        """Whether the bucket keeps noncurrent versions (then no `.backup` object is written).
        Reading the bucket needs storage.buckets.get; without it, assume not."""
        if self._versioned is None:
            from google.api_core import exceptions

            try:
                self.handle.reload()
                self._versioned = bool(self.handle.versioning_enabled)
            except exceptions.GoogleAPICallError:  # (403 most likely): keep a .backup object
                self._versioned = False
        return self._versioned
