"""ARM's error shape, `{"error": {"code", "message"}}`, and the codes the emulator answers with."""

from __future__ import annotations


class ArmError(Exception):
    """An ARM error response: HTTP status, ARM error code, message."""

    def __init__(self, status: int, code: str, message: str, target: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.target = status, code, message, target

    def body(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.target:
            error["target"] = self.target
        return {"error": error}


def not_found(type_: str, name: str, group: str | None) -> ArmError:
    where = f" under resource group '{group}'" if group else ""
    return ArmError(404, "ResourceNotFound", f"The Resource '{type_}/{name}'{where} was not found. "
                                             "For more details please go to https://aka.ms/ARMResourceNotFoundFix")


def group_not_found(group: str) -> ArmError:
    return ArmError(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.")


def parent_not_found(parent_id: str) -> ArmError:
    return ArmError(404, "ParentResourceNotFound",
                    f"Can not perform requested operation on nested resource. Parent resource '{parent_id}' not found.")


def invalid(message: str, code: str = "InvalidParameter") -> ArmError:
    return ArmError(400, code, message)


def bad_reference(ref: str, where: str) -> ArmError:
    return ArmError(400, "InvalidResourceReference",
                    f"Resource {ref} referenced by resource {where} was not found. Please make sure that the "
                    "referenced resource exists, and that both resources are in the same region.")


def in_use(code: str, message: str, status: int = 400) -> ArmError:
    return ArmError(status, code, message)
