"""Portable image aliases resolved to AMIs by lookup: a table of (owner, name pattern), one
`describe_images` call per (region, alias, architecture), newest image first."""

from __future__ import annotations

import threading

from lepton_cli.drivers.aws.errors import translate
from lepton_cli.errors import Diagnostic, LeptonError
from lepton_cli.spec.suggest import did_you_mean

CANONICAL, DEBIAN, AWS_DLAMI = "099720109477", "136693071363", "898082745236"

# alias -> (owner account, name pattern by architecture)
ALIASES: dict[str, tuple[str, dict[str, str]]] = {
    "ubuntu-22.04": (CANONICAL, {"x86_64": "ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-amd64-server-*",
                                 "arm64": "ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-arm64-server-*"}),
    "ubuntu-24.04": (CANONICAL, {"x86_64": "ubuntu/images/hvm-ssd*/ubuntu-noble-24.04-amd64-server-*",
                                 "arm64": "ubuntu/images/hvm-ssd*/ubuntu-noble-24.04-arm64-server-*"}),
    "debian-12": (DEBIAN, {"x86_64": "debian-12-amd64-*", "arm64": "debian-12-arm64-*"}),
    # NVIDIA driver and CUDA preinstalled: the image for GPU groups.
    "ubuntu-22.04-cuda": (AWS_DLAMI, {"x86_64": "Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) *"}),
}


class ImageResolver:
    def __init__(self, driver):
        self.driver = driver
        self._cache: dict[tuple[str, str, str], str] = {}
        self._lock = threading.Lock()

    def resolve(self, region: str, image: str, arch: str) -> str:
        if image.startswith("ami-"):
            return image
        if image not in ALIASES:
            raise LeptonError(Diagnostic(
                summary=f"unknown image {image!r}: use an alias or an AMI id (ami-...)",
                hint=did_you_mean(image, ALIASES) or f"aliases: {', '.join(ALIASES)}"))
        key = (region, image, arch)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        owner, patterns = ALIASES[image]
        if arch not in patterns:
            raise LeptonError(f"image {image!r} has no {arch} build; choose an {'/'.join(patterns)} instance type")
        with translate(f"looking up the {image} image in {region}"):
            images = self.driver.client("ec2", region).describe_images(
                Owners=[owner], Filters=[{"Name": "name", "Values": [patterns[arch]]},
                                         {"Name": "architecture", "Values": [arch]},
                                         {"Name": "state", "Values": ["available"]}])["Images"]
        if not images:
            raise LeptonError(f"no {image} ({arch}) image is published in {region}")
        newest = max(images, key=lambda i: (i.get("CreationDate", ""), i["ImageId"]))["ImageId"]
        with self._lock:
            self._cache[key] = newest
        return newest
