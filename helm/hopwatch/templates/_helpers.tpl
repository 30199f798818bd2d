{{/* The release's name for hopwatch's objects (63 characters at most). */}}
{{- define "hopwatch.fullname" -}}
{{- printf "%s-hopwatch" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "hopwatch.labels" -}}
app.kubernetes.io/name: hopwatch
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "hopwatch.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The ClickHouse server every part writes to: the external URL, or the trial StatefulSet's Service. */}}
{{- define "hopwatch.clickhouseUrl" -}}
{{- if .Values.clickhouse.url -}}
{{ .Values.clickhouse.url }}
{{- else if .Values.clickhouse.altinity.enabled -}}
http://clickhouse-{{ include "hopwatch.fullname" . }}:8123
{{- else if .Values.clickhouse.statefulSet.enabled -}}
http://{{ include "hopwatch.fullname" . }}-clickhouse:8123
{{- else -}}
{{ fail "clickhouse.url is empty: give your ClickHouse server's HTTP URL, or set clickhouse.statefulSet.enabled=true for a trial one, or clickhouse.altinity.enabled=true for a cluster run by the Altinity operator" }}
{{- end -}}
{{- end -}}

{{/* hopwatch.yaml: the proxy, its upstreams and the store (the password comes from the environment, never from here). */}}
{{- define "hopwatch.config" -}}
{{- $store := dict "database" .Values.clickhouse.database "clickhouse" (dict "url" (include "hopwatch.clickhouseUrl" .) "user" .Values.clickhouse.user) -}}
{{- with .Values.clickhouse.altinity -}}{{- if .enabled -}}
{{- $_ := set $store.clickhouse "cluster" .cluster -}}
{{- if gt (int .replicas) 1 -}}
{{- $_ := set $store.clickhouse "replicated" true -}}
{{- else -}}
{{- /* one replica a shard: the tables are created on every node, each host's Service as the operator names it */ -}}
{{- $nodes := list -}}
{{- range $shard := until (int .shards) -}}
{{- $nodes = append $nodes (printf "http://chi-%s-%s-%d-0:8123" (include "hopwatch.fullname" $) $.Values.clickhouse.altinity.cluster $shard) -}}
{{- end -}}
{{- $_ := set $store.clickhouse "nodes" $nodes -}}
{{- end -}}
{{- end -}}{{- end -}}
{{- if .Values.clickhouse.cluster -}}
{{- $_ := set $store.clickhouse "cluster" .Values.clickhouse.cluster -}}
{{- $_ := set $store.clickhouse "nodes" .Values.clickhouse.nodes -}}
{{- end -}}
{{- $config := dict "proxy" (dict "host" "0.0.0.0" "port" .Values.proxy.port) "upstreams" .Values.proxy.upstreams "store" $store -}}
{{- toYaml (merge $config .Values.proxy.extraConfig) -}}
{{- end -}}

{{/* The store's password from its Secret, when one is named. */}}
{{- define "hopwatch.env" -}}
{{- if .Values.clickhouse.passwordSecret.name }}
- name: HOPWATCH_CLICKHOUSE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.clickhouse.passwordSecret.name }}
      key: {{ .Values.clickhouse.passwordSecret.key }}
{{- end }}
{{- end -}}

{{/*
The proxy as a sidecar: include it in your agent's pod spec under `containers:`, with the volume from
"hopwatch.sidecarVolume" under `volumes:`, and point the agent's STT, LLM and TTS clients at http://localhost:<port>/<prefix>.
Give the container the pod's name as the proxy's name (the hops' `proxy` column) through HOSTNAME, which Kubernetes sets.
*/}}
{{- define "hopwatch.sidecar" -}}
- name: hopwatch-proxy
  image: {{ include "hopwatch.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args: [proxy, --config, /etc/hopwatch/hopwatch.yaml{{ if gt (int .Values.proxy.workers) 0 }}, --workers, {{ .Values.proxy.workers | quote }}{{ end }}]
  ports:
    - { name: hopwatch, containerPort: {{ .Values.proxy.port }} }
  env:
    {{- include "hopwatch.env" . | nindent 4 }}
  volumeMounts:
    - { name: hopwatch-config, mountPath: /etc/hopwatch, readOnly: true }
  readinessProbe:
    httpGet: { path: /healthz, port: hopwatch }
  livenessProbe:
    httpGet: { path: /healthz, port: hopwatch }
    periodSeconds: 20
  resources:
    {{- toYaml .Values.proxy.resources | nindent 4 }}
  securityContext:
    runAsNonRoot: true
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
{{- end -}}

{{- define "hopwatch.sidecarVolume" -}}
- name: hopwatch-config
  configMap:
    name: {{ include "hopwatch.fullname" . }}-config
{{- end -}}
