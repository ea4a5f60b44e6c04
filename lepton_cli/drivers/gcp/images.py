"""Portable image aliases on Google Cloud: each names a public image *family*.

An instance template keeps the family URL as its boot disk's source image, as `gcloud compute
instance-templates create --image-family` does: no API call at plan time, and each new
instance boots the family's newest image. The template (its name hashes its properties) then
changes only when the plan does, never because a publisher released an image, so a no-op plan
stays empty. A cloud-specific image path (`projects/P/global/images/NAME` or
`.../images/family/F`, or a full URL) passes through unchanged.
"""

from __future__ import annotations

from lepton_cli.errors import Diagnostic, LeptonError
from lepton_cli.spec.suggest import did_you_mean

# alias -> (image project, family)
ALIASES: dict[str, tuple[str, str]] = {
    "ubuntu-22.04": ("ubuntu-os-cloud", "ubuntu-2204-lts"),
    "ubuntu-24.04": ("ubuntu-os-cloud", "ubuntu-2404-lts-amd64"),
    "debian-12": ("debian-cloud", "debian-12"),
    # NVIDIA driver and CUDA preinstalled (Deep Learning VM): the image for GPU groups.
    "ubuntu-22.04-cuda": ("deeplearning-platform-release", "common-cu123-ubuntu-2204-py310"),
}


def is_image_path(image: str) -> bool:
    """A cloud-specific image: `projects/P/global/images/...` or a full Compute URL."""
    path = image.split("/compute/v1/", 1)[-1]
    parts = path.split("/")
    return len(parts) >= 5 and parts[0] == "projects" and parts[2:4] == ["global", "images"]


def resolve(image: str) -> str:
    """The source image for a boot disk: an alias's family path, or the image path given."""
    if is_image_path(image):
        return image.split("/compute/v1/", 1)[-1]
    if image not in ALIASES:
        raise LeptonError(unknown(image))
    project, family = ALIASES[image]
    return f"projects/{project}/global/images/family/{family}"


def unknown(image: str, path: str = "") -> Diagnostic:
    return Diagnostic(summary=f"unknown image {image!r}: use an alias or a Google Cloud image path "
                              "(projects/PROJECT/global/images/NAME or .../images/family/FAMILY)",
                      path=path, hint=did_you_mean(image, ALIASES) or f"aliases: {', '.join(ALIASES)}")
