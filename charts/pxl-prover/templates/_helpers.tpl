{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "pxl-prover.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: release-chart unless the release name already holds it. */}}
{{- define "pxl-prover.fullname" -}}
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

{{- define "pxl-prover.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: stable across upgrades (a Deployment's selector is immutable). */}}
{{- define "pxl-prover.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pxl-prover.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "pxl-prover.labels" -}}
helm.sh/chart: {{ include "pxl-prover.chart" . }}
{{ include "pxl-prover.selectorLabels" . }}
app.kubernetes.io/component: prover
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "pxl-prover.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The Secret holding HMAC_SECRET_KEY and the key inside it. */}}
{{- define "pxl-prover.hmacSecretName" -}}
{{- .Values.auth.existingSecret | default (printf "%s-hmac" (include "pxl-prover.fullname" .)) }}
{{- end }}

{{- define "pxl-prover.hmacSecretKey" -}}
{{- .Values.auth.secretKey | default "hmac-key" }}
{{- end }}
