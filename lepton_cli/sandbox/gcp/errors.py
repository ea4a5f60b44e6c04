"""Google's JSON error format, as the Compute Engine API answers (and api-core parses):
``{"error": {"code", "message", "errors": [{"message", "domain", "reason"}]}}``."""

from __future__ import annotations


class GcpError(Exception):
    """One refused request: the HTTP code, Google's `reason`, and the real API's message."""

    def __init__(self, code: int, reason: str, message: str, domain: str = "global"):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.domain = domain

    def body(self) -> dict:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "errors": [{"message": self.message, "domain": self.domain, "reason": self.reason}],
            }
        }


def not_found(path: str) -> GcpError:
    return GcpError(404, "notFound", f"The resource '{path}' was not found")


def already_exists(path: str) -> GcpError:
    return GcpError(409, "alreadyExists", f"The resource '{path}' already exists")


def invalid(message: str) -> GcpError:
    return GcpError(400, "invalid", message)


def invalid_field(field: str, value: object, why: str) -> GcpError:
    return invalid(f"Invalid value for field '{field}': '{value}'. {why}")


def required(field: str) -> GcpError:
    return GcpError(400, "required", f"Required field '{field}' not specified")


def in_use(kind: str, path: str, user: str) -> GcpError:
    return GcpError(
        400,
        "resourceInUseByAnotherResource",
        f"The {kind} resource '{path}' is already being used by '{user}'",
    )


def fingerprint_mismatch() -> GcpError:
    return GcpError(
        412,
        "conditionNotMet",
        "Supplied fingerprint does not match current fingerprint.",
    )


def bad_method(method: str, path: str) -> GcpError:
    """A method the collection does not have (PATCH on instanceTemplates): Google's front end
    answers 404 for a (method, path) pair it does not route."""
    return GcpError(404, "notFound", f"The requested URL {path} was not found on this server ({method}).")
