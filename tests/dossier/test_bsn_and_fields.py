from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.dossier.bsn import is_valid_bsn
from gateway.dossier.fields import delete_path, field_catalogue, flatten, get_path, set_path
from gateway.dossier.model import Gezinsdossier
from tests.support import BSN_CHILD, BSN_MOTHER, BSN_REPORTER, MELDING_DOSSIER


@pytest.mark.parametrize("bsn", [BSN_CHILD, BSN_MOTHER, BSN_REPORTER])
def test_valid_bsns_pass_the_11_check(bsn: str) -> None:
    assert is_valid_bsn(bsn)


@pytest.mark.parametrize("bsn", ["111222334", "12345678", "1234567890", "abcdefghi", "000000000", ""])
def test_invalid_bsns_fail(bsn: str) -> None:
    assert not is_valid_bsn(bsn)


def test_model_refuses_invalid_bsn_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as info:
        Gezinsdossier.model_validate({"persons": [{"ref": "k1", "role": "kind", "bsn": "111222334"}]})
    error = info.value.errors()[0]
    assert error["type"] == "invalid_bsn"
    assert "111222334" not in error["msg"]


def test_model_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        Gezinsdossier.model_validate({"persons": [{"ref": "k1", "role": "kind", "favourite_colour": "blue"}]})


def test_every_leaf_has_a_known_category() -> None:
    categories = {label.category for label in field_catalogue().values()}
    assert categories == {"identification", "contact", "household", "signals", "safety", "help", "health",
                          "justice", "income", "education", "measures", "plan", "reporter", "case_reference",
                          "structure"}
    assert field_catalogue()["persons[].bsn"].identifier


def test_flatten_labels_reporter_and_mental_health() -> None:
    dossier = Gezinsdossier.model_validate({
        **MELDING_DOSSIER,
        "involvements": [{"organisation": "GGZ Centraal", "mental_health": True}, {"organisation": "Buurtteam"}],
    }).model_dump(mode="json", exclude_none=True)
    by_path = {f.path: f for f in flatten(dossier)}
    assert by_path["persons[2].surname"].category == "reporter"
    assert by_path["persons[2].surname"].identifier
    assert by_path["persons[2].role"].category == "structure"
    assert by_path["persons[0].bsn"].category == "identification"
    assert by_path["persons[0].bsn"].subject_role == "kind"
    assert by_path["involvements[0].organisation"].category == "health"
    assert by_path["involvements[1].organisation"].category == "help"
    assert by_path["signals[0].violence_forms[0].category"].category == "signals"
    assert by_path["health[0].description"].category == "health"


def test_path_helpers() -> None:
    doc = {"persons": [{"ref": "a", "bsn": "x"}], "plan": {"type": "t"}}
    assert get_path(doc, "persons[0].bsn") == "x"
    set_path(doc, "persons[0].bsn", "y")
    delete_path(doc, "plan.type")
    assert doc == {"persons": [{"ref": "a", "bsn": "y"}], "plan": {}}
