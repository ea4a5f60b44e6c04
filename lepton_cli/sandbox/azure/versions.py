"""The api-versions the emulator answers per provider: what the installed SDKs send
(azure-mgmt-resource 26, -network 33, -compute 39, -storage 25, -cdn 14, -monitor 7) plus a few
recent stable versions of the same shapes. Anything else: 400 InvalidApiVersionParameter."""

from __future__ import annotations

RESOURCES = frozenset({"2025-04-01", "2024-11-01", "2024-03-01", "2022-09-01", "2021-04-01"})
NETWORK = frozenset({"2026-03-01", "2025-05-01", "2024-07-01", "2024-05-01", "2024-03-01", "2023-09-01"})
COMPUTE = frozenset({"2026-04-01", "2025-04-01", "2024-11-01", "2024-07-01", "2024-03-01", "2023-09-01"})
STORAGE = frozenset({"2026-09-01", "2025-06-01", "2025-01-01", "2024-01-01", "2023-05-01", "2023-01-01"})
CDN = frozenset({"2026-10-01", "2026-03-01", "2025-06-01", "2024-09-01", "2024-02-01"})
INSIGHTS = frozenset({"2022-10-01", "2021-05-01-preview", "2015-04-01"})
