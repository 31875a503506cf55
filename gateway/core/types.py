"""Shared identifier types. IDs get NewTypes so they cannot be mixed up silently."""

from __future__ import annotations

from enum import StrEnum
from typing import NewType

OrganisationId = NewType("OrganisationId", str)
ClientId = NewType("ClientId", str)
ExchangeId = NewType("ExchangeId", str)
DecisionId = NewType("DecisionId", str)
TraceId = NewType("TraceId", str)
Pseudonym = NewType("Pseudonym", str)


class OrganisationType(StrEnum):
    VEILIG_THUIS = "veilig_thuis"
    RVDK = "rvdk"
    GI = "gi"
    WIJKTEAM = "wijkteam"
    RESEARCH = "research"


class Pattern(StrEnum):
    PUSH = "push"  # verstrekken
    PULL = "pull"  # bevragen


class Outcome(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    ESCALATE = "escalate"


class Treatment(StrEnum):
    PASS = "pass"  # noqa: S105 - a treatment name, not a password
    PSEUDONYMISE = "pseudonymise"
    ENCRYPT = "encrypt"
    GENERALISE = "generalise"
    DROP = "drop"
