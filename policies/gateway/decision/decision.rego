# METADATA
# title: Gateway exchange decision
# description: >-
#   Decides one exchange between partners (allow, deny or escalate) and what happens to every field.
#   All flow knowledge lives in the tables under data.gateway.tables (policies/data/*.yaml); this module
#   only implements the generic mechanism: flow matching, a fixed set of named conditions and escalation
#   triggers, per-category and per-field treatments, special-category grounds, reporter protection and the
#   research guard. Deny by default: anything not matched, not named or malformed is refused or dropped.
#   Contract: docs/policy-guide.md, section "Beleidsinvoer en -beslissing".
package gateway.decision

import rego.v1

default _flows := {}

_flows := data.gateway.tables.flows

default _categories := {}

_categories := data.gateway.tables.categories

default _legal_bases := {}

_legal_bases := data.gateway.tables.legal_bases

default _purposes := {}

_purposes := data.gateway.tables.purposes

default _ctx := {}

_ctx := input.context if is_object(input.context)

# Organisation types of the contract; `any` in a flow row stands for one of these, never for an unknown type.
_org_types := {"veilig_thuis", "rvdk", "gi", "wijkteam", "research"}

_treatments := {"pass", "pseudonymise", "encrypt", "generalise", "drop"}

_generalise_methods := {"year", "age_band", "municipality", "postcode4"}

_confidentiality_rank := {"openbaar": 0, "intern": 1, "vertrouwelijk": 2, "zeer_geheim": 3}

# Categories that make a request identifying (condition no_identifiers).
_identifying_categories := {"identification", "contact", "reporter"}

# Reasons for not informing the parents that the meldcode accepts; "anders" is accepted but escalated.
_not_informed_reasons := {"veiligheid_kind", "veiligheid_melder", "veiligheid_professional", "anders"}

# Research guard: free-text fields never go to a research recipient, whatever a flow row says.
_research_free_text := {
	"signals[].situation",
	"observations[].text",
	"observations[].source",
	"safety_assessments[].outcome",
	"safety_plan.dangers",
	"safety_plan.goals",
	"safety_plan.agreements[].what",
	"safety_plan.agreements[].when",
	"safety_plan.contacts",
	"health[].description",
	"justice[].description",
	"finances.description",
	"plan.goals",
	"plan.case_director",
}

# Research guard: these fields reach a research recipient only generalised.
_research_generalisation := {
	"persons[].birth_date": "year",
	"persons[].expected_birth_date": "year",
	"household.address.postcode": "postcode4",
}

_condition_messages := {
	"afwegingskader_documented": "Het afwegingskader van de meldcode is niet vastgelegd; een melding vraagt een vastgelegde afweging.",
	"parents_informed_or_reason": "De ouders zijn niet geïnformeerd en er is geen reden vastgelegd waarom dat niet kon.",
	"question_present": "Het verzoek vermeldt niet welke vraag de inlichtingen moeten beantwoorden.",
	"measure_active": "Er loopt vandaag geen maatregel (zoals een ondertoezichtstelling) die bij deze gegevensstroom hoort.",
	"measure_referenced": "Het verzoek verwijst niet naar de lopende maatregel.",
	"voluntary_help_insufficient": "Er is niet vastgelegd dat vrijwillige hulp onvoldoende is.",
	"documented_weighing": "Er is geen vastgelegde afweging waarom de inlichtingen noodzakelijk zijn.",
	"consent_present": "Er is geen toestemming van de ouders en de jeugdige voor de overdracht vastgelegd.",
	"explicit_consent_health": "Er is geen uitdrukkelijke toestemming voor het delen van gezondheidsgegevens.",
	"handover_to_voluntary": "Het gaat niet om een overdracht naar het vrijwillig kader.",
	"reporter_strictly_needed": "Er is niet vastgelegd dat de identiteit van de melder strikt noodzakelijk is.",
	"no_identifiers": "Een adviesvraag moet anoniem zijn, maar het verzoek bevat identificerende gegevens (zoals BSN, naam, adres of gegevens van de melder).",
}

_escalation_messages := {
	"conflict_van_plichten": "De professional beroept zich op conflict van plichten; een mens moet deze uitwisseling beoordelen.",
	"parents_not_informed_other_reason": "De ouders zijn niet geïnformeerd om een andere reden dan veiligheid; een mens moet beoordelen of dat gerechtvaardigd is.",
}

