{{/* Names, labels and the shared pieces of the pod specs. */}}

{{- define "kgb-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kgb-gateway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kgb-gateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object but without a component: the migration Job adds its own. */}}
{{- define "kgb-gateway.baseLabels" -}}
helm.sh/chart: {{ include "kgb-gateway.chart" . }}
app.kubernetes.io/name: {{ include "kgb-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kgb-gateway
{{- end }}

{{- define "kgb-gateway.labels" -}}
{{ include "kgb-gateway.baseLabels" . }}
app.kubernetes.io/component: gateway
{{- end }}

{{/* Selects the gateway pods only (never the migration Job's pods). */}}
{{- define "kgb-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kgb-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: gateway
{{- end }}

{{- define "kgb-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kgb-gateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kgb-gateway.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "kgb-gateway.opaImage" -}}
{{- if .Values.opa.image.digest }}
{{- printf "%s@%s" .Values.opa.image.repository .Values.opa.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.opa.image.repository .Values.opa.image.tag }}
{{- end }}
{{- end }}

{{- define "kgb-gateway.databaseSecret" -}}
{{- default (printf "%s-database" (include "kgb-gateway.fullname" .)) .Values.database.existingSecret }}
{{- end }}

{{- define "kgb-gateway.keysSecret" -}}
{{- if and .Values.keys.existingSecret .Values.keys.files }}
{{- fail "set either keys.existingSecret or keys.files, not both" }}
{{- end }}
{{- default (printf "%s-keys" (include "kgb-gateway.fullname" .)) .Values.keys.existingSecret }}
{{- end }}

{{/* The policy ConfigMap is named by its content. A running pod keeps the bundle it started with even while a
     rolling update replaces the ConfigMap, so a restarted OPA sidecar can never decide under a newer bundle than
     the one whose hash its gateway writes into the log. */}}
{{- define "kgb-gateway.policiesConfigMap" -}}
{{- printf "%s-policies-%s" (include "kgb-gateway.fullname" .) (toJson .Values.policies | sha256sum | trunc 10) }}
{{- end }}

{{/* ConfigMap key of a Rego module: its path with "/" as "." (ConfigMap keys cannot hold "/"). */}}
{{- define "kgb-gateway.regoKey" -}}
{{- . | replace "/" "." }}
{{- end }}

{{/* The key files the registry names in subdirectories of the keys directory (client JWKS under clients/,
partner secrets and certificates e.g. under partners/), as items of the flat key Secret mapped back to that path.
A file at the top of the keys directory needs no item: the whole Secret is mounted there as well. */}}
{{- define "kgb-gateway.keyFileItems" -}}
{{- $paths := list }}
{{- range $org := .Values.organisations }}
{{- range $client := $org.clients | default list }}
{{- if $client.jwks_file }}{{- $paths = append $paths $client.jwks_file }}{{- end }}
{{- end }}
{{- with $org.endpoint }}
{{- range $auth := list .api_key .oauth2 .zgw_jwt }}
{{- if and $auth $auth.secret_file }}{{- $paths = append $paths $auth.secret_file }}{{- end }}
{{- end }}
{{- with .tls }}
{{- range $file := list .cert_file .key_file .ca_file }}
{{- if $file }}{{- $paths = append $paths $file }}{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- range $path := $paths | uniq }}
{{- if contains "/" $path }}
- key: {{ base $path }}
  path: {{ $path }}
{{- end }}
{{- end }}
{{- end }}

{{/* The container securityContext every container of the chart runs with. */}}
{{- define "kgb-gateway.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: {{ .Values.podSecurityContext.runAsUser }}
runAsGroup: {{ .Values.podSecurityContext.runAsGroup }}
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "kgb-gateway.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurityContext.runAsUser }}
runAsGroup: {{ .Values.podSecurityContext.runAsGroup }}
fsGroup: {{ .Values.podSecurityContext.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Settings every gateway process needs, the migration Job included (gateway.core.settings refuses unsafe ones). */}}
{{- define "kgb-gateway.baseEnv" -}}
- name: GATEWAY_ENVIRONMENT
  value: production
- name: GATEWAY_GENERATE_DEV_KEYS
  value: "false"
- name: GATEWAY_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "kgb-gateway.databaseSecret" . }}
      key: {{ .Values.database.secretKey }}
- name: GATEWAY_LOG_LEVEL
  value: {{ .Values.gateway.logLevel | quote }}
# Also in the migration Job: production settings refuse to load without an https public URL.
- name: GATEWAY_PUBLIC_URL
  value: {{ .Values.gateway.publicUrl | quote }}
- name: PYTHONDONTWRITEBYTECODE
  value: "1"
{{- end }}

{{/* The OPA sidecar. The policy API listens on loopback only; health and metrics on the diagnostic port. */}}
{{- define "kgb-gateway.opaContainer" -}}
- name: opa
  image: {{ include "kgb-gateway.opaImage" . }}
  imagePullPolicy: {{ .Values.opa.image.pullPolicy }}
  {{- if .Values.opa.nativeSidecar }}
  restartPolicy: Always
  {{- end }}
  args:
    - run
    - --server
    - --addr=127.0.0.1:8181
    - --diagnostic-addr=0.0.0.0:{{ .Values.opa.diagnosticPort }}
    - --config-file=/opa/config.yaml
    - --log-level={{ .Values.opa.logLevel }}
    - --log-format=json
    - --disable-telemetry
    # ConfigMap volumes hold hidden "..data" directories; loading them too would load every file twice.
    - --ignore=.*
    - /policies/rego
    - /policies/data
    - /opa/mask.rego
  ports:
    - name: opa-diag
      containerPort: {{ .Values.opa.diagnosticPort }}
      protocol: TCP
  startupProbe:
    httpGet:
      path: /health
      port: opa-diag
    periodSeconds: 1
    failureThreshold: 30
  livenessProbe:
    httpGet:
      path: /health
      port: opa-diag
    periodSeconds: 10
    timeoutSeconds: 2
  readinessProbe:
    httpGet:
      path: /health
      port: opa-diag
    periodSeconds: 5
    timeoutSeconds: 2
  resources:
    {{- toYaml .Values.opa.resources | nindent 4 }}
  securityContext:
    {{- include "kgb-gateway.containerSecurityContext" . | nindent 4 }}
  volumeMounts:
    - name: opa-policies
      mountPath: /policies
      readOnly: true
    - name: opa-config
      mountPath: /opa
      readOnly: true
{{- end }}

{{/* OpenTelemetry: the gateway's own settings (GATEWAY_OTLP_*), and resource attributes from the downward API. */}}
{{- define "kgb-gateway.otelEnv" -}}
- name: GATEWAY_OTEL_SERVICE_NAME
  value: {{ .Values.otel.serviceName | quote }}
- name: GATEWAY_TRACE_SAMPLE_RATIO
  value: {{ .Values.otel.sampleRatio | quote }}
{{- if .Values.otel.endpoint }}
- name: GATEWAY_OTLP_ENDPOINT
  value: {{ .Values.otel.endpoint | quote }}
- name: GATEWAY_OTLP_TIMEOUT_SECONDS
  value: {{ .Values.otel.timeoutSeconds | quote }}
{{- with .Values.otel.headersSecret }}
{{- if .name }}
- name: OTEL_EXPORTER_OTLP_HEADERS
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .key }}
{{- end }}
{{- end }}
{{- end }}
- name: K8S_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: K8S_NAMESPACE_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: K8S_NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
{{- $extra := list }}
{{- range $key := keys .Values.otel.resourceAttributes | sortAlpha }}
{{- $extra = append $extra (printf "%s=%s" $key (index $.Values.otel.resourceAttributes $key)) }}
{{- end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "k8s.pod.name=$(K8S_POD_NAME),k8s.namespace.name=$(K8S_NAMESPACE_NAME),k8s.node.name=$(K8S_NODE_NAME)%s" (ternary (printf ",%s" (join "," $extra)) "" (gt (len $extra) 0)) | quote }}
{{- end }}

{{/* Which proxies' X-Forwarded-For is trusted: the value, or "*" when the chart's NetworkPolicy lets only the
     ingress controller reach the pods, or else no proxy at all (uvicorn's own default). */}}
{{- define "kgb-gateway.forwardedAllowIps" -}}
{{- if .Values.gateway.forwardedAllowIps }}
{{- .Values.gateway.forwardedAllowIps }}
{{- else if .Values.networkPolicy.enabled }}
{{- "*" }}
{{- else }}
{{- "127.0.0.1" }}
{{- end }}
{{- end }}

{{/* The web pages' logins: local accounts, OIDC, never the demo accounts. */}}
{{- define "kgb-gateway.webEnv" -}}
{{- with .Values.oidc }}
{{- if and .issuer (not .clientId) }}
{{- fail "oidc.issuer is set but oidc.clientId is empty: the gateway cannot start an OIDC login without a client id" }}
{{- end }}
{{- if and (not .issuer) (not .localAccounts) }}
{{- fail "oidc.localAccounts is false and oidc.issuer is empty: nobody could log in to the web pages" }}
{{- end }}
{{- end -}}
- name: GATEWAY_WEB_DEV_ACCOUNTS
  value: "false"
- name: GATEWAY_WEB_LOCAL_ACCOUNTS
  value: {{ .Values.oidc.localAccounts | quote }}
{{- if .Values.oidc.issuer }}
- name: GATEWAY_OIDC_ISSUER
  value: {{ .Values.oidc.issuer | quote }}
- name: GATEWAY_OIDC_CLIENT_ID
  value: {{ .Values.oidc.clientId | quote }}
{{- if .Values.oidc.clientSecret.existingSecret }}
# A file from the Secret (see the oidc-client-secret volume), never the secret itself in the environment.
- name: GATEWAY_OIDC_CLIENT_SECRET_FILE
  value: /secrets/oidc/client-secret
{{- end }}
- name: GATEWAY_OIDC_ROLES_CLAIM
  value: {{ .Values.oidc.rolesClaim | quote }}
- name: GATEWAY_OIDC_ORGANISATION_CLAIM
  value: {{ .Values.oidc.organisationClaim | quote }}
- name: GATEWAY_OIDC_SCOPES
  value: {{ .Values.oidc.scopes | quote }}
{{- end }}
{{- end }}
