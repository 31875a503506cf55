package gateway.decision_test

# Tests for gateway.decision against the real tables in policies/data. Naming: test_<flow>_<case> for the
# flows (test_f2_..., test_r1_...), test_generic_... for the mechanism. A few tests replace a table with
# `with data.gateway.tables...` to exercise a table-driven mechanism; they say so.
# Run: make test (pytest runs every test_* rule on regorus and on OPA's own evaluator).

import rego.v1

import data.gateway.decision

# --- Input builders ------------------------------------------------------------------------------------

_context := {
	"kader": "vrijwillig",
	"measure": null,
	"afwegingskader_documented": false,
	"parents_informed": null,
	"parents_not_informed_reason": null,
	"consent_present": false,
	"explicit_consent_health": false,
	"urgency": "normaal",
	"question_present": false,
	"voluntary_help_insufficient": false,
	"reporter_strictly_needed": false,
	"documented_weighing": false,
	"conflict_van_plichten": false,
	"handover_to_voluntary": false,
}

# A push: requested_categories are the categories present.
_push(sender, recipient, purpose, context, fields) := {
	"version": 1,
	"today": "2026-11-22",
	"pattern": "push",
	"sender": {"id": concat("-", [sender, "test"]), "type": sender},
	"recipient": {"id": concat("-", [recipient, "test"]), "type": recipient},
	"purpose": purpose,
	"professional_role": "testrol",
	"context": object.union(_context, context),
	"subjects": [{"role": "kind"}, {"role": "ouder"}],
	"requested_categories": sort({field.category | some field in fields}),
	"fields": fields,
}

# A pull: the holder is the sender; with fields [] it is the pre-decision on the requested categories.
_pull(holder, caller, purpose, context, requested, fields) := object.union(
	_push(holder, caller, purpose, context, fields),
	{"pattern": "pull", "requested_categories": requested},
)

_field(path, schema, category, identifier) := {
	"path": path,
	"field": schema,
	"category": category,
	"identifier": identifier,
}

_person(index, name, category, identifier, role) := {
	"path": concat("", ["persons[", index, "].", name]),
	"field": concat("", ["persons[].", name]),
	"category": category,
	"identifier": identifier,
	"subject_role": role,
}

_kind_ref := _person("0", "ref", "structure", false, "kind")

_kind_bsn := _person("0", "bsn", "identification", true, "kind")

_kind_surname := _person("0", "surname", "identification", true, "kind")

_kind_birth_date := _person("0", "birth_date", "identification", false, "kind")

_kind_sex := _person("0", "sex", "identification", false, "kind")

_kind_school := _person("0", "school", "education", false, "kind")

_parent_phone := _person("1", "phone", "contact", true, "ouder")

_reporter_ref := _person("2", "ref", "structure", false, "melder")

_reporter_role := _person("2", "role", "structure", false, "melder")

_reporter_surname := _person("2", "surname", "reporter", true, "melder")

_reporter_organisation := _person("2", "organisation", "reporter", false, "melder")

_street := _field("household.address.street", "household.address.street", "contact", true)

_postcode := _field("household.address.postcode", "household.address.postcode", "contact", true)

_municipality := _field("household.address.municipality", "household.address.municipality", "contact", false)

_composition := _field("household.composition", "household.composition", "household", false)

_situation := _field("signals[0].situation", "signals[].situation", "signals", false)

_violence := _field("signals[0].violence_forms[0].category", "signals[].violence_forms[].category", "signals", false)

_restraining_order := _field("signals[0].restraining_order", "signals[].restraining_order", "justice", false)

_observation_text := _field("observations[0].text", "observations[].text", "signals", false)

_observation_source := _field("observations[0].source", "observations[].source", "signals", false)

_triage := _field("safety_assessments[0].triage", "safety_assessments[].triage", "safety", false)

_safety_goals := _field("safety_plan.goals", "safety_plan.goals", "safety", false)

_involvement := _field("involvements[0].kind", "involvements[].kind", "help", false)

# An involvement flagged mental_health arrives as health data (AVG art. 9).
_mental_health := _field("involvements[1].kind", "involvements[].kind", "health", false)

_diagnosis := _field("health[0].description", "health[].description", "health", false)

_police_contact := _field("justice[0].kind", "justice[].kind", "justice", false)

_debts := _field("finances.debts", "finances.debts", "income", false)

_case_number := _field("case_numbers[0].number", "case_numbers[].number", "case_reference", false)

_measure_kind := _field("measures[0].kind", "measures[].kind", "measures", false)

