{{/* Helpers of the spiderpool-ts chart (rendered by Helm, and by scripts/chart/ in the tests). */}}

{{- define "spiderpool.labels" -}}
app.kubernetes.io/name: spiderpool
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "spiderpool.controller.selectorLabels" -}}
app.kubernetes.io/name: spiderpool
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: {{ .Values.spiderpoolController.name }}
{{- end }}

{{- define "spiderpool.agent.selectorLabels" -}}
app.kubernetes.io/name: spiderpool
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: {{ .Values.spiderpoolAgent.name }}
{{- end }}

{{- define "spiderpool.image" -}}
{{ .Values.global.imageRegistryOverride | default .Values.image.registry }}/{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "spiderpool.plugins.image" -}}
{{ .Values.global.imageRegistryOverride | default .Values.plugins.image.registry }}/{{ .Values.plugins.image.repository }}:{{ .Values.plugins.image.tag }}
{{- end }}

{{/* the CNI's service account token, long-lived: the plugins keep the copy install-cni writes */}}
{{- define "spiderpool.agent.tokenSecret" -}}
{{ .Values.spiderpoolAgent.name }}-token
{{- end }}
