{{/* The chart's name. */}}
{{- define "qsgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The full name of the release's objects. */}}
{{- define "qsgate.fullname" -}}
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

{{- define "qsgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "qsgate.labels" -}}
helm.sh/chart: {{ include "qsgate.chart" . }}
{{ include "qsgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "qsgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "qsgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "qsgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "qsgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding QSGATE_SESSION_KEYS, QSGATE_OIDC_CLIENT_SECRET and QSGATE_REDIS_URL. */}}
{{- define "qsgate.secretName" -}}
{{- default (include "qsgate.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{/* Whether the pods will see QSGATE_REDIS_URL. */}}
{{- define "qsgate.hasRedis" -}}
{{- if .Values.secret.existingSecret }}
{{- if .Values.secret.existingSecretHasRedisURL }}true{{ end }}
{{- else if .Values.secret.redisURL }}true{{ end }}
{{- end }}

{{/*
Checks that stop the render with a message: what the schema cannot say.
*/}}
{{- define "qsgate.validate" -}}
{{- $secrets := list "QSGATE_SESSION_KEYS" "QSGATE_OIDC_CLIENT_SECRET" "QSGATE_REDIS_URL" }}
{{- range $k := $secrets }}
{{- if hasKey $.Values.config $k }}
{{- fail (printf "config.%s: a secret; set it in secret (or secret.existingSecret), never in config, which becomes a ConfigMap" $k) }}
{{- end }}
{{- end }}
{{- range $k := list "QSGATE_LISTEN_ADDR" "QSGATE_METRICS_ADDR" "QSGATE_SHUTDOWN_DELAY" "QSGATE_SHUTDOWN_GRACE" }}
{{- if hasKey $.Values.config $k }}
{{- fail (printf "config.%s: set by the chart (from service, metrics.port and shutdown) so probes, ports and the drain agree; remove it" $k) }}
{{- end }}
{{- end }}
{{- if and (or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled) (not (include "qsgate.hasRedis" .)) }}
{{- fail "more than one replica (replicaCount > 1 or autoscaling.enabled) needs a Redis: set secret.redisURL (or secret.existingSecret with QSGATE_REDIS_URL and secret.existingSecretHasRedisURL: true). Without it the per-user view limit, the AWS call budget and session revocation would each be per pod" }}
{{- end }}
{{- if and .Values.podDisruptionBudget.enabled (not .Values.autoscaling.enabled) (le (int .Values.replicaCount) 1) }}
{{- fail "podDisruptionBudget.enabled with one replica would block every node drain (or allow no disruption at all); run two or more replicas (with Redis) or leave it off" }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.metrics.enabled) }}
{{- fail "metrics.serviceMonitor.enabled needs metrics.enabled" }}
{{- end }}
{{- if eq (int .Values.metrics.port) 8080 }}
{{- fail "metrics.port: must differ from 8080, qsgate's own port" }}
{{- end }}
{{- end }}

{{/* The settings the chart sets itself, rendered into the ConfigMap. */}}
{{- define "qsgate.configData" -}}
{{- $data := dict "QSGATE_LISTEN_ADDR" ":8080" "QSGATE_SHUTDOWN_DELAY" (printf "%ds" (int .Values.shutdown.delaySeconds)) "QSGATE_SHUTDOWN_GRACE" (printf "%ds" (int .Values.shutdown.graceSeconds)) }}
{{- if .Values.metrics.enabled }}
{{- $_ := set $data "QSGATE_METRICS_ADDR" (printf ":%d" (int .Values.metrics.port)) }}
{{- end }}
{{- range $k, $v := .Values.config }}
{{- $_ := set $data $k (toString $v) }}
{{- end }}
{{- range $k, $v := $data }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end }}