_msg_no_flow := "Er is geen toegestane gegevensstroom voor dit doel tussen deze organisaties."

_msg_parents_not_informed := "Leg vast waarom de ouders niet vooraf zijn geïnformeerd en informeer hen zodra dat veilig kan."

# Context flags that are plain booleans and double as condition names.
_simple_conditions := {
	"afwegingskader_documented",
	"question_present",
	"voluntary_help_insufficient",
	"documented_weighing",
	"consent_present",
	"explicit_consent_health",
	"handover_to_voluntary",
	"reporter_strictly_needed",
}

# Field treatments that are the same for every field they apply to.
_out_not_exchanged := {"treatment": "drop", "reason": "De uitwisseling is niet toegestaan; dit gegeven wordt niet verstrekt."}

_out_structure := {"treatment": "pass", "reason": "Verwijzing binnen het dossier zonder persoonsgegevens."}

_out_reporter_withheld := {"treatment": "drop", "reason": "Gegevens van de melder worden in deze gegevensstroom nooit verstrekt."}

_out_unknown_category := {"treatment": "drop", "reason": "Onbekende gegevenscategorie; dit gegeven wordt niet verstrekt."}

_out_unjudged := {"treatment": "drop", "reason": "Dit gegeven kon niet worden beoordeeld en wordt daarom niet verstrekt."}

_out_bad_treatment := {"treatment": "drop", "reason": "Onbekende bewerking in de stromentabel; dit gegeven wordt niet verstrekt."}

_out_bad_method := {"treatment": "drop", "reason": "Generaliseren zonder geldige methode in de stromentabel; dit gegeven wordt niet verstrekt."}

_out_research_free_text := {"treatment": "drop", "reason": "Vrije tekst gaat nooit naar onderzoek."}

_out_research_identifier := {"treatment": "drop", "reason": "Directe identificatoren gaan nooit naar onderzoek."}

_out_research_bsn := {"treatment": "pseudonymise", "reason": "Voor onderzoek alleen een sleutelpseudoniem per ontvanger."}

_out_research_encrypt := {"treatment": "drop", "reason": "Versleutelde gegevens die de verstrekker kan terugrekenen gaan niet naar onderzoek."}

_msg_minimised := "Niet nodig voor dit doel (dataminimalisatie)."

_msg_allowed := "Toegestaan volgens de stromentabel."

# METADATA
# title: Known condition names
# description: The condition names a flow row may use in `conditions`, `conditions_per_purpose` and `when`.
known_conditions := {name | some name, _ in _condition_messages}

# METADATA
# title: Known escalation triggers
# description: The trigger names a flow row may use in `escalate_on`.
known_escalations := {name | some name, _ in _escalation_messages}

# METADATA
# title: Decision
# description: >-
#   The decision for one exchange: outcome, flow, reasons, legal basis, processing activity, retention,
#   confidentiality, obligations and a treatment for every input field. Always defined.
# entrypoint: true
decision := {
	"outcome": _outcome,
	"flow": _flow_id_or_null,
	"reasons": _reasons,
	"legal_basis": _legal_basis_out,
	"processing_activity": _processing_activity_out,
	"retention": _retention_out,
	"confidentiality": _confidentiality_out,
	"obligations": _obligations_out,
	"fields": _fields_out,
	"break_glass": _break_glass_out,
}

# Safety net: should any part above be undefined, refuse and drop everything.
default decision := {
	"outcome": "deny",
	"flow": null,
	"reasons": ["Het beleid kon geen besluit nemen; er wordt niets verstrekt."],
	"legal_basis": null,
	"processing_activity": null,
	"retention": null,
	"confidentiality": "vertrouwelijk",
	"obligations": [],
	"fields": {},
	"break_glass": {"requested": false, "applied": false, "unnecessary": false},
}

# --- Flow matching -------------------------------------------------------------------------------------
#
# Evaluation cost matters: the gateway decides on every exchange (twice for a pull). The rules are shaped
# so that each is evaluated once per decision or once per category, and the loop over the fields only
# looks values up. Measured costs on regorus: a rule or function evaluation costs microseconds, a lookup
# in a local variable a fraction of that.

default _matching_flows := set()

