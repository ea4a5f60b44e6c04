"""Translation of botocore exceptions into lepton's errors, once, at the driver boundary."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from lepton_cli.errors import CloudError, Diagnostic

# Error codes that mean "the credentials are wrong", whatever the service.
CREDENTIAL_CODES = frozenset({
    "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch",
    "AuthFailure", "ExpiredToken", "ExpiredTokenException", "InvalidAccessKeyId",
})


@contextlib.contextmanager
def translate(action: str, address: str = "") -> Iterator[None]:
    """Run an AWS call; turn any botocore failure into a `CloudError` that says what lepton
    was doing (`action`, e.g. "creating the autoscaling group shop-web"), for which address,
    and what AWS answered."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Unknown"), error.get("Message", str(exc))
        hint = ""
        if code in CREDENTIAL_CODES:
            hint = "check your AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID) or use --sandbox"
        raise CloudError(Diagnostic(
            summary=f"AWS refused {action}: {code}",
            detail=message,
            address=address,
            hint=hint,
        )) from exc
    except NoCredentialsError as exc:
        raise CloudError(Diagnostic(
            summary=f"no AWS credentials found while {action}",
            address=address,
            hint="configure credentials (aws configure, AWS_PROFILE) or run with --sandbox",
        )) from exc
    except BotoCoreError as exc:
        raise CloudError(Diagnostic(
            summary=f"AWS call failed while {action}", detail=str(exc), address=address,
        )) from exc


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError (else "")."""
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code", "")


class missing_ok:
    """Treat the given AWS error codes as success: deleting what is already gone is success.
    Wraps `translate` (it looks through the CloudError to the botocore error behind it)."""

    def __init__(self, *codes: str):
        self.codes = set(codes)

    def __enter__(self) -> "missing_ok":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None:
            return False
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        return error_code(cause) in self.codes


# The same, for a call whose earlier attempt did the work (a resent CreateRoute says
# RouteAlreadyExists): done is success.
already_done = missing_ok
