"""The azblob state backend: an `ObjectStore` over one Azure Blob Storage container, with Azure's
conditional writes (`If-None-Match: *` to create, `If-Match: ETag` to replace or delete).

Credentials come from azure-identity's `DefaultAzureCredential` (environment, managed identity,
`az login`), never from the plan file. With `--sandbox` it talks to the sandbox's Azurite, signing
with the account's key from the sandbox's account pool (its runtime file). azure-storage-blob is
imported on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lepton_cli.errors import Diagnostic, StateError
from lepton_cli.state.remote import Blob, ConditionFailed, ObjectStore, missing_sdk

SANDBOX_SERVICE = "azblob"  # the sandbox endpoint that serves Blob Storage (Azurite)
_ROLE_HINT = ("the identity DefaultAzureCredential finds (AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, a "
              "managed identity, `az login`) needs the `Storage Blob Data Contributor` role on the container")
# Storage error code -> (summary, hint) for what the user must fix; {account} and {container}
# are filled in. Azurite answers a wrong key with AuthorizationFailure, Azure with AuthenticationFailed.
_USER_ERRORS: dict[str, tuple[str, str]] = {
    "ContainerNotFound": ("state container {container} does not exist in storage account {account}",
                          "create it first (e.g. `az storage container create --account-name {account} --name "
                          "{container} --auth-mode login`); lepton never creates the container that holds its state"),
    "ResourceNotFound": ("storage account {account} does not exist",
                         "check `account:` in the plan file's backend block"),
    "AccountIsDisabled": ("storage account {account} is disabled", "enable it, or use another account"),
    "AuthenticationFailed": ("the credentials were refused by storage account {account}", _ROLE_HINT),
    "AuthorizationFailure": ("access to state container {container} in storage account {account} was denied",
                             _ROLE_HINT),
    "AuthorizationPermissionMismatch": ("access to state container {container} in storage account {account} "
                                        "was denied", _ROLE_HINT),
    "InsufficientAccountPermissions": ("access to state container {container} in storage account {account} "
                                       "was denied", _ROLE_HINT),
}
_CONDITION_FAILED = {"ConditionNotMet", "BlobAlreadyExists", "LeaseIdMissing"}
_ABSENT = {"BlobNotFound"}


def sandbox_account(account: str) -> tuple[str, str]:
    """The sandbox's Azurite endpoint for `account` and the account's key (the sandbox started if
    need be); one clear error when the sandbox has no Azure storage or no such account."""
    from lepton_cli.sandbox.manager import ensure_running
    from lepton_cli.sandbox.runtime import read_runtime, sandbox_home

    status, _ = ensure_running()
    if SANDBOX_SERVICE not in status.endpoints:
        from lepton_cli.sandbox.azurite import INSTALL_HINT

        why = status.unavailable.get(SANDBOX_SERVICE, "it was started without Azurite").replace(f"; {INSTALL_HINT}", "")
        raise StateError(Diagnostic(summary="the sandbox has no Azure Blob Storage, so the azblob backend cannot "
                                            "run with --sandbox", detail=why, hint=INSTALL_HINT))
    from lepton_cli.sandbox.azurite import ACCOUNTS

    accounts = (read_runtime(sandbox_home()) or {}).get("azblob_accounts") or ACCOUNTS
    # An account outside the pool gets a key Azurite will not know: it answers as Azure would.
    return f"{status.endpoints[SANDBOX_SERVICE]}/{account}", accounts.get(account, "bm8ta2V5")


def _sandbox_pool() -> list[str]:
    from lepton_cli.sandbox.azurite import ACCOUNTS

    names = list(ACCOUNTS)
    return [names[0], f"{names[1]} ... {names[-1]}"]


class AzureBlobObjects(ObjectStore):
    def __init__(self, account: str, container: str, *, sandbox: bool = False,
                 endpoint: Callable[[str], tuple[str, str]] | None = None):
        self.account = account
        self.container = container
        self.sandbox = sandbox
        self._endpoint = endpoint or sandbox_account  # sandbox: account -> (URL, key), called once
        self._client: Any = None

    def settings(self) -> dict:
        return {"type": "azblob", "account": self.account, "container": self.container}

    def url(self, key: str) -> str:
        return f"azblob://{self.account}/{self.container}/{key}"

    @property
    def client(self):
        """The container's client: Azurite with the account key, or Azure with DefaultAzureCredential."""
        if self._client is None:
            try:
                from azure.storage.blob import ContainerClient
            except ImportError as exc:
                raise missing_sdk("azblob", "azure", exc) from None

            options: dict[str, Any] = {"retry_total": 3}
            if self.sandbox:
                url, key = self._endpoint(self.account)
                credential: Any = {"account_name": self.account, "account_key": key}
            else:
                try:
                    from azure.identity import DefaultAzureCredential
                except ImportError as exc:
                    raise missing_sdk("azblob", "azure", exc) from None

                url = f"https://{self.account}.blob.core.windows.net"
                credential = DefaultAzureCredential()
            self._client = ContainerClient(url, self.container, credential=credential, **options)
        return self._client

    def _call(self, key: str, action: Callable[[Any], Any]) -> Any:
        """One call on the blob `key`; a problem the user must fix becomes one clear StateError."""
        client = self.client  # (first: a missing SDK is named before anything else is imported)
        from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

        try:
            return action(client.get_blob_client(key))
        except ClientAuthenticationError as exc:
            if getattr(exc, "status_code", None) is None:  # no token at all: azure-identity found nothing
                raise StateError(Diagnostic(
                    summary=f"no Azure credentials to reach storage account {self.account}",
                    detail=str(exc.message or exc).splitlines()[0],
                    hint="sign in (`az login`) or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET; "
                         "credentials never come from the plan file")) from None
            self._raise(exc, key)
        except HttpResponseError as exc:
            self._raise(exc, key)
        except ServiceRequestError as exc:  # a real account that does not exist has no DNS name
            raise StateError(Diagnostic(
                summary=f"cannot reach storage account {self.account}",
                detail=str(exc).splitlines()[0],
                hint=f"check `account:` in the plan file's backend block (is there a storage account named "
                     f"{self.account}?) and the network")) from None

    def _raise(self, exc: Any, key: str) -> None:
        code = getattr(exc.error_code, "value", exc.error_code) or str(exc.status_code or "")
        if code in _CONDITION_FAILED or exc.status_code == 412:
            raise ConditionFailed(code) from None
        if code in _ABSENT:
            raise KeyError(key) from None
        if code in _USER_ERRORS:
            summary, hint = _USER_ERRORS[code]
            if self.sandbox and code == "ResourceNotFound":
                hint += f" (the sandbox's storage accounts: {', '.join(_sandbox_pool())})"
            fill = {"account": self.account, "container": self.container}
            raise StateError(Diagnostic(summary=summary.format(**fill), hint=hint.format(**fill))) from None
        message = (exc.message or "").splitlines()[0] if exc.message else ""
        raise StateError(f"Azure Blob Storage refused a request on {self.url(key)}: {code} {message}".rstrip()) \
            from None

    def get(self, key: str) -> Blob | None:
        try:
            download = self._call(key, lambda blob: blob.download_blob())
            data = self._call(key, lambda _: download.readall())
        except KeyError:
            return None
        return Blob(data, download.properties.etag)

    def put(self, key: str, data: bytes, *, if_version: str | None = None, if_absent: bool = False) -> str:
        from azure.core import MatchConditions
        from azure.storage.blob import ContentSettings

        condition: dict[str, Any] = ({"etag": if_version, "match_condition": MatchConditions.IfNotModified}
                                     if if_version else {})
        try:
            answer = self._call(key, lambda blob: blob.upload_blob(
                data, overwrite=not if_absent, content_settings=ContentSettings(content_type="application/json"),
                **condition))
        except KeyError:  # If-Match on a blob that is gone: not the version we read either
            raise ConditionFailed("BlobNotFound") from None
        return answer["etag"]

    def delete(self, key: str, *, if_version: str | None = None) -> None:
        from azure.core import MatchConditions

        condition: dict[str, Any] = ({"etag": if_version, "match_condition": MatchConditions.IfNotModified}
                                     if if_version else {})
        try:
            self._call(key, lambda blob: blob.delete_blob(**condition))
        except KeyError:
            pass