_matching_flows := {id |
	some id, candidate in _flows
	input.purpose in candidate.purposes
	input.pattern in candidate.patterns
	candidate.from in {"any", input.sender.type}
	candidate.to in {"any", input.recipient.type}
} if {
	input.sender.type in _org_types
	input.recipient.type in _org_types
}

_flow_id := id if {
	count(_matching_flows) == 1
	some id in _matching_flows
}

_flow := _flows[_flow_id]

default _flow_id_or_null := null

_flow_id_or_null := _flow_id

_legal_basis := _legal_bases[_flow.legal_basis]

default _to_research := false

_to_research := true if input.recipient.type == "research"

default _withhold_reporter := false

_withhold_reporter := true if _flow.withhold_reporter == true

# No trace of the reporter (not even their person record's reference and role) leaves in a flow that
# does not name the reporter category, or that withholds the reporter outright.
default _reporter_hidden := false

_reporter_hidden := true if _withhold_reporter

_reporter_hidden := true if not _flow.categories.reporter

# --- Input sanity --------------------------------------------------------------------------------------

_is_date(value) if {
	is_string(value)
	regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, value)
}

_input_valid if {
	input.version == 1
	_is_date(input.today)
	is_array(input.fields)
	is_array(input.requested_categories)
}

_known_purpose if _purposes[input.purpose]

# The input's collections, or empty ones when the input is malformed (which _input_valid refuses).
default _fields_in := []

_fields_in := input.fields if is_array(input.fields)

default _requested_in := []

_requested_in := input.requested_categories if is_array(input.requested_categories)

# --- Conditions ----------------------------------------------------------------------------------------

# The context booleans that are true; simple conditions and escalation triggers are read from this set.
_flags := {name | some name, value in _ctx; value == true}

_required_conditions := {name | some name in _flow.conditions} | {name |
	some name in _flow.conditions_per_purpose[input.purpose]
}

# Every condition the flow uses (also in `when`), each evaluated once.
_conditions_met := ((used & _simple_conditions) & _flags) | {name |
	some name in used - _simple_conditions
	_condition_holds(name)
} if {
	when_names := {name | some rule in _flow.categories; some name in rule.when} | {name |
		some rule in _flow.fields
		some name in rule.when
	}
	used := _required_conditions | when_names
}

_condition_holds("parents_informed_or_reason") if "parents_informed" in _flags

_condition_holds("parents_informed_or_reason") if _ctx.parents_not_informed_reason in _not_informed_reasons

# measure_active: a measure of a kind the flow names, started on or before today and not yet ended.
# The dates are ISO 8601 (YYYY-MM-DD), so comparing them as strings compares them as dates.
_condition_holds("measure_active") if {
	measure := _ctx.measure
	measure.kind in _flow.measure_kinds
	_is_date(measure.start)
	_is_date(input.today)
	measure.start <= input.today
	_measure_not_ended(measure)
}

_condition_holds("measure_referenced") if _ctx.measure.reference_present == true

_condition_holds("no_identifiers") if not _identifying_data_present

_measure_not_ended(measure) if object.get(measure, "end", null) == null

_measure_not_ended(measure) if {
	_is_date(measure.end)
	input.today <= measure.end
}

_identifying_data_present if {
	some category in _requested_in
	category in _identifying_categories
}

_identifying_data_present if {
	some field in _fields_in
	field.identifier == true
}

_identifying_data_present if {
	some field in _fields_in
	field.category in _identifying_categories
}

# An unknown name in the table is never met, so it refuses (fail closed).
_condition_failure(name) := object.get(
	_condition_messages, name,
	sprintf("Onbekende voorwaarde '%s' in de stromentabel; er wordt niets verstrekt.", [name]),
)

# --- Escalation ----------------------------------------------------------------------------------------

_active_triggers := {"conflict_van_plichten" | "conflict_van_plichten" in _flags} | {"parents_not_informed_other_reason" |
	not "parents_informed" in _flags
	_ctx.parents_not_informed_reason == "anders"
}

# An unknown trigger name in the table always escalates (fail towards human review).
default _escalations := set()

_escalations := (named & _active_triggers) | (named - known_escalations) if {
	named := {name | some name in _flow.escalate_on}
}

