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

{{/* The client JWKS files the registry names, as Secret items mapped back under clients/. */}}
{{- define "kgb-gateway.jwksItems" -}}
{{- range $org := .Values.organisations }}
{{- range $client := $org.clients | default list }}
{{- if $client.jwks_file }}
- key: {{ base $client.jwks_file }}
  path: {{ $client.jwks_file }}
{{- end }}
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
