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

{{/* Where the bot keeps its state: "mongodb" or "embedded" (see store in values.yaml). */}}
{{- define "caipe-webex-bot.store" -}}
{{- if .Values.store }}
{{- .Values.store }}
{{- else if and .Values.secrets.create (not .Values.secrets.existingSecret) .Values.secrets.values.MONGODB_URI }}
{{- "mongodb" }}
{{- else }}
{{- "embedded" }}
{{- end }}
{{- end }}

{{/* Non-empty when several pods share the bot token: a StatefulSet, each pod its own INSTANCE_ID. */}}
{{- define "caipe-webex-bot.replicated" -}}
{{- if gt (int .Values.replicaCount) 1 }}
{{- "true" }}
{{- end }}
{{- end }}

{{/* The image reference: pinned by digest when one is given, else by tag. */}}
{{- define "caipe-webex-bot.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* What the chart refuses to render: each would break the bot. Included by the workload templates. */}}
{{- define "caipe-webex-bot.checks" -}}
{{- if and (include "caipe-webex-bot.replicated" .) (not (eq (include "caipe-webex-bot.store" .) "mongodb")) }}
{{- fail "replicaCount above 1 needs the MongoDB store (store: mongodb, or secrets.values.MONGODB_URI): the embedded store is a file on one pod's volume, and without a shared store every pod answers every message" }}
{{- end }}
{{- if not (gt (int .Values.terminationGracePeriodSeconds) (int .Values.env.SHUTDOWN_GRACE_S)) }}
{{- fail "terminationGracePeriodSeconds must be longer than env.SHUTDOWN_GRACE_S, or Kubernetes kills the bot before in-flight answers finish" }}
{{- end }}
{{- end }}

{{/* The pod template of the Deployment (one pod) and of the StatefulSet (several). */}}
{{- define "caipe-webex-bot.podTemplate" -}}
metadata:
  annotations:
    # Changed settings or chart-made secret values restart the pod (envFrom is read at start only).
    checksum/config: {{ toYaml .Values.env | sha256sum }}
    checksum/secret: {{ toYaml .Values.secrets.values | sha256sum }}
    {{- if .Values.podAnnotations }}
    {{- toYaml .Values.podAnnotations | nindent 4 }}
    {{- end }}
  labels:
    {{- include "caipe-webex-bot.selectorLabels" . | nindent 4 }}
    {{- if .Values.podLabels }}
    {{- toYaml .Values.podLabels | nindent 4 }}
    {{- end }}
spec:
  {{- if .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml .Values.imagePullSecrets | nindent 4 }}
  {{- end }}
  serviceAccountName: {{ include "caipe-webex-bot.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
  # Longer than SHUTDOWN_GRACE_S: drain answers, flush the sender, keep the Webex device.
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: bot
      image: {{ include "caipe-webex-bot.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      ports:
        - name: http
          containerPort: {{ .Values.httpPort }}
          protocol: TCP
        {{- if eq .Values.env.XSTATE_INSPECT "stately" }}
        - name: inspect
          containerPort: {{ .Values.env.XSTATE_INSPECT_PORT | default "8081" }}
          protocol: TCP
        {{- end }}
      envFrom:
        - configMapRef:
            name: {{ include "caipe-webex-bot.fullname" . }}-config
        {{- if include "caipe-webex-bot.secretName" . }}
        # Listed last: a key in the Secret wins over the same key in the ConfigMap.
        - secretRef:
            name: {{ include "caipe-webex-bot.secretName" . }}
        {{- end }}
      env:
        - name: HTTP_PORT
          value: {{ .Values.httpPort | quote }}
        - name: DATA_DIR
          value: {{ .Values.persistence.mountPath | quote }}
        {{- if include "caipe-webex-bot.replicated" . }}
        # The pod's stable name: its own Webex device (WEBEX_DEVICE_NAME-<pod>), found again after a restart.
        - name: INSTANCE_ID
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        {{- end }}
        {{- if .Values.extraEnv }}
        {{- toYaml .Values.extraEnv | nindent 8 }}
        {{- end }}
      livenessProbe:
        {{- toYaml .Values.livenessProbe | nindent 8 }}
      readinessProbe:
        {{- toYaml .Values.readinessProbe | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      volumeMounts:
        - name: data
          mountPath: {{ .Values.persistence.mountPath }}
        # The root filesystem is read-only; Node and libraries may still want a /tmp.
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: data
      {{- if and .Values.persistence.enabled (not (include "caipe-webex-bot.replicated" .)) }}
      persistentVolumeClaim:
        claimName: {{ include "caipe-webex-bot.claimName" . }}
      {{- else }}
      emptyDir: {}
      {{- end }}
    - name: tmp
      emptyDir: {}
  {{- if .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml .Values.nodeSelector | nindent 4 }}
  {{- end }}
  {{- if .Values.affinity }}
  affinity:
    {{- toYaml .Values.affinity | nindent 4 }}
  {{- else if include "caipe-webex-bot.replicated" . }}
  # Spread over nodes when possible, so one node going down takes one replica with it, not all.
  affinity:
    podAntiAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
        - weight: 100
          podAffinityTerm:
            topologyKey: kubernetes.io/hostname
            labelSelector:
              matchLabels:
                {{- include "caipe-webex-bot.selectorLabels" . | nindent 16 }}
  {{- end }}
  {{- if .Values.tolerations }}
  tolerations:
    {{- toYaml .Values.tolerations | nindent 4 }}
  {{- end }}
{{- end }}
