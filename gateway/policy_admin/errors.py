"""Errors of policy versions and their activation (details in Dutch: privacy officers read them on the pages)."""

from __future__ import annotations

from gateway.core.errors import Forbidden, GatewayError, NotFound, PolicyUnavailable, ValidationFailed


class PolicyVersionNotFound(NotFound):
    """No policy version with this number."""

    code = "policy-version-not-found"
    title = "Policy version not found"


class PolicyVersionState(GatewayError):
    """The version is not in the state this action needs (e.g. approving a draft that was not submitted)."""

    code = "policy-version-state"
    title = "Policy version in the wrong state"
    status = 409


class FourEyesRequired(Forbidden):
    """Activation needs a second privacy officer: the author may not approve (or reject) their own version."""

    code = "four-eyes-required"
    title = "A second privacy officer must decide"


class NotAPrivacyOfficer(Forbidden):
    """Only an active account with the privacy-officer role may author or decide on policy versions."""

    code = "not-a-privacy-officer"
    title = "Privacy officer role required"


class PolicyVersionInvalid(ValidationFailed):
    """The tables do not parse or do not match their schema, or the check or the Rego tests fail."""

    code = "policy-version-invalid"
    title = "Policy version invalid"


class PolicyVersionTampered(PolicyUnavailable):
    """A stored version's content does not match its hash or signature: it is refused, never loaded."""

    code = "policy-version-tampered"
    title = "Policy version fails verification"
