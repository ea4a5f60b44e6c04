"""AWS regions and their availability zones, shipped with lepton so that `lepton validate`
catches `region: us-east-9` (and `zones: 3` in a two-zone region) without calling AWS.

Source: AWS's published region and availability zone list (zones open to new accounts),
checked against moto's region table, December 2026. A region added later by AWS is unknown to
this list until lepton is updated: `lepton validate` then suggests the nearest name.
"""

from __future__ import annotations

# region -> availability zones open to new accounts
REGIONS: dict[str, int] = {
    "af-south-1": 3,
    "ap-east-1": 3, "ap-east-2": 3,
    "ap-northeast-1": 3, "ap-northeast-2": 4, "ap-northeast-3": 3,
    "ap-south-1": 3, "ap-south-2": 3,
    "ap-southeast-1": 3, "ap-southeast-2": 3, "ap-southeast-3": 3, "ap-southeast-4": 3,
    "ap-southeast-5": 3, "ap-southeast-6": 3, "ap-southeast-7": 3,
    "ca-central-1": 3, "ca-west-1": 3,
    "cn-north-1": 2, "cn-northwest-1": 3,
    "eu-central-1": 3, "eu-central-2": 3,
    "eu-north-1": 3,
    "eu-south-1": 3, "eu-south-2": 3,
    "eu-west-1": 3, "eu-west-2": 3, "eu-west-3": 3,
    "il-central-1": 3,
    "me-central-1": 3, "me-south-1": 3,
    "mx-central-1": 3,
    "sa-east-1": 3,
    "us-east-1": 6, "us-east-2": 3,
    "us-gov-east-1": 3, "us-gov-west-1": 3,
    "us-west-1": 2, "us-west-2": 4,
}
