"""The Helm chart in deploy/helm: lint, render with each ci/ value set, validate every manifest, check what matters.

No helm binary and no network: `helm-python-sdk` (helm_python) binds Helm's Go SDK, `kubernetes-validate`
bundles the Kubernetes JSON schemas, and the ServiceMonitor (a CRD) is checked against schemas/ beside this file.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest
import yaml

from gateway.core.settings import Settings
from gateway.policy.bundle import load_bundle
from gateway.registry.organisations import load_registry
from gateway.web.oidc import OidcClient

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "kgb-gateway"
RENDER_VALUES = REPO / "deploy" / "helm" / "render-values.py"
KUBE_VERSION = "1.30.0"
VALUE_SETS = sorted(p.stem for p in (CHART / "ci").glob("*-values.yaml"))
# Value sets that stand for a real deployment get the repository's policies and registry added.
WITH_REPO_POLICIES = {"production-values", "no-autoscaling-values"}
CRD_SCHEMAS = {("monitoring.coreos.com/v1", "ServiceMonitor"):
               Path(__file__).with_name("schemas") / "servicemonitor-monitoring-v1.json"}

Manifest = dict[str, Any]


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate keys (PyYAML keeps the last one silently; kubectl would not)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    keys = [loader.construct_object(key, deep=deep) for key, _ in node.value]
    duplicates = {k for k in keys if keys.count(k) > 1}
    if duplicates:
        raise yaml.constructor.ConstructorError(None, None, f"duplicate keys {duplicates}", node.start_mark)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@pytest.fixture(scope="module")
def repo_policy_values() -> dict[str, Any]:
    result = subprocess.run([sys.executable, str(RENDER_VALUES)], capture_output=True, text=True, check=True,
                            timeout=60)
    values: dict[str, Any] = yaml.safe_load(result.stdout)
    return values


def value_set(name: str, repo_policy_values: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((CHART / "ci" / f"{name}.yaml").read_text(encoding="utf-8"))
    if name in WITH_REPO_POLICIES:
        values |= repo_policy_values
    return values


def render(values: dict[str, Any]) -> list[Manifest]:
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(values)
        rendered = chart.render(values, name="kgb", namespace="kgb", is_install=True)
    docs: list[Manifest] = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        docs.extend(doc for doc in yaml.load_all(text, Loader=_StrictLoader) if doc)
    return docs


@pytest.fixture(scope="module", params=VALUE_SETS)
def rendered(request: pytest.FixtureRequest, repo_policy_values: dict[str, Any]) -> tuple[str, list[Manifest]]:
    name: str = request.param
    return name, render(value_set(name, repo_policy_values))


@pytest.fixture(scope="module")
def production(repo_policy_values: dict[str, Any]) -> list[Manifest]:
    return render(value_set("production-values", repo_policy_values))


def one(docs: list[Manifest], kind: str, part: str = "") -> Manifest:
    found = [d for d in docs if d["kind"] == kind and part in d["metadata"]["name"]]
    assert len(found) == 1, f"expected one {kind} named with {part!r}, found {len(found)}"
    return found[0]


def kinds(docs: list[Manifest]) -> list[str]:
    return sorted(d["kind"] for d in docs)


def containers(pod_spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from pod_spec.get("initContainers", [])
    yield from pod_spec["containers"]


def container(pod_spec: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in containers(pod_spec) if c["name"] == name)


def env_of(ctr: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in ctr["env"]}


def gateway_env(docs: list[Manifest]) -> dict[str, Any]:
    return env_of(container(one(docs, "Deployment")["spec"]["template"]["spec"], "gateway"))


def settings_from(env: dict[str, Any], **overrides: Any) -> Settings:
    """The gateway's own Settings from the rendered environment's plain values (Secret references left out)."""
    plain = {k.removeprefix("GATEWAY_").lower(): v for k, v in env.items()
             if k.startswith("GATEWAY_") and isinstance(v, str)}
    return Settings(**(plain | {"database_url": "postgresql://gateway@db/gateway"} | overrides))


def pod_specs(docs: list[Manifest]) -> list[dict[str, Any]]:
    return [d["spec"]["template"]["spec"] for d in docs if d["kind"] in ("Deployment", "Job")]


# --- lint, schema, Kubernetes validation --------------------------------------------------------------------


def test_the_value_sets_exist() -> None:
    assert {"minimal-values", "production-values", "no-autoscaling-values"} <= set(VALUE_SETS)


@pytest.mark.parametrize("name", VALUE_SETS)
def test_chart_lints_strictly(name: str, repo_policy_values: dict[str, Any]) -> None:
    report = helm.lint(CHART, value_set(name, repo_policy_values), strict=True, kube_version=f"v{KUBE_VERSION}")
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_lint_reports_a_broken_value_set() -> None:
    # The lint call must be able to fail: an unknown key breaks the strict values schema.
    report = helm.lint(CHART, {"replicas": 3}, strict=True, kube_version=f"v{KUBE_VERSION}")
    assert report["errors"] or [m for m in report["messages"] if m["severity"] == 3]


def test_every_manifest_validates_against_its_kubernetes_schema(rendered: tuple[str, list[Manifest]]) -> None:
    _, docs = rendered
    for doc in docs:
        crd_schema = CRD_SCHEMAS.get((doc["apiVersion"], doc["kind"]))
        if crd_schema is not None:
            jsonschema.validate(doc, json.loads(crd_schema.read_text(encoding="utf-8")))
        else:  # strict: unknown fields are errors, as a typo would be pruned silently by the API server
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)


def test_kubernetes_validation_catches_a_misplaced_field(production: list[Manifest]) -> None:
    deployment = json.loads(json.dumps(one(production, "Deployment")))
    deployment["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFileSystem"] = True  # misspelt
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSION, strict=True)


@pytest.mark.parametrize(("patch", "why"), [
    ({"bogus": 1}, "unknown top-level key"),
    ({"opa": {"decisionLogs": {"maskPaths": ["/input/purpose"]}}}, "the /input/fields mask is mandatory"),
    ({"podSecurityContext": {"runAsUser": 0}}, "root"),
    ({"networkPolicy": {"egress": {"partners": [{"name": "vt", "cidr": "everywhere", "ports": [443]}]}}},
     "a partner needs a CIDR"),
    ({"resources": {"limits": None}}, "limits are required"),
    ({"keys": {"files": {"../escape": "x"}}}, "key file names are flat"),
    ({"otel": {"sampleRatio": 1.5}}, "a sample ratio is a fraction"),
    ({"otel": {"endpoint": "otel-collector:4318"}}, "the OTLP endpoint is an http(s) URL"),
    ({"otel": {"resourceAttributes": {"team": "a,b=c"}}}, "a resource attribute cannot break the list"),
    ({"oidc": {"issuer": "http://login.example.invalid"}}, "the OIDC issuer is https"),
    ({"oidc": {"clientSecret": {"value": "s3cret"}}}, "the client secret is never a plain value"),
    ({"oidc": {"clientSecret": {"existingSecret": "Not_A_Name"}}}, "the client secret Secret has a valid name"),
    ({"oidc": {"scopes": "profile email"}}, "OIDC scopes include openid"),
    ({"oidc": {"localAccounts": "no"}}, "localAccounts is a boolean"),
    ({"gateway": {"forwardedAllowIps": "ingress-nginx"}}, "trusted proxies are IPs, CIDRs or *"),
    ({"networkPolicy": {"egress": {"identityProvider": {"peers": [], "ports": []}}}}, "the provider needs a port"),
])
def test_values_schema_rejects(patch: dict[str, Any], why: str) -> None:
    # validate_schema coalesces the chart defaults first, exactly as an install does.
    with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmValuesError):
        chart.validate_schema(patch)


def test_keys_from_values_and_an_existing_secret_cannot_be_mixed() -> None:
    values = {"keys": {"existingSecret": "kgb-keys", "files": {"gateway-signing-key.pem": "x"}}}
    with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmRenderError, match="not both"):
        chart.render(values, name="kgb", namespace="kgb")


# --- the pod: locked down, probed, configured for production ------------------------------------------------


def test_every_container_runs_locked_down(rendered: tuple[str, list[Manifest]]) -> None:
    _, docs = rendered
    specs = pod_specs(docs)
    assert len(specs) == 2  # the Deployment and the migration Job
    for spec in specs:
        assert spec["automountServiceAccountToken"] is False
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] > 0
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
        for ctr in containers(spec):
            sc = ctr["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, ctr["name"]
            assert sc["runAsNonRoot"] is True, ctr["name"]
            assert sc["allowPrivilegeEscalation"] is False, ctr["name"]
            assert sc["capabilities"] == {"drop": ["ALL"]}, ctr["name"]
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, ctr["name"]
            assert {"cpu", "memory"} <= ctr["resources"]["requests"].keys(), ctr["name"]
            assert {"cpu", "memory"} <= ctr["resources"]["limits"].keys(), ctr["name"]


def test_gateway_container_probes_and_mounts(production: list[Manifest]) -> None:
    spec = one(production, "Deployment")["spec"]["template"]["spec"]
    gateway = container(spec, "gateway")
    assert gateway["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert gateway["startupProbe"]["httpGet"]["path"] == "/healthz"
    mounts = {m["mountPath"]: m for m in gateway["volumeMounts"]}
    assert mounts["/keys"]["readOnly"] is True
    assert mounts["/policies"]["readOnly"] is True
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]  # noqa: S108 - the container's writable /tmp


def test_gateway_env_is_the_production_configuration(production: list[Manifest]) -> None:
    env = gateway_env(production)
    assert env["GATEWAY_ENVIRONMENT"] == "production"
    assert env["GATEWAY_GENERATE_DEV_KEYS"] == "false"
    assert env["GATEWAY_KEYS_DIR"] == "/keys"
    assert env["GATEWAY_POLICY_ENGINE"] == "opa"
    assert env["GATEWAY_OPA_URL"] == "http://127.0.0.1:8181"
    assert env["GATEWAY_OPA_TLS_VERIFY"] == "false"
    assert env["GATEWAY_DATABASE_URL"] == {"secretKeyRef": {"name": "kgb-gateway-database", "key": "url"}}
    # The gateway's own Settings accept exactly this environment (production refuses unsafe combinations).
    settings = settings_from(env)
    assert settings.environment == "production" and settings.opa_tls_verify is False
    # Human login through OIDC only, never demo accounts; X-Forwarded-For trusted behind the NetworkPolicy.
    assert settings.oidc_issuer == "https://login.kgb.example.invalid/realms/kgb"
    assert settings.oidc_client_id == "kgb-gateway"
    assert settings.oidc_client_secret_file == Path("/secrets/oidc/client-secret")
    assert settings.oidc_roles_claim == "kgb_roles" and settings.oidc_organisation_claim == "kgb_organisation"
    assert settings.oidc_scopes == "openid profile email"
    assert settings.web_local_accounts is False and settings.web_dev_accounts is False
    assert settings.forwarded_allow_ips == "*"
    assert not any("OIDC" in name for name, value in env.items() if not isinstance(value, str))


def test_oidc_client_secret_is_mounted_as_a_file(production: list[Manifest], tmp_path: Path) -> None:
    spec = one(production, "Deployment")["spec"]["template"]["spec"]
    env = gateway_env(production)
    secret_file = Path(env["GATEWAY_OIDC_CLIENT_SECRET_FILE"])
    mount = next(m for m in container(spec, "gateway")["volumeMounts"]
                 if secret_file.is_relative_to(m["mountPath"]))
    assert mount["readOnly"] is True
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    assert volume["secret"]["secretName"] == "kgb-gateway-oidc"
    assert volume["secret"]["defaultMode"] == 0o440
    assert volume["secret"]["items"] == [{"key": "client-secret",
                                          "path": secret_file.relative_to(mount["mountPath"]).as_posix()}]
    # Only the gateway container sees it, and the migration Job gets no OIDC configuration at all.
    assert all(m["name"] != mount["name"] for c in containers(spec) if c["name"] != "gateway"
               for m in c.get("volumeMounts", []))
    migrate = container(one(production, "Job", "-migrate")["spec"]["template"]["spec"], "migrate")
    assert not any("OIDC" in name for name in env_of(migrate))

    # The gateway reads the file where the kubelet puts the Secret's key.
    materialised = tmp_path / secret_file.relative_to(mount["mountPath"])
    materialised.write_text("s3cret\n", encoding="utf-8")  # pragma: allowlist secret
    client = OidcClient(settings_from(env, oidc_client_secret_file=materialised))
    assert client.client_secret == "s3cret"  # pragma: allowlist secret
    assert client.issuer == "https://login.kgb.example.invalid/realms/kgb"
    assert client.redirect_uri == "https://uitwisseling.kgb.example.invalid/ui/oidc/callback"


def test_oidc_public_client_without_a_secret(repo_policy_values: dict[str, Any]) -> None:
    values = value_set("production-values", repo_policy_values)
    values["oidc"] = values["oidc"] | {"clientSecret": {"existingSecret": "", "key": "client-secret"}}
    docs = render(values)
    env = gateway_env(docs)
    assert env["GATEWAY_OIDC_CLIENT_ID"] == "kgb-gateway" and "GATEWAY_OIDC_CLIENT_SECRET_FILE" not in env
    spec = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert not [v for v in spec["volumes"] if "secret" in v]
    assert OidcClient(settings_from(env)).client_secret is None


@pytest.mark.parametrize(("name", "forwarded"), [
    ("minimal-values", "*"),  # the chart's NetworkPolicy is on: only the ingress controller reaches the pods
    ("no-autoscaling-values", "10.244.0.0/16"),  # no NetworkPolicy: the ingress controller's pod CIDR
])
def test_without_oidc_only_local_accounts(name: str, forwarded: str, repo_policy_values: dict[str, Any]) -> None:
    docs = render(value_set(name, repo_policy_values))
    env = gateway_env(docs)
    assert not [n for n in env if n.startswith("GATEWAY_OIDC_")]
    spec = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert all(v["name"] != "oidc-client-secret" for v in spec["volumes"])
    settings = settings_from(env)
    assert settings.oidc_issuer is None
    assert settings.web_local_accounts is True and settings.web_dev_accounts is False
    assert settings.forwarded_allow_ips == forwarded


def test_forwarded_allow_ips_defaults_to_no_proxy_without_the_network_policy(
        repo_policy_values: dict[str, Any]) -> None:
    values = value_set("no-autoscaling-values", repo_policy_values)
    values["gateway"] = {**values["gateway"], "forwardedAllowIps": ""}
    assert gateway_env(render(values))["GATEWAY_FORWARDED_ALLOW_IPS"] == "127.0.0.1"
    values["gateway"]["forwardedAllowIps"] = "10.244.0.0/16, 10.245.0.0/16"
    assert settings_from(gateway_env(render(values))).forwarded_allow_ips == "10.244.0.0/16, 10.245.0.0/16"


@pytest.mark.parametrize(("values", "message"), [
    ({"oidc": {"issuer": "https://login.example.invalid", "clientId": ""}}, "clientId"),
    ({"oidc": {"localAccounts": False}}, "nobody could log in"),
])
def test_a_web_login_nobody_can_use_is_refused(values: dict[str, Any], message: str) -> None:
    values = values | {"networkPolicy": {"enabled": False}}
    with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmRenderError, match=message):
        chart.render(values, name="kgb", namespace="kgb")


def test_opa_sidecar_serves_on_loopback_with_masked_decision_logs(production: list[Manifest]) -> None:
    spec = one(production, "Deployment")["spec"]["template"]["spec"]
    opa = container(spec, "opa")
    assert opa in spec["initContainers"] and opa["restartPolicy"] == "Always"  # native sidecar by default
    assert opa["image"].startswith("openpolicyagent/opa")
    args = opa["args"]
    assert args[:2] == ["run", "--server"] and "--addr=127.0.0.1:8181" in args
    assert all(p["containerPort"] != 8181 for p in opa["ports"])  # the policy API is never exposed
    assert opa["readinessProbe"]["httpGet"]["path"] == "/health"
    volumes = {v["name"]: v for v in spec["volumes"]}
    policy_mount = next(m for m in opa["volumeMounts"] if m["mountPath"] == "/policies")
    assert volumes[policy_mount["name"]]["configMap"]["name"] == one(production, "ConfigMap", "-policies")[
        "metadata"]["name"]

    opa_cm = one(production, "ConfigMap", "-opa")["data"]
    config = yaml.safe_load(opa_cm["config.yaml"])
    assert config["decision_logs"]["mask_decision"] == "/system/log/mask"
    assert "--config-file=/opa/config.yaml" in args and "/opa/mask.rego" in args
    assert 'mask contains "/input/fields"' in opa_cm["mask.rego"]


def test_opa_as_a_classic_sidecar_container(repo_policy_values: dict[str, Any]) -> None:
    spec = one(render(value_set("no-autoscaling-values", repo_policy_values)), "Deployment")["spec"]["template"]
    names = [c["name"] for c in spec["spec"]["containers"]]
    assert names == ["gateway", "opa"] and "initContainers" not in spec["spec"]


@pytest.mark.opa
def test_mask_policy_compiles_and_masks_on_opa(production: list[Manifest]) -> None:
    opa_bindings = pytest.importorskip("opa_bindings", reason="OPA's Go evaluator (test extra) is not installed")
    engine = opa_bindings.OpaEngine()
    engine.add_policy("mask.rego", one(production, "ConfigMap", "-opa")["data"]["mask.rego"])
    assert engine.eval_document("system.log.mask", {"input": {"fields": [{"path": "x"}]}}) == ["/input/fields"]


# --- the policy bundle and the registry arrive unchanged ---------------------------------------------------


def materialise(volume: dict[str, Any], data: dict[str, str], root: Path) -> Path:
    """Write a ConfigMap volume the way the kubelet does (items: key → path)."""
    for item in volume["configMap"].get("items") or [{"key": k, "path": k} for k in data]:
        target = root / item["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(data[item["key"]], encoding="utf-8")
    return root


def test_gateway_sees_the_repository_bundle_byte_for_byte(production: list[Manifest], tmp_path: Path) -> None:
    spec = one(production, "Deployment")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container(spec, "gateway")["volumeMounts"]}
    policies = materialise(volumes[mounts["/policies"]], one(production, "ConfigMap", "-policies")["data"],
                           tmp_path / "policies")
    assert load_bundle(policies).hash == load_bundle(REPO / "policies").hash

    config = materialise(volumes[mounts["/config"]], one(production, "ConfigMap", "-organisations")["data"],
                         tmp_path / "config")
    deployed = {o.id: o for o in load_registry(config / "organisations.yaml").all()}
    assert deployed == {o.id: o for o in load_registry(REPO / "config" / "organisations.yaml").all()}


def test_a_policy_change_rolls_out_as_a_new_configmap(repo_policy_values: dict[str, Any]) -> None:
    def policy_configmaps(values: dict[str, Any]) -> tuple[str, set[str]]:
        docs = render(values)
        volumes = one(docs, "Deployment")["spec"]["template"]["spec"]["volumes"]
        return one(docs, "ConfigMap", "-policies")["metadata"]["name"], {
            v["configMap"]["name"] for v in volumes if v["name"] in ("policies", "opa-policies")}

    values = value_set("production-values", repo_policy_values)
    name, mounted = policy_configmaps(values)
    assert mounted == {name}  # the gateway and its OPA sidecar read the very same bundle
    changed = json.loads(json.dumps(values))
    changed["policies"]["data"]["purposes"] += "\n# a comment changes the bundle hash too\n"
    new_name, new_mounted = policy_configmaps(changed)
    assert new_name != name and new_mounted == {new_name}


@pytest.mark.opa
def test_opa_loads_modules_and_tables_at_their_data_paths(production: list[Manifest], tmp_path: Path) -> None:
    """Lay the ConfigMap out as the OPA container sees it and load it as `opa run <dir>` does.

    OPA's loader puts a data file found under <root>/a/b/ at data.a.b (v1/loader/loader.go, allRec); Rego
    modules go by their package. The loading is re-enacted here on OPA's own evaluator.
    """
    opa_bindings = pytest.importorskip("opa_bindings", reason="OPA's Go evaluator (test extra) is not installed")
    spec = one(production, "Deployment")["spec"]["template"]["spec"]
    opa = container(spec, "opa")
    volumes = {v["name"]: v for v in spec["volumes"]}
    mount = next(m for m in opa["volumeMounts"] if m["mountPath"] == "/policies")
    root = materialise(volumes[mount["name"]], one(production, "ConfigMap", "-policies")["data"], tmp_path)
    engine = opa_bindings.OpaEngine()
    roots = [root / arg.removeprefix("/policies/") for arg in opa["args"] if arg.startswith("/policies/")]
    assert roots, "OPA is given no policy directory"
    for base in roots:
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            assert not path.name.endswith("_test.rego"), "tests are not loaded into the production OPA"
            if path.suffix == ".rego":
                engine.add_policy(path.relative_to(root).as_posix(), path.read_text(encoding="utf-8"))
            else:
                engine.add_data(yaml.safe_load(path.read_text(encoding="utf-8")),
                                ".".join(path.parent.relative_to(base).parts))
    bundle = load_bundle(REPO / "policies")
    assert engine.eval_document("gateway.tables") == bundle.data["gateway"]["tables"]
    decision = engine.eval_document("gateway.decision.decision", {"pattern": "push", "purpose": "nonsense"})
    assert decision["outcome"] == "deny"


# --- secrets ------------------------------------------------------------------------------------------------


def test_existing_secrets_render_no_secret_data(production: list[Manifest]) -> None:
    assert "Secret" not in kinds(production)
    text = json.dumps(production)
    assert "PRIVATE KEY" not in text
    keys = next(v for v in one(production, "Deployment")["spec"]["template"]["spec"]["volumes"] if v["name"] == "keys")
    names = {s["secret"]["name"] for s in keys["projected"]["sources"]}
    assert names == {"kgb-gateway-keys"}


def _registry_key_files() -> set[str]:
    registry = load_registry(REPO / "config" / "organisations.yaml")
    files = {c.jwks_file for o in registry.all() for c in o.clients if c.jwks_file}
    for org in registry.all():
        endpoint = org.endpoint
        if endpoint is None:
            continue
        files |= {a.secret_file for a in (endpoint.api_key, endpoint.oauth2, endpoint.zgw_jwt)
                  if a is not None and a.secret_file}
        if endpoint.tls is not None:
            files |= {f for f in (endpoint.tls.cert_file, endpoint.tls.key_file, endpoint.tls.ca_file) if f}
    return files


def test_key_files_of_the_registry_are_mapped_to_their_paths(production: list[Manifest]) -> None:
    keys = next(v for v in one(production, "Deployment")["spec"]["template"]["spec"]["volumes"] if v["name"] == "keys")
    items = [i for s in keys["projected"]["sources"] for i in s["secret"].get("items", [])]
    expected = {f for f in _registry_key_files() if "/" in f}
    assert any(f.startswith("clients/") for f in expected)
    assert {i["path"] for i in items} == expected
    assert all(i["path"].endswith(f"/{i['key']}") for i in items)


def test_chart_created_key_secret_for_test_clusters(repo_policy_values: dict[str, Any]) -> None:
    docs = render(value_set("minimal-values", repo_policy_values))
    secret = one(docs, "Secret", "-keys")
    assert set(secret["data"]) == {"gateway-signing-key.pem", "pseudonym-keyring.json", "demo-cms.jwks.json"}
    annotations = one(docs, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert "checksum/keys" in annotations  # new key material rolls the pods


# --- network, scaling, disruption, monitoring ------------------------------------------------------------------


def test_network_policy_allows_only_the_named_peers(production: list[Manifest]) -> None:
    policy = one(production, "NetworkPolicy")["spec"]
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "gateway"
    sources = [peer for rule in policy["ingress"] for peer in rule["from"]]
    assert {p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in sources} == {
        "ingress-partners", "monitoring"}
    assert all(p.get("podSelector", {}).get("matchLabels") for p in sources)
    cidrs = set()
    for rule in policy["egress"]:
        assert rule.get("to") and rule.get("ports"), "an egress rule without peers or ports allows everything"
        cidrs |= {peer["ipBlock"]["cidr"] for peer in rule["to"] if "ipBlock" in peer}
    assert cidrs == {"10.20.30.0/28", "203.0.113.0/28", "198.51.100.16/28", "192.0.2.64/27", "198.51.100.64/27"}
    ports = {(p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"]}
    assert ports == {(53, "UDP"), (53, "TCP"), (5432, "TCP"), (4318, "TCP"), (443, "TCP"), (8443, "TCP")}
    identity_provider = [r for r in policy["egress"] if r["to"] == [{"ipBlock": {"cidr": "198.51.100.64/27"}}]]
    assert [r["ports"] for r in identity_provider] == [[{"port": 443, "protocol": "TCP"}]]


def test_trace_export_configuration(production: list[Manifest], repo_policy_values: dict[str, Any]) -> None:
    env = env_of(container(one(production, "Deployment")["spec"]["template"]["spec"], "gateway"))
    assert env["GATEWAY_OTLP_ENDPOINT"] == "http://otel-collector.observability:4318"
    assert env["GATEWAY_TRACE_SAMPLE_RATIO"] == "0.5"
    assert env["OTEL_EXPORTER_OTLP_HEADERS"] == {"secretKeyRef": {"name": "kgb-otel-headers", "key": "headers"}}
    assert env["K8S_POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["OTEL_RESOURCE_ATTRIBUTES"] == ("k8s.pod.name=$(K8S_POD_NAME),k8s.namespace.name=$(K8S_NAMESPACE_NAME),"
                                               "k8s.node.name=$(K8S_NODE_NAME),deployment.region=utrecht")
    # The variables it uses are defined before it (Kubernetes expands $(VAR) only from earlier entries).
    names = [e["name"] for e in container(one(production, "Deployment")["spec"]["template"]["spec"], "gateway")["env"]]
    assert names.index("OTEL_RESOURCE_ATTRIBUTES") > max(names.index(n) for n in ("K8S_POD_NAME", "K8S_NODE_NAME"))

    # Without an endpoint nothing is exported and no header Secret is referenced.
    values = value_set("no-autoscaling-values", repo_policy_values) | {"otel": {"endpoint": ""}}
    quiet = env_of(container(one(render(values), "Deployment")["spec"]["template"]["spec"], "gateway"))
    assert "GATEWAY_OTLP_ENDPOINT" not in quiet and "OTEL_EXPORTER_OTLP_HEADERS" not in quiet


def test_an_otlp_endpoint_without_a_collector_egress_peer_is_refused() -> None:
    values = {"otel": {"endpoint": "http://otel-collector.observability:4318"},
              "networkPolicy": {"egress": {"otelCollector": {"peers": [], "ports": [4318]}}}}
    with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmRenderError, match="otelCollector"):
        chart.render(values, name="kgb", namespace="kgb")


def test_an_oidc_issuer_without_an_identity_provider_egress_peer_is_refused() -> None:
    values = {"oidc": {"issuer": "https://login.example.invalid", "clientId": "kgb-gateway"},
              "networkPolicy": {"egress": {"identityProvider": {"peers": [], "ports": [443]}}}}
    with helm.Chart.load(CHART) as chart:
        with pytest.raises(helm.HelmRenderError, match="identityProvider"):
            chart.render(values, name="kgb", namespace="kgb")
        # Without the chart's NetworkPolicy nothing would be blocked, so nothing is refused.
        chart.render(values | {"networkPolicy": {"enabled": False}}, name="kgb", namespace="kgb")


def test_autoscaling_and_disruption_budget(production: list[Manifest], repo_policy_values: dict[str, Any]) -> None:
    hpa = one(production, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert "replicas" not in one(production, "Deployment")["spec"]  # the HPA owns the count
    assert one(production, "PodDisruptionBudget")["spec"]["minAvailable"] == 2
    strategy = one(production, "Deployment")["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate" and strategy["rollingUpdate"]["maxUnavailable"] == 0

    fixed = render(value_set("no-autoscaling-values", repo_policy_values))
    assert "HorizontalPodAutoscaler" not in kinds(fixed)
    assert one(fixed, "Deployment")["spec"]["replicas"] == 3


def test_migration_job_is_a_pre_install_and_pre_upgrade_hook(production: list[Manifest]) -> None:
    job = one(production, "Job", "-migrate")
    annotations = job["metadata"]["annotations"]
    assert set(annotations["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    migrate = container(job["spec"]["template"]["spec"], "migrate")
    assert migrate["args"] == ["db", "upgrade"]
    assert env_of(migrate)["GATEWAY_DATABASE_URL"] == {"secretKeyRef": {"name": "kgb-gateway-database", "key": "url"}}


def test_the_hook_command_upgrades_a_database(production: list[Manifest], tmp_path: Path) -> None:
    database = tmp_path / "gateway.db"
    # The Job's own environment (its plain values), with a local database for the Secret's URL.
    job_env = env_of(container(one(production, "Job", "-migrate")["spec"]["template"]["spec"], "migrate"))
    env = {k: v for k, v in job_env.items() if isinstance(v, str) and k != "HOME"}
    env |= {"PATH": "/usr/bin:/bin", "GATEWAY_DATABASE_URL": f"sqlite:///{database}"}
    assert env["GATEWAY_ENVIRONMENT"] == "production"
    result = subprocess.run([sys.executable, "-m", "gateway.cli", "db", "upgrade"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone()


def test_service_monitor_and_dashboard(production: list[Manifest], repo_policy_values: dict[str, Any]) -> None:
    monitor = one(production, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["port"] == "http"
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert monitor["spec"]["selector"] == {"matchLabels": one(production, "Service")["spec"]["selector"]}
    assert "ServiceMonitor" not in kinds(render(value_set("minimal-values", repo_policy_values)))

    dashboard_cm = one(production, "ConfigMap", "-dashboard")
    assert dashboard_cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(dashboard_cm["data"]["kgb-gateway.json"])
    exprs = " ".join(t["expr"] for panel in dashboard["panels"] for t in panel["targets"])
    for metric in ("gateway_exchanges_total", "gateway_request_seconds_bucket",
                   "gateway_policy_decision_seconds_bucket", "gateway_log_write_seconds_bucket",
                   "gateway_adapter_errors_total", 'gateway_policy_decision_cache_total{result="hit"'):
        assert metric in exprs
    assert "sum by (outcome)" in exprs and "sum by (flow)" in exprs
    assert "histogram_quantile(0.5," in exprs and "histogram_quantile(0.99," in exprs


# --- the helper script and the container build file ----------------------------------------------------------


def test_render_values_refuses_a_table_the_chart_cannot_carry(tmp_path: Path) -> None:
    (tmp_path / "gateway").mkdir()
    (tmp_path / "gateway" / "x.rego").write_text("package gateway\n", encoding="utf-8")
    (tmp_path / "gateway" / "stray.yaml").write_text("a: 1\n", encoding="utf-8")
    result = subprocess.run([sys.executable, str(RENDER_VALUES), "--policies-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1 and "stray.yaml" in result.stderr


def test_containerfile_builds_a_non_root_image_without_keys() -> None:
    containerfile = (REPO / "deploy" / "Containerfile").read_text(encoding="utf-8")
    instructions = [line.split(None, 1) for line in containerfile.splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
    froms = [rest for op, *rest in instructions if op == "FROM"]
    assert froms and all(rest[0].startswith("python:3.11-slim") for rest in froms)
    users = [rest[0].strip() for op, *rest in instructions if op == "USER"]
    assert users and users[-1].split(":")[0].isdigit() and users[-1].split(":")[0] != "0"
    entrypoint = next(rest[0] for op, *rest in instructions if op == "ENTRYPOINT")
    assert json.loads(entrypoint) == ["gateway"]
    assert json.loads(next(rest[0] for op, *rest in instructions if op == "CMD")) == ["serve"]
    copies = " ".join(rest[0] for op, *rest in instructions if op in ("COPY", "ADD"))
    assert "keys" not in copies.split()
    assert "[dev]" not in containerfile

    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".venv", "keys/*", "var/"} <= set(ignored)
