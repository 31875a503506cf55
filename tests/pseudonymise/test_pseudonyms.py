from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from gateway.core.types import Treatment
from gateway.dossier.fields import flatten
from gateway.pseudonymise.generalise import age_band, birth_year, postcode4
from gateway.pseudonymise.keyring import KeyRing, KeyRingError, MasterKey, generate_keyring_json, load_keyring
from gateway.pseudonymise.minimise import FieldRule, minimise
from gateway.pseudonymise.pseudonyms import PseudonymError, Pseudonymiser, organisation_domain


def ring(*kids: str) -> KeyRing:
    return KeyRing([MasterKey(kid, (kid.encode() * 32)[:32]) for kid in kids])


def test_pseudonyms_are_deterministic_per_domain_and_unlinkable_across() -> None:
    p = Pseudonymiser(ring("k1"))
    a1 = p.pseudonym("111222333", "org:a")
    assert a1 == p.pseudonym("111222333", "org:a")
    assert a1 != p.pseudonym("111222333", "org:b")
    assert a1 != p.pseudonym("123456782", "org:a")
    assert a1.startswith("PS1.k1.") and "111222333" not in a1


def test_rotation_first_key_writes_all_keys_read() -> None:
    old = Pseudonymiser(ring("k1"))
    rotated = Pseudonymiser(ring("k2", "k1"))
    before = old.pseudonym("111222333", "log")
    assert rotated.pseudonym("111222333", "log").startswith("PS1.k2.")
    assert before in rotated.pseudonyms_all_keys("111222333", "log")
    token = old.encrypt("111222333", "org:x")
    assert rotated.decrypt(token, "org:x") == "111222333"


def test_encryption_round_trips_only_in_its_domain() -> None:
    p = Pseudonymiser(ring("k1"))
    token = p.encrypt("111222333", "org:sender")
    assert token == p.encrypt("111222333", "org:sender")  # deterministic (AES-SIV)
    assert p.decrypt(token, "org:sender") == "111222333"
    with pytest.raises(PseudonymError):
        p.decrypt(token, "org:other")
    with pytest.raises(PseudonymError):
        p.decrypt(token[:-2] + "AA", "org:sender")


def test_keyring_rejects_weak_or_malformed_keys() -> None:
    with pytest.raises(KeyRingError):
        KeyRing([MasterKey("k1", b"short")])
    with pytest.raises(KeyRingError):
        KeyRing.from_json("{not json")
    with pytest.raises(KeyRingError):
        KeyRing([])


def test_keyring_generated_once_with_private_permissions(tmp_path: Path) -> None:
    first = load_keyring(tmp_path, generate=True)
    second = load_keyring(tmp_path, generate=True)
    assert first.active.secret == second.active.secret
    assert (tmp_path / "pseudonym-keyring.json").stat().st_mode & 0o077 == 0
    with pytest.raises(KeyRingError):
        load_keyring(tmp_path / "empty", generate=False)
    assert json.loads(generate_keyring_json())["keys"][0]["kid"].startswith("k")


def test_generalisation() -> None:
    today = dt.date(2026, 11, 22)
    assert birth_year("2016-05-17") == "2016"
    assert age_band("2016-05-17", today) == "4-11"
    assert age_band("2023-01-01", today) == "0-3"
    assert age_band("1950-01-01", today) == "65+"
    assert age_band("not a date", today) is None
    assert postcode4("3531 AB") == "3531"


def test_minimise_applies_treatments_and_drops_by_default() -> None:
    p = Pseudonymiser(ring("k1"))
    dossier = {"persons": [{"ref": "k1", "role": "kind", "bsn": "111222333", "surname": "Jansen",
                            "birth_date": "2016-05-17"}],
               "household": {"address": {"postcode": "3531 AB", "municipality": "Utrecht"}},
               "plan": {"type": "gezinsplan"}}
    fields = flatten(dossier)
    rules = {"persons[0].ref": FieldRule(Treatment.PASS), "persons[0].role": FieldRule(Treatment.PASS),
             "persons[0].bsn": FieldRule(Treatment.PSEUDONYMISE),
             "persons[0].birth_date": FieldRule(Treatment.GENERALISE, "year"),
             "household.address.postcode": FieldRule(Treatment.GENERALISE, "postcode4"),
             "household.address.municipality": FieldRule(Treatment.PASS),
             "persons[0].surname": FieldRule(Treatment.GENERALISE, "no-such-method")}
    out, applied = minimise(dossier, fields, rules, pseudonymiser=p, recipient_domain=organisation_domain("r"),
                            sender_domain=organisation_domain("s"), today=dt.date(2026, 11, 22))
    person = out["persons"][0]
    assert person["bsn"] == p.pseudonym("111222333", "org:r")
    assert person["birth_date"] == "2016"
    assert "surname" not in person  # a treatment that cannot apply drops, never passes
    assert out["household"]["address"] == {"postcode": "3531", "municipality": "Utrecht"}
    assert "plan" not in out  # not mentioned → dropped, and the empty shell pruned
    treatments = {a.path: a.treatment for a in applied}
    assert treatments["plan.type"] is Treatment.DROP
    assert treatments["persons[0].surname"] is Treatment.DROP
    assert dossier["persons"][0]["bsn"] == "111222333"  # the input is not modified


def test_a_fully_withheld_list_element_disappears() -> None:
    p = Pseudonymiser(ring("k1"))
    dossier = {"persons": [{"ref": "k1", "role": "kind"}, {"ref": "m1", "role": "melder", "surname": "X"}]}
    fields = flatten(dossier)
    rules = {"persons[0].ref": FieldRule(Treatment.PASS), "persons[0].role": FieldRule(Treatment.PASS)}
    out, _ = minimise(dossier, fields, rules, pseudonymiser=p, recipient_domain="org:r", sender_domain="org:s",
                      today=dt.date(2026, 11, 22))
    assert out == {"persons": [{"ref": "k1", "role": "kind"}]}


def test_sealed_values_open_only_in_their_context_and_survive_rotation() -> None:
    from gateway.pseudonymise.sealing import Sealer, SealError

    sealer = Sealer(ring("k1"), "outbox")
    sealed = sealer.seal(b'{"bsn": "111222333"}', context="exchange-1")
    assert "111222333" not in sealed
    assert sealed != sealer.seal(b'{"bsn": "111222333"}', context="exchange-1")  # random nonce
    assert sealer.open(sealed, context="exchange-1") == b'{"bsn": "111222333"}'
    with pytest.raises(SealError):
        sealer.open(sealed, context="exchange-2")
    with pytest.raises(SealError):
        Sealer(ring("k1"), "other-purpose").open(sealed, context="exchange-1")
    assert Sealer(ring("k2", "k1"), "outbox").open(sealed, context="exchange-1") == b'{"bsn": "111222333"}'
