"""The plan file's JSON Schema (`lepton schema`), for editors that complete and check plans."""

from __future__ import annotations

from typing import Any

from lepton_cli.spec.models import Stack


def plan_json_schema() -> dict[str, Any]:
    schema = Stack.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "lepton plan file",
        "description": "A lepton stack: resources (compute, bucket, load_balancer, cdn) on AWS, "
                       "Google Cloud or Azure. The file is a Jinja2 template rendered before parsing.",
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
    }