_escalation_message(name) := object.get(
	_escalation_messages, name,
	sprintf("Onbekende escalatiegrond '%s' in de stromentabel; een mens moet beoordelen.", [name]),
)

# --- Outcome -------------------------------------------------------------------------------------------

_requested := {category | some category in _requested_in}

_uncovered_requested := (_requested - {category | some category, _ in _flow.categories}) - {"structure"}

_deny_reasons contains "De beleidsinvoer is onvolledig of heeft een onbekende versie." if not _input_valid

_deny_reasons contains "Het doel is onbekend; alleen doelen uit de doelentabel zijn toegestaan." if not _known_purpose

_deny_reasons contains _msg_no_flow if count(_matching_flows) == 0

# Bulk: a pull about more people than one household needs is refused unless its purpose allows bulk.
default _bulk_limit := 10

_bulk_limit := data.gateway.tables.limits.bulk_pull_subjects if is_number(data.gateway.tables.limits.bulk_pull_subjects)

_deny_reasons contains "Dit is een bulkopvraging (meer personen dan één huishouden); het doel staat dat niet toe." if {
	input.pattern == "pull"
	is_array(input.subjects)
	count(input.subjects) > _bulk_limit
	not _purposes[input.purpose].allows_bulk == true
}

_deny_reasons contains "Meer dan één gegevensstroom past op dit verzoek; de stromentabel moet worden hersteld." if {
	count(_matching_flows) > 1
}

_deny_reasons contains "De grondslag van deze gegevensstroom ontbreekt in de grondslagentabel." if {
	_flow
	not _legal_basis
}

_deny_reasons contains "Geen van de gevraagde gegevenscategorieën valt onder deze gegevensstroom." if {
	_flow
	count(_uncovered_requested) == count(_requested - {"structure"})
}

_deny_reasons contains _condition_failure(name) if {
	_flow
	some name in _required_conditions - _conditions_met
}

default _outcome := "deny"

_outcome := "allow" if {
	_flow
	count(_deny_reasons) == 0
	count(_escalations) == 0
}

_outcome := "allow" if _break_glass_applies

_outcome := "escalate" if {
	_flow
	count(_deny_reasons) == 0
	count(_escalations) > 0
	not _break_glass_applies
}

_reasons := sort([reason | some reason in _deny_reasons]) if _outcome == "deny"

_reasons := sort([_escalation_message(name) | some name in _escalations]) if _outcome == "escalate"

_reasons := array.concat([opened], overridden) if {
	_break_glass_applies
	opened := sprintf("Doorbraak (break-glass) toegepast: %s (%s), op grond van %s; alleen %s gaan mee.", [
		_flow.title, _flow_id, _legal_basis.national_article,
		concat(", ", sort({object.get(_categories, [c, "label"], c) | some c in _break_glass_categories})),
	])
	overridden := sort([sprintf("Overbrugd: %s", [reason]) |
		some reason in _deny_reasons | {_escalation_message(name) | some name in _escalations}
	])
}

_reasons := array.concat([allowed], notes) if {
	_outcome == "allow"
	not _break_glass_applies
	allowed := sprintf("Toegestaan: %s (%s), op grond van %s.", [_flow.title, _flow_id, _legal_basis.national_article])
	notes := [note |
		uncovered := _uncovered_requested
		count(uncovered) > 0
		labels := {object.get(_categories, [category, "label"], category) | some category in uncovered}
		note := sprintf("Niet toegestaan in deze gegevensstroom en dus niet verstrekt: %s.", [concat(", ", sort(labels))])
	]
}

# --- Per-category treatment ----------------------------------------------------------------------------

_field_categories := {field.category | some field in _fields_in}

_categories_in_play := _field_categories | _requested

# Treatments a category rule may give without further checks (the common case).
_plain_treatments := {"pass", "pseudonymise"} if _to_research

_plain_treatments := {"pass", "pseudonymise", "encrypt"} if not _to_research

# Categories that never take their flow rule: structure always passes, a withheld reporter never does.
_fixed_categories := {"structure", "reporter"} if _withhold_reporter

_fixed_categories := {"structure"} if not _withhold_reporter

