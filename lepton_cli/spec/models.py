"""The plan language's typed model (DESIGN §3): what a rendered, parsed plan file means.

These models are the only thing drivers see of a plan. They are portable: they name clouds only
as values of the `cloud` field. Unknown keys are errors (`extra="forbid"`), so a typo is caught
and the loader can suggest the key that was meant.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Cloud = Literal["aws", "gcp", "azure"]
CLOUDS: tuple[str, ...] = ("aws", "gcp", "azure")

# Where a resource goes when neither it nor `defaults` names a region (DESIGN §3).
DEFAULT_REGIONS: dict[str, str] = {"aws": "us-east-1", "gcp": "us-central1", "azure": "eastus"}

STACK_NAME = r"^[a-z][a-z0-9-]{0,29}$"
RESOURCE_NAME = r"^[a-z][a-z0-9-]{0,39}$"
GPU_SPEC = r"^[A-Za-z0-9-]+:[1-9][0-9]*$"
# `${name.attr}` inside any string field; resolved after the named resource exists.
INTERPOLATION = re.compile(r"\$\{([a-z][a-z0-9-]{0,39})\.([a-z_]+)\}")

# Attributes each kind exposes to `${name.attr}` and `outputs` (DESIGN §3).
COMMON_ATTRIBUTES = ("id", "name")
KIND_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "compute": COMMON_ATTRIBUTES + ("group_id",),
    "bucket": COMMON_ATTRIBUTES + ("url",),
    "load_balancer": COMMON_ATTRIBUTES + ("dns_name", "address"),
    "cdn": COMMON_ATTRIBUTES + ("domain",),
}


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Size(Model):
    """A portable machine size, resolved per cloud to the cheapest matching instance type."""

    cpus: int | None = Field(default=None, ge=1, le=896)
    memory_gb: float | None = Field(default=None, gt=0, le=24576)
    gpus: str | None = Field(default=None, pattern=GPU_SPEC, description="accelerators as NAME:COUNT, e.g. A100:1")

    @model_validator(mode="after")
    def _not_empty(self) -> "Size":
        if self.cpus is None and self.memory_gb is None and self.gpus is None:
            raise ValueError("size needs at least one of cpus, memory_gb, gpus")
        return self

    @property
    def gpu_name(self) -> str | None:
        return self.gpus.split(":")[0] if self.gpus else None

    @property
    def gpu_count(self) -> int:
        return int(self.gpus.split(":")[1]) if self.gpus else 0


class Autoscale(Model):
    min: int = Field(ge=0, le=1000)
    max: int = Field(ge=1, le=1000)
    target_cpu: int = Field(default=60, ge=1, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> "Autoscale":
        if self.min > self.max:
            raise ValueError(f"autoscale.min ({self.min}) is greater than autoscale.max ({self.max})")
        return self


class LifecycleRule(Model):
    prefix: str = ""
    expire_days: int = Field(ge=1)


def _check_cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ValueError(f"{value!r} is not a CIDR block such as 10.0.0.0/8") from None


class Placed(Model):
    """Fields every resource may carry to override `defaults`."""

    cloud: Cloud | None = None
    region: str | None = None


class Compute(Placed):
    kind: Literal["compute"]
    size: Size | None = None
    instance_type: str | dict[Cloud, str] | None = None
    image: str = "ubuntu-22.04"
    count: int | None = Field(default=None, ge=0, le=1000)
    autoscale: Autoscale | None = None
    zones: int = Field(default=1, ge=1, le=6)
    ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(default_factory=list)
    allow_from: list[str] = Field(default_factory=list)
    disk_gb: int = Field(default=20, ge=8, le=16384)
    spot: bool = False
    user_data: str | None = None

    _cidrs = field_validator("allow_from")(lambda cls, v: [_check_cidr(c) for c in v])

    @model_validator(mode="after")
    def _count_or_autoscale(self) -> "Compute":
        if self.count is not None and self.autoscale is not None:
            raise ValueError("give either count or autoscale, not both")
        if self.size is None and self.instance_type is None:
            raise ValueError("compute needs size or instance_type")
        if self.size is not None and self.instance_type is not None:
            raise ValueError("give either size or instance_type, not both")
        return self

    @property
    def desired_count(self) -> int:
        """Instances to run now: `count`, or `autoscale.min`, or 1."""
        if self.autoscale is not None:
            return self.autoscale.min
        return 1 if self.count is None else self.count


class Bucket(Placed):
    kind: Literal["bucket"]
    versioning: bool = False
    public: bool = False
    encryption: bool = True
    force_destroy: bool = False
    lifecycle: list[LifecycleRule] = Field(default_factory=list)


class Listener(Model):
    port: int = Field(ge=1, le=65535)
    protocol: Literal["http", "https", "tcp"] = "http"
    target_port: int | None = Field(default=None, ge=1, le=65535)
    certificate: str | None = None  # required for https: an ACM ARN, a GCP cert, an Azure Key Vault id

    @model_validator(mode="after")
    def _https_needs_certificate(self) -> "Listener":
        if self.protocol == "https" and not self.certificate:
            raise ValueError("an https listener needs a certificate")
        return self


class HealthCheck(Model):
    path: str = "/"
    port: int | None = Field(default=None, ge=1, le=65535)
    interval: int = Field(default=30, ge=5, le=300)
    healthy_threshold: int = Field(default=3, ge=2, le=10)
    unhealthy_threshold: int = Field(default=3, ge=2, le=10)


class LoadBalancer(Placed):
    kind: Literal["load_balancer"]
    target: str = Field(pattern=RESOURCE_NAME)
    listeners: list[Listener] = Field(min_length=1)
    health_check: HealthCheck = Field(default_factory=HealthCheck)

    @field_validator("listeners")
    @classmethod
    def _unique_ports(cls, v: list[Listener]) -> list[Listener]:
        ports = [l.port for l in v]
        if len(set(ports)) != len(ports):
            raise ValueError("two listeners share a port")
        return v


class Cdn(Placed):
    kind: Literal["cdn"]
    origin: str = Field(pattern=RESOURCE_NAME)
    default_ttl: int = Field(default=3600, ge=0, le=31536000)
    https_only: bool = True


Resource = Annotated[Union[Compute, Bucket, LoadBalancer, Cdn], Field(discriminator="kind")]
KINDS: tuple[str, ...] = ("compute", "bucket", "load_balancer", "cdn")


class Defaults(Model):
    cloud: Cloud = "aws"
    region: str | None = None
    regions: dict[Cloud, str] = Field(default_factory=dict)
    project: str | None = None
    subscription: str | None = None


# Remote backend type -> the fields it needs; any other remote field is refused.
BACKEND_FIELDS: dict[str, tuple[str, ...]] = {"s3": ("bucket",), "gcs": ("bucket",), "azblob": ("account", "container")}
BACKEND_OPTIONAL: dict[str, tuple[str, ...]] = {"s3": ("prefix", "region"), "gcs": ("prefix",), "azblob": ("prefix",)}
AZURE_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
AZURE_CONTAINER = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]$")


class Backend(Model):
    """Where state lives (docs/state.md): `local` files, or an `s3` or `gcs` bucket or an
    `azblob` container shared by a team."""

    type: Literal["local", "s3", "gcs", "azblob"] = "local"
    path: str | None = None  # local: a directory for state files
    bucket: str | None = None  # s3, gcs: the bucket (it must exist; credentials from the SDK's chain)
    prefix: str | None = None  # remote: objects are <prefix>/<stack>.state.json and <prefix>/<stack>.lock
    region: str | None = None  # s3: the bucket's region
    account: str | None = None  # azblob: the storage account
    container: str | None = None  # azblob: the blob container

    @field_validator("account")
    @classmethod
    def _account_name(cls, value: str | None) -> str | None:
        if value is not None and not AZURE_ACCOUNT.match(value):
            raise ValueError(f"{value!r} is not a storage account name: 3-24 lowercase letters and digits")
        return value

    @field_validator("container")
    @classmethod
    def _container_name(cls, value: str | None) -> str | None:
        if value is not None and not AZURE_CONTAINER.match(value):
            raise ValueError(f"{value!r} is not a blob container name: 3-63 lowercase letters, digits and single "
                             f"hyphens, starting and ending with a letter or digit")
        return value

    @model_validator(mode="after")
    def _fields_of_type(self):
        if self.type != "local" and self.path is not None:
            raise ValueError(f"`path` is for the local backend; the {self.type} backend takes "
                             f"{', '.join(BACKEND_FIELDS[self.type] + BACKEND_OPTIONAL[self.type])}")
        if self.type == "local" and (self.bucket or self.prefix or self.region):
            raise ValueError("bucket, prefix and region are for a remote backend (type: s3); "
                             "the local backend takes only `path`")
        if self.type == "local" and (self.account or self.container):
            raise ValueError("account and container are for the azblob backend; the local backend takes only `path`")
        if self.type == "local":
            return self
        allowed = BACKEND_FIELDS[self.type] + BACKEND_OPTIONAL[self.type]
        for name in ("bucket", "region", "account", "container"):
            if getattr(self, name) is not None and name not in allowed:
                raise ValueError(f"`{name}` is not a field of the {self.type} backend; it takes {', '.join(allowed)}")
        missing = [name for name in BACKEND_FIELDS[self.type] if not getattr(self, name)]
        if missing:
            what = {"bucket": "the bucket that holds the state", "account": "the storage account",
                    "container": "the blob container that holds the state"}
            raise ValueError(f"the {self.type} backend needs " + " and ".join(
                f"`{name}:` ({what[name]})" for name in missing))
        return self


VARIABLE_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
VariableType = Literal["string", "number", "bool", "list", "map"]


class Variable(Model):
    """A declared variable (the optional top-level `variables:` block). Declaring any makes
    every variable given with --var or --var-file a declared one; `sensitive` ones are never
    shown or stored in clear (docs/plan-language.md, "Variables")."""

    description: str = ""
    type: VariableType | None = Field(default=None, description="checked when given: string|number|bool|list|map")
    default: Union[str, int, float, bool, list, dict, None] = Field(
        default=None, description="used when no value is given; without one the variable is required")
    sensitive: bool = Field(default=False, description="a secret: shown as (sensitive), kept only as a keyed hash")

    @property
    def required(self) -> bool:
        return "default" not in self.model_fields_set


class Stack(Model):
    """A whole plan file after rendering, parsing and validation."""

    stack: str = Field(pattern=STACK_NAME)
    variables: dict[Annotated[str, Field(pattern=VARIABLE_NAME)], Variable] = Field(default_factory=dict)
    defaults: Defaults = Field(default_factory=Defaults)
    backend: Backend = Field(default_factory=Backend)
    resources: dict[Annotated[str, Field(pattern=RESOURCE_NAME)], Resource] = Field(default_factory=dict)
    outputs: dict[str, str] = Field(default_factory=dict)

    def cloud_of(self, name: str) -> str:
        return self.resources[name].cloud or self.defaults.cloud

    def region_of(self, name: str) -> str:
        """The resource's region: its own, else the default for its cloud (DESIGN §3)."""
        resource = self.resources[name]
        if resource.region:
            return resource.region
        cloud = self.cloud_of(name)
        if cloud == self.defaults.cloud and self.defaults.region:
            return self.defaults.region
        return self.defaults.regions.get(cloud) or DEFAULT_REGIONS[cloud]

    def clouds(self) -> list[str]:
        return sorted({self.cloud_of(n) for n in self.resources})
