"""The lazy driver registry: cloud name -> Driver class, imported only when a plan uses it.

`lepton --help` and `lepton validate` must not import boto3/azure/google, so drivers are named
here by module path and imported on first use.
"""

from __future__ import annotations

import importlib
from functools import cache

from lepton_cli.drivers.base import Driver, DriverConfig
from lepton_cli.errors import LeptonError

# cloud -> "module:Class"; a cloud missing here has no driver yet.
DRIVERS: dict[str, str] = {
    "aws": "lepton_cli.drivers.aws.driver:AwsDriver",
    "gcp": "lepton_cli.drivers.gcp.driver:GcpDriver",
    "azure": "lepton_cli.drivers.azure.driver:AzureDriver",
}


@cache
def driver_class(cloud: str) -> type[Driver]:
    try:
        target = DRIVERS[cloud]
    except KeyError:
        raise LeptonError(
            f"lepton has no driver for cloud {cloud!r} yet",
        ) from None
    module_name, class_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:  # the cloud's SDK extra is not installed
        raise LeptonError(
            f"the {cloud} driver needs packages that are not installed ({exc.name})",
        ) from None
    return getattr(module, class_name)


def make_driver(cloud: str, config: DriverConfig) -> Driver:
    return driver_class(cloud)(config)