# The common case: an ordinary category whose rule is just a treatment and a reason. Such a rule is
# itself the treatment of every field of the category.
_plain_rules := {category: rule |
	some category in in_play
	rule := rules[category]
	not category in fixed
	rule.treatment in treatments
	count(rule) == 2
	is_string(rule.reason)
	meta[category].special == null
} if {
	in_play := _categories_in_play
	rules := _flow.categories
	fixed := _fixed_categories
	treatments := _plain_treatments
	meta := _categories
}

# Every other category in play: {"out": treatment of its fields, "rule": the rule if it applies, else null}.
_other_entries := {category: _category_entry(
	category, object.get(rules, category, null), object.get(meta, category, null),
	withhold, research, met,
) |
	some category in in_play
	not plain[category]
} if {
	in_play := _categories_in_play
	plain := _plain_rules
	rules := object.get(_flow, "categories", {})
	meta := _categories
	withhold := _withhold_reporter
	research := _to_research
	met := _conditions_met
}

# category → the treatment of a field of that category.
_category_outputs := object.union(_plain_rules, {category: entry.out | some category, entry in _other_entries})

# category → the flow rule, for categories whose rule applies (per-field overrides refine these).
_open_rules := object.union(_plain_rules, {category: entry.rule | some category, entry in _other_entries; entry.rule != null})

_category_entry(category, rule, meta, withhold, research, met) := {"out": _out_structure, "rule": null} if {
	category == "structure"
} else := {"out": _out_reporter_withheld, "rule": null} if {
	withhold == true
	category == "reporter"
} else := {"out": _out_unknown_category, "rule": null} if {
	meta == null
} else := {"out": out, "rule": null} if {
	rule == null
	out := _drop(sprintf("Deze gegevensstroom staat de categorie '%s' niet toe.", [object.get(meta, "label", category)]))
} else := {"out": out, "rule": null} if {
	meta.special != null
	not _has_special_ground(rule)
	out := _drop(sprintf(
		"Bijzonder of strafrechtelijk persoonsgegeven (%s) zonder eigen grondslag in deze gegevensstroom.",
		[object.get(meta, "label", category)],
	))
} else := {"out": out, "rule": null} if {
	unmet := [name | some name in rule.when; not name in met]
	count(unmet) > 0
	out := _drop(concat(" ", ["Voorwaarde voor deze categorie niet vervuld:", _condition_failure(unmet[0])]))
} else := {"out": _rule_output(rule, research, met), "rule": rule}

_has_special_ground(rule) if is_string(_legal_bases[rule.ground].avg_special)

_drop(reason) := {"treatment": "drop", "reason": reason}

# Negations go through these helpers: `not x.y in s` with x.y undefined differs between engines.
_valid_treatment(rule) if rule.treatment in _treatments

_valid_method(rule) if rule.method in _generalise_methods

# The treatment a (category or field) rule gives, after checking what the table says.
_rule_output(rule, research, met) := _drop(reason) if {
	unmet := [name | some name in rule.when; not name in met]
	count(unmet) > 0
	reason := concat(" ", ["Voorwaarde voor dit gegeven niet vervuld:", _condition_failure(unmet[0])])
} else := _drop(object.get(rule, "reason", _msg_minimised)) if {
	rule.treatment == "drop"
} else := _out_bad_treatment if {
	not _valid_treatment(rule)
} else := _out_bad_method if {
	rule.treatment == "generalise"
	not _valid_method(rule)
} else := _out_research_encrypt if {
	research == true
	rule.treatment == "encrypt"
} else := {"treatment": "generalise", "method": rule.method, "reason": object.get(rule, "reason", _msg_allowed)} if {
	rule.treatment == "generalise"
} else := {"treatment": rule.treatment, "reason": object.get(rule, "reason", _msg_allowed)}

# --- Per-field treatment -------------------------------------------------------------------------------

_fields_out := {field.path: dropped | some field in _fields_in} if {
	_outcome != "allow"
	dropped := _out_not_exchanged
}

_fields_out := _complete(_allowed_fields) if {
	_outcome == "allow"
	not _reporter_hidden
	not _break_glass_applies
}

_fields_out := _complete(object.union(_allowed_fields, _withheld_fields)) if {
	_outcome == "allow"
	_reporter_hidden
	not _break_glass_applies
}

_fields_out := _complete(_glass_limited(_allowed_fields)) if {
	not _reporter_hidden
	_break_glass_applies
}

