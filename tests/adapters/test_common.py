"""The shared adapter base (HTTP, headers, error mapping), the mapping toolkit and the registry."""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable
from types import ModuleType
from typing import Any

import httpx
import orjson
import pytest

from adapters.common import RestAdapter, subject_bsns, trace_headers
from adapters.gi import adapter as gi
from adapters.mapping import DATE_COMPACT, DATE_DMY, YES_NO, Record, UnmappedFieldError, code_list, leaf
from adapters.registry import ADAPTER_NAMES, get_adapter
from adapters.research import adapter as research
from adapters.rvdk import adapter as rvdk
from adapters.veilig_thuis import adapter as veilig_thuis
from adapters.wijkteam import adapter as wijkteam
from gateway.dossier.fields import field_catalogue, flatten
from gateway.dossier.model import Gezinsdossier
from gateway.relay.port import AdapterError, Delivery, FetchRequest, FetchSubject, PartnerEndpoint
from tests.adapters.adapter_checks import FULL, MINIMISED, TRACE_ID, without_direct_identifiers

TRACEPARENT = re.compile(rf"^00-{TRACE_ID}-[0-9a-f]{{16}}-01$")


def _adapter() -> RestAdapter:
    return RestAdapter(
        name="test", deliver_path="/in", query_path="/query",
        encode=lambda d: {"inhoud": d.dossier}, decode=lambda m: dict(m["inhoud"]),
        build_query=lambda r, bsns: {"bsn": bsns}, receipt_reference=lambda r: r.get("id"),
    )


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def test_full_sample_sets_every_canonical_field() -> None:
    assert {f.schema_path for f in flatten(FULL)} == set(field_catalogue())
    model = Gezinsdossier.model_validate(FULL)
    assert model.model_dump(mode="json", exclude_none=True) == FULL


def test_minimised_sample_has_no_plaintext_identifier() -> None:
    identifiers = {f.path for f in flatten(MINIMISED) if f.identifier}
    assert identifiers == {"persons[0].bsn", "persons[1].bsn", "household.address.postcode"}


@pytest.mark.parametrize("partner", [veilig_thuis, rvdk, gi, wijkteam, research])
def test_python_mode_dump_maps_like_json_mode(partner: ModuleType) -> None:
    """A dossier dumped without mode="json" holds date objects and enum members; the mapping is the same."""
    python_mode = Gezinsdossier.model_validate(FULL).model_dump(exclude_none=True)
    sample = copy.deepcopy(FULL)
    if partner is research:
        python_mode, sample = without_direct_identifiers(python_mode), without_direct_identifiers(sample)
    assert isinstance(python_mode["persons"][0]["birth_date"], dt.date)
    native = orjson.loads(orjson.dumps(partner.dossier_to_native(python_mode)))
    assert native == partner.dossier_to_native(sample)


def test_registry() -> None:
    assert set(ADAPTER_NAMES) == {"veilig_thuis", "rvdk", "gi", "wijkteam", "research"}
    for name in ADAPTER_NAMES:
        assert get_adapter(name).name == name
    with pytest.raises(KeyError):
        get_adapter("nlx")


async def test_deliver_sends_headers_and_reads_receipt(endpoint: PartnerEndpoint,
                                                       make_delivery: Callable[..., Delivery]) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": "P-1"})

    async with _client(handler) as client:
        receipt = await _adapter().deliver(client, endpoint, make_delivery({"persons": []}))
    assert (receipt.status_code, receipt.partner_reference) == (201, "P-1")
    request = seen[0]
    assert str(request.url) == "http://sim/in"
    assert request.headers["Idempotency-Key"] == "ex-0001:org-partner"
    assert request.headers["X-Exchange-Id"] == "ex-0001"
    assert TRACEPARENT.match(request.headers["traceparent"])
    assert request.headers["Content-Type"] == "application/json"
    assert orjson.loads(request.content) == {"inhoud": {"persons": []}}


def test_invalid_trace_id_sends_no_traceparent() -> None:
    assert "traceparent" not in trace_headers("not-a-trace", "ex-1")
    assert "traceparent" not in trace_headers("0" * 32, "ex-1")
    assert TRACEPARENT.match(trace_headers(TRACE_ID.upper(), "ex-1")["traceparent"])


@pytest.mark.parametrize(("answer", "reason", "status"), [
    (httpx.Response(400, json={"fout": "x"}), "rejected", 400),
    (httpx.Response(409), "rejected", 409),
    (httpx.Response(500), "partner_error", 500),
    (httpx.Response(503, text="down"), "partner_error", 503),
    (httpx.Response(302, headers={"Location": "/elders"}), "bad_response", 302),
    (httpx.Response(201, text="<html>ok</html>"), "bad_response", 201),
    (httpx.Response(201, json=["not", "an", "object"]), "bad_response", 201),
    (httpx.Response(201, json={"no_id": True}), "bad_response", 201),
    (httpx.Response(201, json={"id": ""}), "bad_response", 201),
])
async def test_deliver_error_mapping(endpoint: PartnerEndpoint, make_delivery: Callable[..., Delivery],
                                     answer: httpx.Response, reason: str, status: int) -> None:
    async with _client(lambda request: answer) as client:
        with pytest.raises(AdapterError) as raised:
            await _adapter().deliver(client, endpoint, make_delivery(FULL))
    assert (raised.value.reason, raised.value.status_code) == (reason, status)
    assert str(raised.value) == reason  # a reason code only: nothing of the answer or the dossier


