{{/* Chart name, overridable. */}}
{{- define "ebpftrace.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name of the release's objects (at most 63 chars). */}}
{{- define "ebpftrace.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "ebpftrace.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "ebpftrace.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "ebpftrace.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ebpftrace.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ebpftrace.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "ebpftrace.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "ebpftrace.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ebpftrace.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "ebpftrace.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* OTEL_RESOURCE_ATTRIBUTES: the cluster name, then the user's own. */}}
{{- define "ebpftrace.resourceAttributes" -}}
{{- $attrs := list }}
{{- with .Values.cluster }}{{ $attrs = append $attrs (printf "k8s.cluster.name=%s" .) }}{{ end }}
{{- with .Values.resourceAttributes }}{{ $attrs = append $attrs . }}{{ end }}
{{- join "," $attrs }}
{{- end }}