_measure_end := _field("measures[0].end", "measures[].end", "measures", false)

_measure_court := _field("measures[0].court", "measures[].court", "measures", false)

_plan_goals := _field("plan.goals", "plan.goals", "plan", false)

_ots(start, end) := {"kind": "ots", "start": start, "end": end, "reference_present": true}

_treatment(d, field) := d.fields[field.path].treatment

_all_dropped(d) if {
	count(d.fields) > 0
	every _, out in d.fields {
		out.treatment == "drop"
	}
}

_has_reason(d, text) if {
	some reason in d.reasons
	contains(reason, text)
}

# --- F1 adviesvraag (wijkteam → Veilig Thuis) ----------------------------------------------------------

_f1_fields := [_kind_ref, _composition, _situation, _violence, _triage, _involvement, _case_number]

test_f1_anonymous_advice_allowed if {
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "adviesvraag", {}, _f1_fields)
	d.outcome == "allow"
	d.flow == "F1"
	d.legal_basis.id == "wmo-4.1.1-advies"
	d.legal_basis.avg_special == null
	_treatment(d, _situation) == "pass"
	_treatment(d, _kind_ref) == "pass"
	_treatment(d, _case_number) == "encrypt"
	count(d.fields) == count(_f1_fields)
}

test_f1_refuses_identifier if {
	fields := array.concat(_f1_fields, [_kind_bsn])
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "adviesvraag", {}, fields)
	d.outcome == "deny"
	d.flow == "F1"
	_has_reason(d, "anoniem")
	_all_dropped(d)
}

test_f1_refuses_contact_data_without_identifier_flag if {
	fields := array.concat(_f1_fields, [_municipality])
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "adviesvraag", {}, fields)
	d.outcome == "deny"
}

test_f1_refuses_reporter_data if {
	fields := array.concat(_f1_fields, [_reporter_organisation])
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "adviesvraag", {}, fields)
	d.outcome == "deny"
}

test_f1_drops_health_without_ground if {
	fields := array.concat(_f1_fields, [_diagnosis])
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "adviesvraag", {}, fields)
	d.outcome == "allow"
	_treatment(d, _diagnosis) == "drop"
}

test_f1_wrong_direction_refused if {
	d := decision.decision with input as _push("veilig_thuis", "wijkteam", "adviesvraag", {}, _f1_fields)
	d.outcome == "deny"
	d.flow == null
	d.legal_basis == null
	"Er is geen toegestane gegevensstroom voor dit doel tussen deze organisaties." in d.reasons
}

# --- F2 melding (wijkteam → Veilig Thuis) --------------------------------------------------------------

_f2_context := {"afwegingskader_documented": true, "parents_informed": true}

_f2_fields := [
	_kind_ref, _kind_bsn, _kind_surname, _parent_phone, _street, _composition, _situation, _triage,
	_involvement, _reporter_ref, _reporter_surname, _reporter_organisation,
]

test_f2_melding_allowed_with_identities_and_reporter if {
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "melding", _f2_context, _f2_fields)
	d.outcome == "allow"
	d.flow == "F2"
	d.legal_basis.id == "wmo-5.2.6-melding"
	d.legal_basis.avg_article == "AVG art. 6 lid 1 sub e"
	startswith(d.legal_basis.link, "https://wetten.overheid.nl/")
	d.processing_activity == {"id": "VA-F2-melding", "version": "1"}
	d.retention == "P20Y"
	_treatment(d, _kind_bsn) == "pass"
	_treatment(d, _kind_surname) == "pass"
	_treatment(d, _street) == "pass"
	_treatment(d, _reporter_surname) == "pass"
	_treatment(d, _reporter_ref) == "pass"
}

test_f2_reporter_makes_exchange_strictly_confidential if {
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "melding", _f2_context, _f2_fields)
	d.confidentiality == "zeer_geheim"
	some obligation in d.obligations
	contains(obligation, "melder")
}

test_f2_without_reporter_is_confidential if {
	fields := [_kind_ref, _kind_bsn, _situation]
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "melding", _f2_context, fields)
	d.outcome == "allow"
	d.confidentiality == "vertrouwelijk"
	d.legal_basis.avg_special == null
}

test_f2_special_categories_pass_with_ground if {
	fields := array.concat(_f2_fields, [_mental_health, _restraining_order])
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "melding", _f2_context, fields)
	d.outcome == "allow"
	_treatment(d, _mental_health) == "pass"
	_treatment(d, _restraining_order) == "pass"
	d.legal_basis.avg_special == "AVG art. 9 lid 2 sub g; AVG art. 10"
}