_fields_out := _complete(_glass_limited(object.union(_allowed_fields, _withheld_fields))) if {
	_reporter_hidden
	_break_glass_applies
}

# Whether some fields need more than their category's treatment.
_field_rules_needed if count(object.get(_flow, "fields", {})) > 0

_field_rules_needed if _to_research

_allowed_fields := {field.path: outputs[field.category] | some field in _fields_in} if {
	not _field_rules_needed
	outputs := _category_outputs
}

# With per-field rules the treatment is built in layers, each a lookup per field; a later layer wins:
# category treatment < per-field override < research guard (< hidden reporter, in _fields_out).
_allowed_fields := _research_guard(with_overrides) if {
	_field_rules_needed
	outputs := _category_outputs
	by_category := {field.path: outputs[field.category] | some field in _fields_in}
	with_overrides := object.union(by_category, _override_fields)
}

# Per-field overrides, only within an open category. A complete, valid override is itself the treatment;
# any other goes through the same checks as a category rule.
default _override_fields := {}

_override_fields := object.union(plain, checked) if {
	overrides := _flow.fields
	count(overrides) > 0
	open := _open_rules
	plain_paths := _plain_overrides
	plain := {field.path: overrides[field.field] |
		some field in _fields_in
		plain_paths[field.field]
		open[field.category]
	}
	research := _to_research
	met := _conditions_met
	checked := {field.path: _rule_output(object.union(object.remove(rule, ["method", "reason"]), override), research, met) |
		some field in _fields_in
		override := overrides[field.field]
		not plain_paths[field.field]
		rule := open[field.category]
	}
}

# Research recipients never receive a direct identifier, free text or anything the sender could decrypt:
# birth dates and postcodes only generalised, the BSN only as a keyed pseudonym, every other field not
# explicitly marked as no direct identifier dropped, free text dropped.
_research_guard(fields_out) := fields_out if {
	not _to_research
} else := object.union(object.union(object.union(object.union(fields_out, generalised), bsn), identifiers), free_text) if {
	fields := _fields_in
	generalisation := _research_generalisation
	generalised_out := _generalised_for_research
	generalised := {field.path: generalised_out[method] |
		some field in fields
		method := generalisation[field.field]
		fields_out[field.path].treatment in {"pass", "pseudonymise"}
	}
	bsn_out := _out_research_bsn
	bsn := {field.path: bsn_out |
		some field in fields
		field.field == "persons[].bsn"
		fields_out[field.path].treatment != "drop"
	}
	identifier_out := _out_research_identifier
	identifiers := {field.path: identifier_out |
		some field in fields
		not field.identifier == false
		not _research_keeps(field)
	}
	free_text_paths := _research_free_text
	free_text_out := _out_research_free_text
	free_text := {field.path: free_text_out | some field in fields; field.field in free_text_paths}
}

_research_keeps(field) if field.field == "persons[].bsn"

_research_keeps(field) if _research_generalisation[field.field]

_generalised_for_research := {method: {"treatment": "generalise", "method": method, "reason": "Voor onderzoek alleen gegeneraliseerd."} |
	some method in _generalise_methods
}

_withheld_fields := {field.path: withheld | some field in _fields_in; field.subject_role == "melder"} if {
	withheld := _out_reporter_withheld
}

# Every input field gets an entry; one that could not be judged (e.g. no category) is dropped.
_complete(out) := out if {
	count(out) == count(_fields_in)
} else := object.union({field.path: _out_unjudged | some field in _fields_in}, out)

# Overrides that are a complete, valid treatment by themselves (the common case): the override is then
# itself the field's treatment.
_plain_overrides := {path |
	some path, rule in _flow.fields
	rule.treatment in treatments
	count(rule) == 2
	is_string(rule.reason)
} | {path |
	some path, rule in _flow.fields
	rule.treatment == "generalise"
	rule.method in _generalise_methods
	count(rule) == 3
	is_string(rule.reason)
} if {
	treatments := _plain_treatments | {"drop"}
}

# --- Legal basis, register, retention, confidentiality, obligations ----------------------------------

# Categories whose data leave (on a pre-decision without fields: may leave).
default _released_categories := set()

