"""Translation of azure-core exceptions into lepton's errors, once, at the driver boundary."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from lepton_cli.errors import CloudError, Diagnostic

CREDENTIAL_HINT = ("check your Azure credentials (az login, AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET) "
                   "or use --sandbox")


def error_code(exc: BaseException) -> str:
    """ARM's error code (`ResourceNotFound`, `Conflict`, ...) of an azure-core HttpResponseError."""
    error = getattr(exc, "error", None)
    return getattr(error, "code", None) or ""


def status_of(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None)


@contextlib.contextmanager
def translate(action: str, address: str = "") -> Iterator[None]:
    """Run Azure calls; turn a failure into a `CloudError` saying what lepton was doing, for which
    address, and what Azure answered (its error code and message)."""
    from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError

    try:
        yield
    except ClientAuthenticationError as exc:
        raise CloudError(Diagnostic(summary=f"Azure refused the credentials while {action}",
                                    detail=str(exc.message or exc), address=address, hint=CREDENTIAL_HINT)) from exc
    except HttpResponseError as exc:
        code = error_code(exc) or str(status_of(exc) or "")
        hint = CREDENTIAL_HINT if status_of(exc) in (401, 403) else ""
        detail = getattr(getattr(exc, "error", None), "message", None) or exc.message or str(exc)
        raise CloudError(Diagnostic(summary=f"Azure refused {action}: {code}", detail=detail, address=address,
                                    hint=hint)) from exc
    except AzureError as exc:
        raise CloudError(Diagnostic(summary=f"Azure call failed while {action}", detail=str(exc),
                                    address=address)) from exc


def azure_error(exc: BaseException) -> BaseException:
    return exc.__cause__ if isinstance(exc, CloudError) and exc.__cause__ is not None else exc


def is_not_found(exc: BaseException) -> bool:
    return status_of(azure_error(exc)) == 404