test_f2_income_not_in_flow_is_dropped if {
	fields := array.concat(_f2_fields, [_debts])
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "melding", _f2_context, fields)
	d.outcome == "allow"
	_treatment(d, _debts) == "drop"
	_treatment(d, _kind_bsn) == "pass"
	_has_reason(d, "inkomen en schulden")
}

test_f2_refused_without_afwegingskader if {
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "melding", {"parents_informed": true}, _f2_fields)
	d.outcome == "deny"
	d.flow == "F2"
	_has_reason(d, "afwegingskader")
	_all_dropped(d)
	d.obligations == []
}

test_f2_refused_when_parents_not_informed_without_reason if {
	ctx := {"afwegingskader_documented": true, "parents_informed": false}
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "melding", ctx, _f2_fields)
	d.outcome == "deny"
	_has_reason(d, "ouders")
}

test_f2_allowed_when_parents_not_informed_for_safety if {
	ctx := {"afwegingskader_documented": true, "parents_informed": false, "parents_not_informed_reason": "veiligheid_kind"}
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "melding", ctx, _f2_fields)
	d.outcome == "allow"
	some obligation in d.obligations
	contains(obligation, "niet vooraf zijn geïnformeerd")
}

test_f2_other_reason_for_not_informing_parents_escalates if {
	ctx := {"afwegingskader_documented": true, "parents_informed": false, "parents_not_informed_reason": "anders"}
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "melding", ctx, _f2_fields)
	d.outcome == "escalate"
	d.flow == "F2"
	_all_dropped(d)
}

test_f2_conflict_van_plichten_escalates if {
	ctx := object.union(_f2_context, {"conflict_van_plichten": true})
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "melding", ctx, _f2_fields)
	d.outcome == "escalate"
	_has_reason(d, "conflict van plichten")
	_all_dropped(d)
}

test_f2_wrong_direction_refused if {
	d := decision.decision with input as _push("veilig_thuis", "wijkteam", "melding", _f2_context, _f2_fields)
	d.outcome == "deny"
	d.flow == null
	_all_dropped(d)
}

test_f2_pull_refused if {
	d := decision.decision with input as _pull("wijkteam", "veilig_thuis", "melding", _f2_context, ["identification"], [])
	d.outcome == "deny"
	d.flow == null
}

# --- F3 inlichtingen voor een VT-onderzoek (wijkteam → Veilig Thuis) ----------------------------------

test_f3_pull_predecision_allowed_with_question if {
	requested := ["identification", "signals", "help"]
	d := decision.decision with input as _pull("wijkteam", "veilig_thuis", "informatie_vt_onderzoek", {"question_present": true}, requested, [])
	d.outcome == "allow"
	d.flow == "F3"
	d.fields == {}
}

test_f3_refused_without_question if {
	requested := ["identification", "signals"]
	d := decision.decision with input as _pull("wijkteam", "veilig_thuis", "informatie_vt_onderzoek", {}, requested, [])
	d.outcome == "deny"
	_has_reason(d, "vraag")
}

test_f3_pull_with_fields_drops_contact_and_reporter if {
	fields := [_kind_bsn, _parent_phone, _situation, _reporter_surname]
	requested := ["identification", "contact", "signals", "reporter"]
	d := decision.decision with input as _pull("wijkteam", "veilig_thuis", "informatie_vt_onderzoek", {"question_present": true}, requested, fields)
	d.outcome == "allow"
	_treatment(d, _kind_bsn) == "pass"
	_treatment(d, _parent_phone) == "drop"
	_treatment(d, _reporter_surname) == "drop"
}

test_f3_reporter_person_not_revealed if {
	# F3 names no reporter category, so not even the reporter's person reference and role leave.
	fields := [_kind_ref, _kind_bsn, _reporter_ref, _reporter_role, _reporter_surname]
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "informatie_vt_onderzoek", {"question_present": true}, fields)
	d.outcome == "allow"
	_treatment(d, _kind_ref) == "pass"
	_treatment(d, _reporter_ref) == "drop"
	_treatment(d, _reporter_role) == "drop"
	_treatment(d, _reporter_surname) == "drop"
}

# --- F4 verzoek tot onderzoek (Veilig Thuis → RvdK) ----------------------------------------------------

_f4_context := {"voluntary_help_insufficient": true, "parents_informed": true}

_f4_fields := [_kind_bsn, _parent_phone, _composition, _situation, _triage, _involvement, _measure_kind, _reporter_surname]

