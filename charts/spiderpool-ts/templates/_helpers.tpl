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

{{/*
  The pod of a hook Job (spiderpool-init after install, the clean Job before uninstall): the server's
  ServiceAccount, on the host network as the webhook is, so that it runs whether or not the pod
  network works yet, or still.
*/}}
{{- define "spiderpool.hookJob.podSpec" -}}
serviceAccountName: {{ .Values.spiderpoolController.name }}
restartPolicy: Never
priorityClassName: {{ .Values.spiderpoolController.priorityClassName }}
{{- if .Values.spiderpoolController.hostNetwork }}
hostNetwork: true
dnsPolicy: ClusterFirstWithHostNet
{{- end }}
{{- with .Values.spiderpoolController.tolerations }}
tolerations:
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The end of a hook Job's container: the server's resources, and nothing it may not need. */}}
{{- define "spiderpool.hookJob.containerLimits" -}}
resources:
  {{- toYaml .Values.spiderpoolController.resources | nindent 2 }}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  runAsNonRoot: true
  runAsUser: 65532
  capabilities:
    drop: [ALL]
{{- end }}
