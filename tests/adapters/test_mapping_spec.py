"""The YAML mapping layer: the shipped files are valid, bad files are refused with the file and entry named,
the declarative constructs behave, and `gateway adapters check` reports both."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.declarative import PartnerMapping
from adapters.formats import ONVOLLEDIGE_DATUM, date_codec
from adapters.mapping import MissingFieldError, UnmappedFieldError
from adapters.mapping_spec import MappingFileError, load_mapping, parse_mapping
from gateway.cli_adapters import shipped_mappings
from gateway.core.settings import REPO_ROOT

VT = REPO_ROOT / "adapters" / "veilig_thuis" / "mapping.yaml"


def _vt() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(VT.read_text(encoding="utf-8"))
    return raw


def _problems(raw: Any) -> list[tuple[str, str]]:
    with pytest.raises(MappingFileError) as raised:
        parse_mapping(raw, "partner.yaml")
    assert str(raised.value).startswith("partner.yaml: ")
    return raised.value.problems


def test_every_shipped_mapping_is_valid() -> None:
    names = {path.parent.name for path in shipped_mappings()}
    assert names >= {"veilig_thuis", "rvdk", "gi", "wijkteam"}
    for path in shipped_mappings():
        assert load_mapping(path).partner == path.parent.name


def test_unknown_canonical_field_is_refused_with_its_entry_path() -> None:
    raw = _vt()
    raw["records"]["persoon"]["fields"]["shoe_size"] = "persoonsgegevens.schoenmaat"
    raw["dossier"]["household"]["fields"]["pets"] = "huisdieren"
    problems = dict(_problems(raw))
    assert "unknown canonical field 'persons[].shoe_size'" in problems["records.persoon.fields.shoe_size"]
    assert "unknown canonical field 'household.pets'" in problems["dossier.household.fields.pets"]
    assert "composition" in problems["dossier.household.fields.pets"]  # it says what is known there


@pytest.mark.parametrize(("change", "where", "message"), [
    (lambda r: r["codes"]["aard"].update(mening="FEIT"), "codes.aard", "not one-to-one"),
    (lambda r: r["dossier"]["signals"]["fields"]["kind"].update(codes="soorten"), "dossier.signals.fields.kind.codes",
     "no code list named 'soorten'"),
    (lambda r: r["codes"]["gezinsrol"].update(kindje="KIND"), "records.persoon.fields.role.codes",
     "codes unknown to 'persons[].role': kindje"),
    (lambda r: r["dossier"]["signals"]["fields"]["date"].update(date="dd-mm-yy"), "dossier.signals.fields.date.date",
     "unknown date format"),
    (lambda r: r["dossier"]["plan"].update(path="plan..x"), "dossier.plan.path", "malformed native path"),
    (lambda r: r["dossier"]["persons"].update(record="mens"), "dossier.persons.record", "no record named 'mens'"),
    (lambda r: r["dossier"]["finances"]["fields"].update(debts={"path": "schulden", "fields": {"a": "b"}}),
     "dossier.finances.fields.debts.fields", "single value"),
    (lambda r: r["dossier"]["plan"].pop("fields"), "dossier.plan", "give exactly one of record and fields"),
    (lambda r: r["dossier"]["persons"]["split"].update(by="hobby"), "dossier.persons.split.by", "not a value field"),
    (lambda r: r["records"]["persoon"]["fields"].pop("email"), "dossier", "persons[].email"),
    (lambda r: r.update(unsupported=["persons[].hobby"]), "unsupported[0]", "unknown canonical field"),
    (lambda r: r.update(unsupported=["persons[].email"]), "unsupported[0]", "is mapped"),
    (lambda r: r["dossier"]["plan"].update(colour="blue"), "dossier.plan.colour", "Extra inputs are not permitted"),
    (lambda r: r["rest"]["envelope"].update({"kop.x": "secret_key"}), "rest.envelope.kop.x", "Input should be"),
    (lambda r: r.pop("dossier"), "dossier", "Field required"),
])
def test_bad_entries_are_named(change: Any, where: str, message: str) -> None:
    raw = _vt()
    change(raw)
    problems = _problems(raw)
    assert any(at == where and message in what for at, what in problems), problems


def test_unsupported_field_is_allowed_and_refused_at_runtime() -> None:
    raw = _vt()
    del raw["records"]["persoon"]["fields"]["email"]
    raw["unsupported"] = ["persons[].email"]
    mapping = PartnerMapping(parse_mapping(raw, "partner.yaml"))
    with pytest.raises(UnmappedFieldError, match="email"):
        mapping.dossier_to_native({"persons": [{"ref": "p1", "email": "x@example.org"}]})


def test_bad_yaml_and_missing_file_are_reported(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("partner: x\ndossier: [unclosed\n", encoding="utf-8")
    with pytest.raises(MappingFileError, match=r"broken\.yaml: line \d+, column \d+: not valid YAML"):
        load_mapping(broken)
    with pytest.raises(MappingFileError, match="cannot read the file"):
        load_mapping(tmp_path / "absent.yaml")


def test_declarative_constructs() -> None:
    raw = {
        "partner": "demo",
        "codes": {"rol": {"kind": "K", "ouder": "O"}},
        "dossier": {
            "persons": {"path": "leden", "constants": {"soort": "persoon"},
                        "split": {"by": "role", "lists": {"melder": "kop.melders"}},
                        "fields": {"ref": {"path": "id", "required": True}, "role": {"path": "rol", "codes": "rol"},
                                   "birth_date": {"path": "geb", "date": "dd/mm/yyyy"},
                                   "interpreter_needed": {"path": "tolk", "boolean": ["ja", "nee"]}}},
            "signals": {"path": "signalen", "fields": {"violence_forms": {"path": "vormen", "fields": {
                "category": "vorm", "victim_ref": "wie[rol=slachtoffer].id"}}}},
        },
    }
    spec_raw = copy.deepcopy(raw)
    problems = _problems(spec_raw)  # the demo maps only a few fields: the rest must be listed as unsupported
    assert problems[0][0] == "dossier" and "household.address.street" in problems[0][1]
    from gateway.dossier.fields import field_catalogue

    used = {"persons[].ref", "persons[].role", "persons[].birth_date", "persons[].interpreter_needed",
            "signals[].violence_forms[].category", "signals[].violence_forms[].victim_ref"}
    raw["unsupported"] = sorted(set(field_catalogue()) - used)
    mapping = PartnerMapping(parse_mapping(raw, "demo.yaml"))
    dossier = {"persons": [{"ref": "p1", "role": "kind", "birth_date": "2016-04-12", "interpreter_needed": True},
                           {"ref": "p2", "role": "melder", "birth_date": "2016"}],
               "signals": [{"violence_forms": [{"category": "verwaarlozing", "victim_ref": "p1"}]}]}
    native = mapping.dossier_to_native(dossier)
    assert native["leden"] == [{"soort": "persoon", "id": "p1", "rol": "K", "geb": "12/04/2016", "tolk": "ja"}]
    assert native["kop"]["melders"] == [{"soort": "persoon", "id": "p2", "geb": "2016"}]  # role is the list
    assert native["signalen"][0]["vormen"][0] == {"vorm": "verwaarlozing", "wie": [{"rol": "slachtoffer", "id": "p1"}]}
    assert mapping.native_to_dossier(native) == dossier
    with pytest.raises(MissingFieldError, match="ref"):
        mapping.dossier_to_native({"persons": [{"role": "kind"}]})
    with pytest.raises(MissingFieldError, match="ref"):
        mapping.native_to_dossier({"leden": [{"rol": "K"}]})


def test_named_formats() -> None:
    assert date_codec("yyyymmdd").encode("2016-04-12") == "20160412"
    assert date_codec("dd.mm.yyyy").decode("12.04.2016") == "2016-04-12"
    assert date_codec("iso").encode("0-4") == "0-4"
    assert date_codec("brp-onvolledige-datum") is ONVOLLEDIGE_DATUM
    with pytest.raises(ValueError, match="yyyy, mm and dd"):
        date_codec("mm-yyyy")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", "adapters", "check", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60, check=False)


def test_cli_checks_the_shipped_mappings() -> None:
    done = _cli()
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("veilig_thuis", "rvdk", "gi", "wijkteam"):
        assert f"(partner {name})" in done.stdout


def test_cli_reports_bad_files_with_file_and_entry(tmp_path: Path) -> None:
    raw = _vt()
    raw["records"]["persoon"]["fields"]["shoe_size"] = "persoonsgegevens.schoenmaat"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw), encoding="utf-8")
    done = _cli(str(VT), str(bad))
    assert done.returncode == 1
    assert f"ok   {VT}" in done.stdout
    assert f"FAIL {bad}" in done.stdout
    assert f"{bad}: records.persoon.fields.shoe_size: unknown canonical field 'persons[].shoe_size'" in done.stdout
    assert "1 of 2 mapping file(s) valid" in done.stdout


def test_the_worked_example_in_the_docs_works(make_delivery: Any) -> None:
    """docs/adapters.md's "Adding a partner" mapping, completed with the unsupported list the check asks for."""
    import re
    import textwrap

    from gateway.dossier.fields import field_catalogue

    doc = (REPO_ROOT / "docs" / "adapters.md").read_text(encoding="utf-8")
    block = re.search(r"1\. \*\*The mapping\*\*.*?```yaml\n(.*?)```", doc, re.DOTALL)
    assert block is not None
    raw = yaml.safe_load(textwrap.dedent(block.group(1)).split("unsupported:")[0])
    problems = _problems(raw)  # without its unsupported list the check names what still needs a place
    missing = problems[-1][1].split("unsupported:): ")[1].split(", ")
    assert "persons[].given_names" in missing and "persons[].bsn" not in missing
    raw["unsupported"] = missing
    assert set(missing) < set(field_catalogue())
    mapping = PartnerMapping(parse_mapping(raw, "jeugdhulp_noord.yaml"))
    dossier = {"persons": [{"ref": "p1", "role": "kind", "bsn": "111222333", "birth_date": "2016-04-12",
                            "sex": "vrouw"}],
               "signals": [{"kind": "melding", "date": "2024-10-02", "situation": "Zorgen."}]}
    message = mapping.encode_message(make_delivery(dossier, purpose="toeleiding_hulp"))
    assert message["header"] == {"messageId": "ex-0001", "from": "org-sender", "purpose": "toeleiding_hulp"}
    assert message["melding"]["clients"] == [{"id": "p1", "type": "CHILD", "bsn": "111222333", "dob": "12/04/2016",
                                              "gender": "F"}]
    assert message["melding"]["concerns"] == [{"category": "MELDING", "receivedOn": "02/10/2024",
                                               "summary": "Zorgen."}]
    assert mapping.decode_message(message) == dossier
    assert mapping.receipt_reference({"reference": "JN-123"}) == "JN-123"