test_f4_allowed_and_reporter_withheld_by_default if {
	d := decision.decision with input as _push("veilig_thuis", "rvdk", "verzoek_tot_onderzoek", _f4_context, _f4_fields)
	d.outcome == "allow"
	d.flow == "F4"
	_treatment(d, _kind_bsn) == "pass"
	_treatment(d, _measure_kind) == "pass"
	_treatment(d, _reporter_surname) == "drop"
	d.confidentiality == "vertrouwelijk"
}

test_f4_reporter_passes_when_strictly_needed if {
	ctx := object.union(_f4_context, {"reporter_strictly_needed": true})
	d := decision.decision with input as _push("veilig_thuis", "rvdk", "verzoek_tot_onderzoek", ctx, _f4_fields)
	d.outcome == "allow"
	_treatment(d, _reporter_surname) == "pass"
	d.confidentiality == "zeer_geheim"
}

test_f4_refused_while_voluntary_help_not_insufficient if {
	d := decision.decision with input as _push("veilig_thuis", "rvdk", "verzoek_tot_onderzoek", {"parents_informed": true}, _f4_fields)
	d.outcome == "deny"
	_has_reason(d, "vrijwillige hulp")
}

test_f4_wrong_purpose_refused if {
	d := decision.decision with input as _push("veilig_thuis", "rvdk", "melding", _f4_context, _f4_fields)
	d.outcome == "deny"
	d.flow == null
}

# --- F5 inlichtingen voor een raadsonderzoek (wijkteam → RvdK) -----------------------------------------

test_f5_allowed_with_documented_weighing if {
	fields := [_kind_bsn, _situation, _kind_school, _diagnosis]
	d := decision.decision with input as _push("wijkteam", "rvdk", "informatie_raadsonderzoek", {"documented_weighing": true}, fields)
	d.outcome == "allow"
	d.flow == "F5"
	_treatment(d, _diagnosis) == "pass"
	d.legal_basis.avg_special != null
}

test_f5_refused_without_documented_weighing if {
	fields := [_kind_bsn, _situation]
	d := decision.decision with input as _push("wijkteam", "rvdk", "informatie_raadsonderzoek", {}, fields)
	d.outcome == "deny"
	_has_reason(d, "afweging")
}

# --- F6 uitvoering (voorlopige) OTS (RvdK → GI) --------------------------------------------------------

_f6_fields := [_kind_bsn, _parent_phone, _situation, _measure_kind, _measure_court, _case_number]

test_f6_allowed_while_ots_runs if {
	ctx := {"kader": "gedwongen_civiel", "measure": _ots("2026-01-01", "2027-01-01")}
	d := decision.decision with input as _push("rvdk", "gi", "uitvoering_ots", ctx, _f6_fields)
	d.outcome == "allow"
	d.flow == "F6"
	_treatment(d, _measure_court) == "pass"
}

test_f6_allowed_for_voorlopige_ots_without_end if {
	ctx := {"measure": {"kind": "voorlopige_ots", "start": "2026-11-20", "end": null, "reference_present": true}}
	d := decision.decision with input as _push("rvdk", "gi", "uitvoering_ots", ctx, _f6_fields)
	d.outcome == "allow"
}

test_f6_allowed_on_last_day if {
	d := decision.decision with input as _push("rvdk", "gi", "uitvoering_ots", {"measure": _ots("2025-11-22", "2026-11-22")}, _f6_fields)
	d.outcome == "allow"
}

test_f6_refused_after_ots_ended if {
	d := decision.decision with input as _push("rvdk", "gi", "uitvoering_ots", {"measure": _ots("2025-01-01", "2026-11-21")}, _f6_fields)
	d.outcome == "deny"
	_has_reason(d, "maatregel")
	_all_dropped(d)
}

test_f6_refused_before_ots_starts if {
	d := decision.decision with input as _push("rvdk", "gi", "uitvoering_ots", {"measure": _ots("2026-12-01", null)}, _f6_fields)
	d.outcome == "deny"
}

test_f6_refused_for_other_measure if {
	ctx := {"measure": {"kind": "voogdij", "start": "2026-01-01", "end": null, "reference_present": true}}
	d := decision.decision with input as _push("rvdk", "gi", "uitvoering_ots", ctx, _f6_fields)
	d.outcome == "deny"
}

test_f6_refused_without_measure if {
	d := decision.decision with input as _push("rvdk", "gi", "uitvoering_ots", {}, _f6_fields)
	d.outcome == "deny"
}