@pytest.mark.parametrize("error", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"),
                                   httpx.RemoteProtocolError("eof"), httpx.PoolTimeout("full")])
async def test_transport_errors_are_unreachable(endpoint: PartnerEndpoint, make_delivery: Callable[..., Delivery],
                                                make_fetch: Callable[..., FetchRequest], error: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    async with _client(handler) as client:
        with pytest.raises(AdapterError) as raised:
            await _adapter().deliver(client, endpoint, make_delivery({}))
        assert (raised.value.reason, raised.value.status_code) == ("unreachable", None)
        with pytest.raises(AdapterError) as raised:
            await _adapter().fetch(client, endpoint, make_fetch("111222333"))
        assert raised.value.reason == "unreachable"
        assert await _adapter().health(client, endpoint) is False


async def test_bad_base_url_is_unreachable(endpoint: PartnerEndpoint, make_delivery: Callable[..., Delivery]) -> None:
    broken = PartnerEndpoint(**{**endpoint.__dict__, "base_url": "ftp://sim"})
    async with httpx.AsyncClient() as client:
        with pytest.raises(AdapterError) as raised:
            await _adapter().deliver(client, broken, make_delivery({}))
    assert raised.value.reason == "unreachable"


async def test_fetch_needs_a_subject_bsn(endpoint: PartnerEndpoint, make_fetch: Callable[..., FetchRequest]) -> None:
    calls: list[httpx.Request] = []
    request = make_fetch()
    request.subjects.append(FetchSubject(ref="s1", role="kind", bsn=None))
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={})

    async with _client(handler) as client:
        with pytest.raises(AdapterError) as raised:
            await _adapter().fetch(client, endpoint, request)
    assert raised.value.reason == "no_subject_identifier"
    assert calls == []


async def test_fetch_unmappable_answer_is_bad_response(endpoint: PartnerEndpoint,
                                                       make_fetch: Callable[..., FetchRequest]) -> None:
    async with _client(lambda r: httpx.Response(200, json={"other": 1})) as client:
        with pytest.raises(AdapterError) as raised:
            await _adapter().fetch(client, endpoint, make_fetch("111222333"))
    assert (raised.value.reason, raised.value.status_code) == ("bad_response", None)


def test_subject_bsns_put_children_first(make_fetch: Callable[..., FetchRequest]) -> None:
    request = make_fetch("123456782", role="ouder")
    request.subjects.append(FetchSubject(ref="k", role="kind", bsn="111222333"))
    assert subject_bsns(request) == ["111222333", "123456782"]


def test_unmappable_dossier_never_reaches_the_partner(make_delivery: Callable[..., Delivery]) -> None:
    def encode(delivery: Delivery) -> dict[str, Any]:
        raise UnmappedFieldError("persons")

    adapter = RestAdapter(name="t", deliver_path="/", query_path="/", encode=encode, decode=dict,
                          build_query=lambda r, b: {}, receipt_reference=lambda r: None)
    with pytest.raises(AdapterError) as raised:
        adapter.to_native(make_delivery(FULL))
    assert str(raised.value) == "unmappable"


def test_date_codecs_pass_generalised_values() -> None:
    for value in ("2016", "2016-04", "0-4", "30-39", "PS1.k1.ABC"):
        assert DATE_DMY.encode(value) == value
        assert DATE_COMPACT.encode(value) == value
    assert DATE_DMY.encode("2016-04-12") == "12-04-2016"
    assert DATE_DMY.decode("12-04-2016") == "2016-04-12"
    assert DATE_COMPACT.encode("2016-04-12") == "20160412"
    assert DATE_COMPACT.decode("20160412") == "2016-04-12"
    assert (YES_NO.encode(True), YES_NO.decode("N"), YES_NO.decode("?")) == ("J", False, "?")


def test_code_lists_are_one_to_one_and_pass_unknown_values() -> None:
    with pytest.raises(ValueError, match="one-to-one"):
        code_list({"a": "X", "b": "X"})
    codes = code_list({"man": "M"})
    assert (codes.encode("man"), codes.encode("other"), codes.decode("M"), codes.decode(None)) == (
        "M", "other", "man", None)


def test_record_refuses_unknown_keys_without_echoing_values() -> None:
    record = Record(leaf("bsn", "persoon.bsn"))
    assert record.encode({"bsn": None}) == {}
    with pytest.raises(UnmappedFieldError) as raised:
        record.encode({"bsn": "111222333", "hobby": "geheim"})
    assert str(raised.value) == "hobby"
    assert record.decode({"persoon": {"bsn": "x"}, "extra": 1}) == {"bsn": "x"}
    assert record.decode({"persoon": "not an object"}) == {}


async def test_value_json_cannot_carry_is_unmappable(endpoint: PartnerEndpoint,
                                                     make_delivery: Callable[..., Delivery]) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(201, json={"id": "P-1"})

    async with _client(handler) as client:
        with pytest.raises(AdapterError) as raised:
            await _adapter().deliver(client, endpoint, make_delivery({"persons": {"p1", "p2"}}))
    assert raised.value.reason == "unmappable"
    assert calls == []