_released_categories := by_category | by_field if {
	_outcome == "allow"
	outputs := _category_outputs
	candidates := _field_categories | {category | count(_fields_in) == 0; some category in _requested}
	by_category := {category | some category in candidates; outputs[category].treatment != "drop"}
	by_field := _released_by_field
}

# Categories of which an override opened at least one field.
default _released_by_field := set()

_released_by_field := {field.category |
	some field in _fields_in
	overridden[field.path]
	fields_out[field.path].treatment != "drop"
} if {
	overridden := _override_fields
	count(overridden) > 0
	fields_out := _fields_out
}

_special_categories := {category | some category, meta in _categories; meta.special != null}

default _avg_special := null

_avg_special := concat("; ", sort([s | some s in grounds])) if {
	released := _released_categories & _special_categories
	count(released) > 0
	rules := _flow.categories
	grounds := {_legal_bases[rules[category].ground].avg_special | some category in released}
}

default _legal_basis_out := null

_legal_basis_out := {
	"id": _flow.legal_basis,
	"avg_article": _legal_basis.avg_article,
	"avg_special": _avg_special,
	"national_article": _legal_basis.national_article,
	"citation": _legal_basis.citation,
	"link": _legal_basis.link,
}

default _processing_activity_out := null

_processing_activity_out := {
	"id": _flow.processing_activity.id,
	"version": _flow.processing_activity.version,
}

default _retention_out := null

_retention_out := _flow.retention

default _confidentiality_out := "vertrouwelijk"

_confidentiality_out := level if {
	levels := {level |
		some level in array.concat(
			[object.get(_flow, "confidentiality", "vertrouwelijk")],
			[level | some category in _released_categories; level := _categories[category].min_confidentiality],
		)
		_confidentiality_rank[level]
	}
	highest := max([_confidentiality_rank[l] | some l in levels])
	some level in levels
	_confidentiality_rank[level] == highest
}

default _obligations_out := []

_obligations_out := array.concat(flow_obligations, sort([o | some o in extra; not o in flow_obligations])) if {
	_outcome == "allow"
	flow_obligations := object.get(_flow, "obligations", [])
	from_categories := {obligation | some category in _released_categories; obligation := _categories[category].obligation}
	parents := {_msg_parents_not_informed |
		"parents_informed_or_reason" in _required_conditions
		not "parents_informed" in _flags
	}
	extra := from_categories | parents
}

# --- Break-glass ---------------------------------------------------------------------------------------

# METADATA
# title: Break-glass (doorbraak)
# description: >-
#   When a child is in acute danger, a professional may open what a failed condition or an escalation would
#   hold back — only within the categories the flow row's `break_glass` names, never without a matching flow,
#   never towards a research recipient, never past a structural refusal (unknown purpose, wrong direction,
#   bulk, invalid input). The gateway requires a written justification and queues every use for the DPO.

default _break_glass_requested := false

_break_glass_requested := true if input.context.break_glass == true

_break_glass_categories := {category | some category in _flow.break_glass.categories} if {
	_flow.break_glass.allowed == true
	is_array(_flow.break_glass.categories)
	not _to_research
}

default _condition_denials := set()

_condition_denials := {_condition_failure(name) | some name in _required_conditions - _conditions_met} if _flow

_break_glass_applies if {
	_break_glass_requested
	count(_break_glass_categories) > 0
	count(_deny_reasons - _condition_denials) == 0
	count(_deny_reasons) + count(_escalations) > 0
}

default _break_glass_applied := false

_break_glass_applied := true if _break_glass_applies

_break_glass_out := {
	"requested": _break_glass_requested,
	"applied": _break_glass_applied,
	"unnecessary": _break_glass_unnecessary,
}

# Asked for where the normal policy would have allowed: a sign of misuse the DPO sees flagged.
default _break_glass_unnecessary := false

_break_glass_unnecessary := true if {
	_break_glass_requested
	_outcome == "allow"
	not _break_glass_applies
}

_category_of := {field.path: field.category | some field in _fields_in}

_out_glass_closed := {"treatment": "drop", "reason": "Met een doorbraak gaat alleen mee wat de stromentabel daarvoor noemt."}

_glass_limited(fields) := {path: limited |
	some path, out in fields
	limited := _glass_field(out, object.get(_category_of, path, ""))
}

_glass_field(out, category) := out if {
	category in (_break_glass_categories | {"structure"})
} else := _out_glass_closed