# --- F7 inlichtingen tijdens een OTS (wijkteam → GI) ---------------------------------------------------

test_f7_pull_allowed_with_active_referenced_ots if {
	ctx := {"measure": _ots("2026-01-01", "2027-01-01")}
	d := decision.decision with input as _pull("wijkteam", "gi", "informatie_ots", ctx, ["signals", "help"], [])
	d.outcome == "allow"
	d.flow == "F7"
	d.legal_basis.avg_article == "AVG art. 6 lid 1 sub c"
}

test_f7_push_allowed_and_contact_dropped if {
	ctx := {"measure": _ots("2026-01-01", "2027-01-01")}
	fields := [_kind_bsn, _parent_phone, _situation, _debts]
	d := decision.decision with input as _push("wijkteam", "gi", "informatie_ots", ctx, fields)
	d.outcome == "allow"
	_treatment(d, _parent_phone) == "drop"
	_treatment(d, _debts) == "pass"
}

test_f7_refused_without_reference_to_ots if {
	ctx := {"measure": {"kind": "ots", "start": "2026-01-01", "end": "2027-01-01", "reference_present": false}}
	d := decision.decision with input as _pull("wijkteam", "gi", "informatie_ots", ctx, ["signals"], [])
	d.outcome == "deny"
	_has_reason(d, "verwijst niet")
}

test_f7_refused_without_ots if {
	d := decision.decision with input as _pull("wijkteam", "gi", "informatie_ots", {}, ["signals"], [])
	d.outcome == "deny"
}

test_f7_bulk_pull_refused if {
	ctx := {"measure": _ots("2026-01-01", "2027-01-01")}
	one_household := _pull("wijkteam", "gi", "informatie_ots", ctx, ["signals"], [])
	many := object.union(one_household, {"subjects": [{"role": "kind"} | some _ in numbers.range(1, 11)]})
	d := decision.decision with input as many
	d.outcome == "deny"
	_has_reason(d, "bulkopvraging")
}

test_f7_pull_of_a_large_household_within_the_limit_allowed if {
	ctx := {"measure": _ots("2026-01-01", "2027-01-01")}
	household := _pull("wijkteam", "gi", "informatie_ots", ctx, ["signals"], [])
	ten := object.union(household, {"subjects": [{"role": "kind"} | some _ in numbers.range(1, 10)]})
	d := decision.decision with input as ten
	d.outcome == "allow"
}

# --- F8 hulp tijdens een OTS en overdracht (GI → wijkteam) ---------------------------------------------

_f8_fields := [_kind_bsn, _parent_phone, _involvement, _safety_goals, _measure_kind, _measure_court, _mental_health, _situation]

test_f8_allowed_during_ots_with_minimised_measure if {
	ctx := {"measure": _ots("2026-01-01", "2027-01-01")}
	d := decision.decision with input as _push("gi", "wijkteam", "hulp_tijdens_ots", ctx, _f8_fields)
	d.outcome == "allow"
	d.flow == "F8"
	_treatment(d, _measure_kind) == "pass"
	_treatment(d, _measure_court) == "drop"
	_treatment(d, _situation) == "drop"
	_treatment(d, _mental_health) == "drop"
}

test_f8_refused_after_ots_for_help_purpose if {
	d := decision.decision with input as _push("gi", "wijkteam", "hulp_tijdens_ots", {"measure": _ots("2025-01-01", "2026-01-01")}, _f8_fields)
	d.outcome == "deny"
}

test_f8_handover_requires_consent if {
	d := decision.decision with input as _push("gi", "wijkteam", "overdracht_vrijwillig_kader", {"handover_to_voluntary": true}, _f8_fields)
	d.outcome == "deny"
	_has_reason(d, "toestemming")
}

test_f8_handover_health_only_with_explicit_consent if {
	ctx := {"consent_present": true, "handover_to_voluntary": true}
	d := decision.decision with input as _push("gi", "wijkteam", "overdracht_vrijwillig_kader", ctx, _f8_fields)
	d.outcome == "allow"
	_treatment(d, _mental_health) == "drop"
	d.legal_basis.avg_special == null
}

test_f8_handover_health_passes_with_explicit_consent if {
	ctx := {"consent_present": true, "handover_to_voluntary": true, "explicit_consent_health": true}
	d := decision.decision with input as _push("gi", "wijkteam", "overdracht_vrijwillig_kader", ctx, _f8_fields)
	d.outcome == "allow"
	_treatment(d, _mental_health) == "pass"
	contains(d.legal_basis.avg_special, "UAVG art. 22 lid 2 sub a")
	d.confidentiality == "zeer_geheim"
}

