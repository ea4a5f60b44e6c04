"""Translation of google-api-core exceptions into lepton's errors, once, at the driver
boundary, and the few error reasons the GCP types act on."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from lepton_cli.errors import CloudError, Diagnostic

# Google's error `reason`s (errors[].reason) the driver acts on.
ALREADY_EXISTS = "alreadyExists"

CREDENTIAL_HINT = ("check your Google Cloud credentials (gcloud auth application-default login, "
                   "GOOGLE_APPLICATION_CREDENTIALS) or use --sandbox")


def reasons(exc: BaseException) -> set[str]:
    """The `reason` of each error in a Google API error (empty for anything else)."""
    found = set()
    for error in getattr(exc, "errors", None) or []:
        reason = error.get("reason") if isinstance(error, dict) else getattr(error, "reason", None)
        if reason:
            found.add(reason)
    return found


def status_code(exc: BaseException) -> int | None:
    return getattr(exc, "code", None) if isinstance(getattr(exc, "code", None), int) else None


@contextlib.contextmanager
def translate(action: str, address: str = "") -> Iterator[None]:
    """Run Google API calls; turn a failure into a `CloudError` saying what lepton was doing
    (`action`, e.g. "creating the network shop-net"), for which address, and what Google
    answered."""
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc

    try:
        yield
    except gexc.GoogleAPICallError as exc:
        code = status_code(exc)
        why = ", ".join(sorted(reasons(exc))) or type(exc).__name__
        hint = CREDENTIAL_HINT if code in (401, 403) else ""
        raise CloudError(Diagnostic(
            summary=f"Google Cloud refused {action}: {code} {why}" if code else f"Google Cloud refused {action}: {why}",
            detail=getattr(exc, "message", None) or str(exc), address=address, hint=hint,
        )) from exc
    except gexc.RetryError as exc:
        raise CloudError(Diagnostic(summary=f"Google Cloud kept failing while {action}", detail=str(exc.cause or exc),
                                    address=address)) from exc
    except auth_exc.DefaultCredentialsError as exc:
        raise CloudError(Diagnostic(summary=f"no Google Cloud credentials found while {action}", address=address,
                                    hint=CREDENTIAL_HINT)) from exc
    except auth_exc.GoogleAuthError as exc:
        raise CloudError(Diagnostic(summary=f"Google Cloud credentials failed while {action}", detail=str(exc),
                                    address=address, hint=CREDENTIAL_HINT)) from exc


def google_error(exc: BaseException) -> BaseException:
    """The Google API error behind a `CloudError` raised by `translate` (else `exc`)."""
    return exc.__cause__ if isinstance(exc, CloudError) and exc.__cause__ is not None else exc


def is_not_found(exc: BaseException) -> bool:
    return status_code(google_error(exc)) == 404
