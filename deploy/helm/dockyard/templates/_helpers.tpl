{{/* The release's resource name: fullnameOverride, else the release name when it already
says dockyard, else "<release>-dockyard"; at most 63 characters. */}}
{{- define "dockyard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (default .Chart.Name .Values.nameOverride) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (default .Chart.Name .Values.nameOverride) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "dockyard.selectorLabels" -}}
app.kubernetes.io/name: {{ default .Chart.Name .Values.nameOverride | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end -}}

{{- define "dockyard.labels" -}}
{{ include "dockyard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
{{- end -}}

{{- define "dockyard.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "dockyard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "dockyard.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the shared keys and root credentials. */}}
{{- define "dockyard.keysSecret" -}}
{{- default (include "dockyard.fullname" .) .Values.keys.existingSecret -}}
{{- end -}}

{{/* The Secret and key holding the database URL. */}}
{{- define "dockyard.databaseSecret" -}}
{{- default (include "dockyard.fullname" .) .Values.database.existingSecret -}}
{{- end -}}
{{- define "dockyard.databaseSecretKey" -}}
{{- if .Values.database.existingSecret -}}
{{- .Values.database.existingSecretKey -}}
{{- else -}}
DOCKYARD_DATABASE_URL
{{- end -}}
{{- end -}}

{{/* Whether the nodes get S3 credentials from a Secret (else the pod's own AWS identity). */}}
{{- define "dockyard.s3Credentials" -}}
{{- if or .Values.s3.existingSecret .Values.s3.accessKeyId -}}true{{- end -}}
{{- end -}}

{{/* The S3 credentials' Secret and its two keys. */}}
{{- define "dockyard.s3Secret" -}}
{{- default (include "dockyard.fullname" .) .Values.s3.existingSecret -}}
{{- end -}}
{{- define "dockyard.s3AccessKeyIdKey" -}}
{{- if .Values.s3.existingSecret -}}
{{- .Values.s3.existingSecretAccessKeyIdKey -}}
{{- else -}}
DOCKYARD_S3_ACCESS_KEY_ID
{{- end -}}
{{- end -}}
{{- define "dockyard.s3SecretAccessKeyKey" -}}
{{- if .Values.s3.existingSecret -}}
{{- .Values.s3.existingSecretSecretAccessKeyKey -}}
{{- else -}}
DOCKYARD_S3_SECRET_ACCESS_KEY
{{- end -}}
{{- end -}}

{{/* Environment from Secrets: the shared keys, the root key, the database URL and the
S3 credentials. The nodes get all of it; the migration job only the database URL. */}}
{{- define "dockyard.secretEnv" -}}
{{- $keys := include "dockyard.keysSecret" . -}}
{{- range $name := list "DOCKYARD_SECRETS_KEY" "DOCKYARD_TOKENS_KEY" "DOCKYARD_ROOT_ACCESS_KEY_ID" "DOCKYARD_ROOT_SECRET_ACCESS_KEY" }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $keys }}
      key: {{ $name }}
{{- end }}
{{ include "dockyard.databaseEnv" . }}
{{- if include "dockyard.s3Credentials" . }}
- name: DOCKYARD_S3_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ include "dockyard.s3Secret" . }}
      key: {{ include "dockyard.s3AccessKeyIdKey" . }}
- name: DOCKYARD_S3_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "dockyard.s3Secret" . }}
      key: {{ include "dockyard.s3SecretAccessKeyKey" . }}
{{- end }}
{{- end -}}

{{- define "dockyard.databaseEnv" -}}
- name: DOCKYARD_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "dockyard.databaseSecret" . }}
      key: {{ include "dockyard.databaseSecretKey" . }}
{{- end -}}