# --- F9 toeleiding en monitoring (Veilig Thuis → wijkteam) ---------------------------------------------

_f9_fields := [
	_kind_ref, _kind_bsn, _parent_phone, _situation, _observation_text, _observation_source, _safety_goals,
	_reporter_ref, _reporter_role, _reporter_surname, _reporter_organisation, _diagnosis,
]

test_f9_allowed_and_reporter_never_released if {
	d := decision.decision with input as _push("veilig_thuis", "wijkteam", "toeleiding_hulp", {}, _f9_fields)
	d.outcome == "allow"
	d.flow == "F9"
	_treatment(d, _kind_bsn) == "pass"
	_treatment(d, _safety_goals) == "pass"
	_treatment(d, _reporter_surname) == "drop"
	_treatment(d, _reporter_organisation) == "drop"
	_treatment(d, _reporter_ref) == "drop"
	_treatment(d, _reporter_role) == "drop"
	_treatment(d, _kind_ref) == "pass"
	d.confidentiality == "vertrouwelijk"
}

test_f9_reporter_withheld_even_if_flagged_needed if {
	ctx := {"reporter_strictly_needed": true}
	d := decision.decision with input as _push("veilig_thuis", "wijkteam", "monitoring", ctx, _f9_fields)
	d.outcome == "allow"
	_treatment(d, _reporter_surname) == "drop"
}

test_f9_observation_source_and_health_dropped if {
	d := decision.decision with input as _push("veilig_thuis", "wijkteam", "monitoring", {}, _f9_fields)
	_treatment(d, _observation_text) == "pass"
	_treatment(d, _observation_source) == "drop"
	_treatment(d, _diagnosis) == "drop"
}

test_f9_wrong_direction_refused if {
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "toeleiding_hulp", {}, _f9_fields)
	d.outcome == "deny"
}

# --- R1 onderzoek en sturing (any → research) ----------------------------------------------------------

_r1_fields := [
	_kind_ref, _kind_bsn, _kind_surname, _kind_birth_date, _kind_sex, _kind_school, _parent_phone, _street,
	_postcode, _municipality, _composition, _situation, _violence, _observation_text, _triage, _safety_goals,
	_involvement, _mental_health, _police_contact, _debts, _measure_kind, _measure_end, _plan_goals,
	_case_number, _reporter_ref, _reporter_organisation,
]

test_r1_pseudonymises_and_generalises if {
	d := decision.decision with input as _push("wijkteam", "research", "onderzoek_en_sturing", {}, _r1_fields)
	d.outcome == "allow"
	d.flow == "R1"
	_treatment(d, _kind_bsn) == "pseudonymise"
	d.fields[_kind_birth_date.path] == {"treatment": "generalise", "method": "year", "reason": "Alleen het geboortejaar."}
	d.fields[_postcode.path].treatment == "generalise"
	d.fields[_postcode.path].method == "postcode4"
	_treatment(d, _kind_sex) == "pass"
	_treatment(d, _violence) == "pass"
	_treatment(d, _municipality) == "pass"
}

test_r1_never_passes_a_direct_identifier if {
	d := decision.decision with input as _push("wijkteam", "research", "onderzoek_en_sturing", {}, _r1_fields)
	identifiers := [field | some field in _r1_fields; field.identifier == true]
	count(identifiers) > 3
	every field in identifiers {
		d.fields[field.path].treatment in {"pseudonymise", "generalise", "drop"}
	}
	_treatment(d, _kind_surname) == "drop"
	_treatment(d, _parent_phone) == "drop"
	_treatment(d, _street) == "drop"
}

test_r1_drops_free_text_special_categories_reporter_and_case_numbers if {
	d := decision.decision with input as _push("gi", "research", "onderzoek_en_sturing", {}, _r1_fields)
	d.outcome == "allow"
	_treatment(d, _situation) == "drop"
	_treatment(d, _observation_text) == "drop"
	_treatment(d, _safety_goals) == "drop"
	_treatment(d, _plan_goals) == "drop"
	_treatment(d, _mental_health) == "drop"
	_treatment(d, _police_contact) == "drop"
	_treatment(d, _reporter_organisation) == "drop"
	_treatment(d, _reporter_ref) == "drop"
	_treatment(d, _case_number) == "drop"
	_treatment(d, _kind_school) == "drop"
	d.legal_basis.avg_special == null
}

