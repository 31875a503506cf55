"""Named scopes with what they allow (shown in the OpenAPI description and the token endpoint metadata)."""

from __future__ import annotations

SCOPES: dict[str, str] = {
    "exchange:push": "Gegevens verstrekken aan een andere organisatie (push).",
    "exchange:pull": "Gegevens bevragen bij een andere organisatie (pull).",
    "exchange:read": "De status opvragen van uitwisselingen waarbij de eigen organisatie partij is.",
    "exchange:reidentify": "Door de gateway versleutelde waarden van de eigen organisatie terugrekenen.",
    "inbox:receive": "Leveringen ophalen en bevestigen uit de eigen inbox (organisaties zonder eigen endpoint).",
}
