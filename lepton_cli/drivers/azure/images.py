"""Portable image aliases on Azure: each names a Marketplace image (publisher, offer, sku) at
version `latest`, as `az vm create --image Ubuntu2204` does: no API call at plan time, and the
scale set model (hence a no-op plan) changes only when the plan does, never because a publisher
released a new version. A cloud-specific image passes through: a Marketplace URN
`publisher:offer:sku:version`, or the ARM id of an image or gallery image version
(`/subscriptions/.../providers/Microsoft.Compute/...`).
"""

from __future__ import annotations

from lepton_cli.errors import Diagnostic, LeptonError
from lepton_cli.spec.suggest import did_you_mean

URN_PARTS = ("publisher", "offer", "sku", "version")

# alias -> Marketplace (publisher, offer, sku); the version is always "latest".
ALIASES: dict[str, tuple[str, str, str]] = {
    "ubuntu-22.04": ("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-gen2"),
    "ubuntu-24.04": ("Canonical", "ubuntu-24_04-lts", "server"),
    "debian-12": ("Debian", "debian-12", "12-gen2"),
}


def is_image_id(image: str) -> bool:
    """An ARM id of an image (managed image, gallery image or one of its versions)."""
    return image.lower().startswith("/subscriptions/") and "/providers/microsoft.compute/" in image.lower()


def is_urn(image: str) -> bool:
    parts = image.split(":")
    return len(parts) == len(URN_PARTS) and all(parts)


def is_known(image: str) -> bool:
    return image in ALIASES or is_urn(image) or is_image_id(image)


def resolve(image: str) -> dict[str, str]:
    """The scale set's `image_reference`: {"publisher", "offer", "sku", "version"} or {"id"}."""
    if is_image_id(image):
        return {"id": image}
    if is_urn(image):
        return dict(zip(URN_PARTS, image.split(":")))
    if image not in ALIASES:
        raise LeptonError(unknown(image))
    return dict(zip(URN_PARTS, (*ALIASES[image], "latest")))


def unknown(image: str, path: str = "") -> Diagnostic:
    return Diagnostic(summary=f"unknown image {image!r}: use an alias, a Marketplace URN "
                              "(publisher:offer:sku:version) or an image's ARM id (/subscriptions/...)",
                      path=path, hint=did_you_mean(image, ALIASES) or f"aliases: {', '.join(ALIASES)}")