test_r1_guard_holds_even_if_the_table_says_pass if {
	# Table-driven mechanism: a careless R1 row that passes identification and contact must still not
	# release names or phone numbers, and a birth date only as a year.
	loose := object.union(data.gateway.tables.flows.R1, {"categories": {
		"identification": {"treatment": "pass", "reason": "Test."},
		"contact": {"treatment": "encrypt", "reason": "Test."},
	}})
	d := decision.decision with input as _push("wijkteam", "research", "onderzoek_en_sturing", {}, _r1_fields)
		with data.gateway.tables.flows.R1 as loose
	d.outcome == "allow"
	_treatment(d, _kind_surname) == "drop"
	_treatment(d, _parent_phone) == "drop"
	_treatment(d, _street) == "drop"
	d.fields[_kind_birth_date.path].method == "year"
	_treatment(d, _kind_bsn) == "pseudonymise"
}

test_r1_wrong_purpose_refused if {
	d := decision.decision with input as _push("wijkteam", "research", "melding", {}, _r1_fields)
	d.outcome == "deny"
	d.flow == null
	_all_dropped(d)
}

# --- Generic mechanism ---------------------------------------------------------------------------------

test_generic_unknown_purpose_refused if {
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "nieuwsgierigheid", {}, [_kind_bsn])
	d.outcome == "deny"
	d.flow == null
	d.legal_basis == null
	d.processing_activity == null
	d.retention == null
	d.obligations == []
	_has_reason(d, "doel is onbekend")
	_treatment(d, _kind_bsn) == "drop"
}

test_generic_unknown_organisation_type_refused if {
	d := decision.decision with input as _push("politie", "research", "onderzoek_en_sturing", {}, [_composition])
	d.outcome == "deny"
	d.flow == null
}

test_generic_unknown_input_version_refused if {
	inp := object.union(_push("wijkteam", "veilig_thuis", "melding", _f2_context, _f2_fields), {"version": 2})
	d := decision.decision with input as inp
	d.outcome == "deny"
	_has_reason(d, "versie")
}

test_generic_empty_input_refused if {
	d := decision.decision with input as {}
	d.outcome == "deny"
	d.flow == null
	d.fields == {}
}

test_generic_every_field_gets_an_entry if {
	odd := _field("unknown.thing", "unknown.thing", "astrology", false)
	fields := array.concat(_f2_fields, [odd])
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "melding", _f2_context, fields)
	d.outcome == "allow"
	count(d.fields) == count(fields)
	_treatment(d, odd) == "drop"
}

test_generic_nothing_covered_refused if {
	d := decision.decision with input as _pull("wijkteam", "veilig_thuis", "informatie_vt_onderzoek", {"question_present": true}, ["reporter", "contact"], [])
	d.outcome == "deny"
	_has_reason(d, "Geen van de gevraagde")
}

test_generic_unknown_condition_fails_closed if {
	# Table-driven mechanism: a condition name Rego does not know never holds.
	row := object.union(data.gateway.tables.flows.F3, {"conditions": ["question_present", "maanstand_gunstig"]})
	d := decision.decision with input as _pull("wijkteam", "veilig_thuis", "informatie_vt_onderzoek", {"question_present": true}, ["signals"], [])
		with data.gateway.tables.flows.F3 as row
	d.outcome == "deny"
	_has_reason(d, "maanstand_gunstig")
}

test_generic_unknown_escalation_trigger_escalates if {
	# Table-driven mechanism: an escalation name Rego does not know sends the exchange to a human.
	row := object.union(data.gateway.tables.flows.F3, {"escalate_on": ["iets_nieuws"]})
	d := decision.decision with input as _pull("wijkteam", "veilig_thuis", "informatie_vt_onderzoek", {"question_present": true}, ["signals"], [])
		with data.gateway.tables.flows.F3 as row
	d.outcome == "escalate"
}

test_generic_special_category_without_ground_dropped if {
	# Table-driven mechanism: a health rule whose `ground` names no AVG art. 9 exception (or no known
	# legal basis at all) never releases health data. (OPA merges objects given with `with`, so the test
	# replaces the ground's value instead of removing the key.)
	fields := array.concat(_f2_fields, [_diagnosis])
	every ground in ["wmo-4.1.1-advies", "bestaat-niet"] {
		d := decision.decision with input as _push("wijkteam", "veilig_thuis", "melding", _f2_context, fields)
			with data.gateway.tables.flows.F2.categories.health.ground as ground
		d.outcome == "allow"
		_treatment(d, _diagnosis) == "drop"
		contains(d.fields[_diagnosis.path].reason, "grondslag")
		d.legal_basis.avg_special == null
	}
}

