"""Cloud Storage's errors: Google's JSON error format (the shared `GcpError`), plus the
`locationType`/`location` GCS adds to a failed precondition."""

from __future__ import annotations

from typing import Any

from lepton_cli.sandbox.gcp.errors import GcpError


class StorageError(GcpError):
    def __init__(self, code: int, reason: str, message: str, **extra: str) -> None:
        super().__init__(code, reason, message)
        self.extra = extra

    def body(self) -> dict[str, Any]:
        out = super().body()
        out["error"]["errors"][0].update(self.extra)
        return out


def invalid(message: str) -> StorageError:
    return StorageError(400, "invalid", message)


def required(message: str) -> StorageError:
    return StorageError(400, "required", message)


def no_bucket() -> StorageError:
    return StorageError(404, "notFound", "The specified bucket does not exist.")


def no_object(bucket: str, name: str) -> StorageError:
    return StorageError(404, "notFound", f"No such object: {bucket}/{name}")


def not_met() -> StorageError:
    return StorageError(412, "conditionNotMet", "At least one of the pre-conditions you specified did not hold.",
                        locationType="header", location="If-Match")


def conflict(message: str) -> StorageError:
    return StorageError(409, "conflict", message)
