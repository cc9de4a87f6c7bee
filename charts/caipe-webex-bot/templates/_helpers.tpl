{{/* The chart's name, overridable. */}}
{{- define "caipe-webex-bot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name, at most 63 characters (a DNS label); just the release name when it already is the chart's name. */}}
{{- define "caipe-webex-bot.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if eq .Release.Name (include "caipe-webex-bot.name" .) }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "caipe-webex-bot.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Chart.yaml's version is plain semver (no "+build"), so no character needs replacing in the label. */}}
{{- define "caipe-webex-bot.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "caipe-webex-bot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "caipe-webex-bot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "caipe-webex-bot.labels" -}}
helm.sh/chart: {{ include "caipe-webex-bot.chart" . }}
{{ include "caipe-webex-bot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "caipe-webex-bot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "caipe-webex-bot.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret loaded with envFrom: the operator's own, or the one this chart creates (directly or through an ExternalSecret); empty for none. */}}
{{- define "caipe-webex-bot.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else if or .Values.secrets.create .Values.externalSecret.enabled }}
{{- printf "%s-secrets" (include "caipe-webex-bot.fullname" .) }}
{{- end }}
{{- end }}

{{- define "caipe-webex-bot.claimName" -}}
{{- default (printf "%s-data" (include "caipe-webex-bot.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}