test_generic_invalid_treatment_and_method_dropped if {
	# Table-driven mechanism: a typo in a treatment or a generalise without method fails closed per field.
	row := object.union(data.gateway.tables.flows.F2, {"categories": {
		"signals": {"treatment": "passs", "reason": "Test."},
		"safety": {"treatment": "generalise", "reason": "Test."},
	}})
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "melding", _f2_context, _f2_fields)
		with data.gateway.tables.flows.F2 as row
	d.outcome == "allow"
	_treatment(d, _situation) == "drop"
	_treatment(d, _triage) == "drop"
	_treatment(d, _kind_bsn) == "pass"
}

test_generic_ambiguous_flows_refused if {
	# Table-driven mechanism: two rows that match the same exchange make the table unusable for it.
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "melding", _f2_context, _f2_fields)
		with data.gateway.tables.flows.F2bis as data.gateway.tables.flows.F2
	d.outcome == "deny"
	d.flow == null
	_has_reason(d, "Meer dan één")
}

test_generic_override_never_opens_a_closed_category if {
	# Table-driven mechanism: a field override in a category the flow does not name stays dropped.
	row := object.union(data.gateway.tables.flows.F2, {"fields": {"finances.debts": {"treatment": "pass", "reason": "Test."}}})
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "melding", _f2_context, array.concat(_f2_fields, [_debts]))
		with data.gateway.tables.flows.F2 as row
	_treatment(d, _debts) == "drop"
}

test_generic_known_conditions_are_exposed if {
	"measure_active" in decision.known_conditions
	"no_identifiers" in decision.known_conditions
	"conflict_van_plichten" in decision.known_escalations
}

# --- Break-glass (doorbraak) ---------------------------------------------------------------------------

_glass := {"break_glass": true}

test_generic_break_glass_opens_f7_without_ots_within_its_categories if {
	fields := [_kind_ref, _kind_bsn, _situation, _triage, _debts, _diagnosis]
	d := decision.decision with input as _push("wijkteam", "gi", "informatie_ots", _glass, fields)
	d.outcome == "allow"
	d.flow == "F7"
	d.break_glass == {"requested": true, "applied": true, "unnecessary": false}
	startswith(d.reasons[0], "Doorbraak (break-glass) toegepast")
	some overridden in d.reasons
	startswith(overridden, "Overbrugd: ")
	_treatment(d, _kind_bsn) == "pass"
	_treatment(d, _kind_ref) == "pass"
	_treatment(d, _triage) == "pass"
	_treatment(d, _debts) == "drop" # income: not something break-glass opens
	_treatment(d, _diagnosis) == "drop" # health: not something break-glass opens
}

test_generic_break_glass_overrides_an_escalation if {
	ctx := object.union(object.union(_f2_context, _glass), {"conflict_van_plichten": true})
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "melding", ctx, _f2_fields)
	d.outcome == "allow"
	d.break_glass.applied == true
	_treatment(d, _reporter_surname) == "drop" # the reporter is never opened by break-glass
}

test_generic_break_glass_where_not_needed_is_flagged_not_applied if {
	ctx := object.union(_f2_context, _glass)
	d := decision.decision with input as _push("wijkteam", "veilig_thuis", "melding", ctx, _f2_fields)
	d.outcome == "allow"
	d.break_glass == {"requested": true, "applied": false, "unnecessary": true}
	_treatment(d, _reporter_surname) == "pass" # the normal policy decides, unchanged
}

test_generic_break_glass_never_without_a_matching_flow if {
	d := decision.decision with input as _push("wijkteam", "gi", "melding", _glass, [_kind_bsn])
	d.outcome == "deny"
	d.break_glass.applied == false
}

test_generic_break_glass_never_for_anonymous_advice_or_research if {
	advice := decision.decision with input as _push("wijkteam", "veilig_thuis", "adviesvraag", _glass, [_kind_bsn])
	advice.outcome == "deny"
	research := decision.decision with input as _push("wijkteam", "research", "onderzoek_en_sturing", _glass, [_kind_bsn])
	research.break_glass.applied == false
}

test_generic_break_glass_does_not_pass_a_bulk_refusal if {
	pull := _pull("wijkteam", "gi", "informatie_ots", _glass, ["signals"], [])
	many := object.union(pull, {"subjects": [{"role": "kind"} | some _ in numbers.range(1, 11)]})
	d := decision.decision with input as many
	d.outcome == "deny"
	d.break_glass.applied == false
}
