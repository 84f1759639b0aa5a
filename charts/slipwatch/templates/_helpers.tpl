{{/* Names. Kubernetes names are DNS labels: at most 63 characters. */}}
{{- define "slipwatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "slipwatch.fullname" -}}
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

{{/* The quick-start Redis: the full name leaves room for the suffix. */}}
{{- define "slipwatch.redisName" -}}
{{- printf "%s-redis" (include "slipwatch.fullname" . | trunc 57 | trimSuffix "-") }}
{{- end }}

{{- define "slipwatch.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "slipwatch.version" -}}
{{- default .Chart.AppVersion .Values.image.tag | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object; selector labels never change over a release's life. */}}
{{- define "slipwatch.baseLabels" -}}
helm.sh/chart: {{ include "slipwatch.chart" . }}
app.kubernetes.io/version: {{ include "slipwatch.version" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: slipwatch
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "slipwatch.labels" -}}
{{ include "slipwatch.selectorLabels" . }}
{{ include "slipwatch.baseLabels" . }}
{{- end }}

{{- define "slipwatch.redisLabels" -}}
{{ include "slipwatch.redisSelectorLabels" . }}
{{ include "slipwatch.baseLabels" . }}
{{- end }}

{{- define "slipwatch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "slipwatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{- define "slipwatch.redisSelectorLabels" -}}
app.kubernetes.io/name: {{ include "slipwatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end }}

{{- define "slipwatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "slipwatch.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "slipwatch.secretName" -}}
{{- default (include "slipwatch.fullname" .) .Values.existingSecret }}
{{- end }}

{{- define "slipwatch.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
slipwatch.config is config.yaml: .Values.config with the parts the chart
owns (server, the quick-start Redis URL) filled in. It works on a copy, so
that rendering it twice (once for the checksum) gives the same text.
*/}}
{{- define "slipwatch.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) }}
{{- range $tracker := list "github" "jira" }}
{{- if not (get $cfg $tracker) }}
{{- $_ := unset $cfg $tracker }}
{{- end }}
{{- end }}
{{- $redis := get $cfg "redis" | default dict }}
{{- if .Values.quickstartRedis.enabled }}
{{- if or $redis.url $redis.addrs (and $redis.mode (ne $redis.mode "standalone")) }}
{{- fail "quickstartRedis.enabled and config.redis.url (or addrs) both say where Redis is: choose one" }}
{{- end }}
{{- $_ := set $redis "url" (printf "redis://%s:6379/0" (include "slipwatch.redisName" .)) }}
{{- else if and (not $redis.url) (or $redis.addrs (and $redis.mode (ne $redis.mode "standalone"))) }}
{{- $_ := unset $redis "url" }}
{{- end }}
{{- with $redis.url }}
{{- $u := urlParse . }}
{{- if contains ":" $u.userinfo }}
{{- fail "config.redis.url holds a password, which would land in a ConfigMap: put it in secrets.redisPassword (or the existingSecret's redis-password key)" }}
{{- end }}
{{- end }}
{{- $_ := set $cfg "redis" $redis }}
{{- $_ := set $cfg "server" (dict "listen" (printf ":%d" (int .Values.containerPort)) "shutdown_grace" (printf "%ds" (int .Values.shutdownGraceSeconds))) }}
{{- toYaml $cfg }}
{{- end }}

{{/*
slipwatch.credentials lists, as YAML, every credential the config asks for:
its SLIPWATCH_* variable, its key in the Secret, its value from .Values.secrets
and whether slipwatch cannot run without it. One table, so the Secret and the
Deployment's env cannot disagree.
*/}}
{{- define "slipwatch.credentials" -}}
{{- $s := .Values.secrets }}
{{- $gh := .Values.config.github | default dict }}
{{- $jira := .Values.config.jira | default dict }}
{{- $auth := $jira.auth | default dict }}
{{- $list := list }}
{{- if $gh }}
{{- if $gh.app }}
{{- if not $gh.app.private_key_file }}
{{- $list = append $list (dict "value" "githubAppPrivateKey" "key" "github-app-private-key" "env" "SLIPWATCH_GITHUB_APP_PRIVATE_KEY" "required" true) }}
{{- end }}
{{- else }}
{{- $list = append $list (dict "value" "githubToken" "key" "github-token" "env" "SLIPWATCH_GITHUB_TOKEN" "required" true) }}
{{- end }}
{{- if not $gh.insecure_skip_signature }}
{{- $list = append $list (dict "value" "githubWebhookSecret" "key" "github-webhook-secret" "env" "SLIPWATCH_GITHUB_WEBHOOK_SECRET" "required" false) }}
{{- $list = append $list (dict "value" "githubPreviousWebhookSecret" "key" "github-previous-webhook-secret" "env" "SLIPWATCH_GITHUB_PREVIOUS_WEBHOOK_SECRET" "required" false) }}
{{- end }}
{{- end }}
{{- if $jira }}
{{- if $auth.oauth2 }}
{{- $list = append $list (dict "value" "jiraOAuth2ClientSecret" "key" "jira-oauth2-client-secret" "env" "SLIPWATCH_JIRA_AUTH_OAUTH2_CLIENT_SECRET" "required" true) }}
{{- $list = append $list (dict "value" "jiraOAuth2RefreshToken" "key" "jira-oauth2-refresh-token" "env" "SLIPWATCH_JIRA_AUTH_OAUTH2_REFRESH_TOKEN" "required" true) }}
{{- else if $auth.email }}
{{- $list = append $list (dict "value" "jiraApiToken" "key" "jira-api-token" "env" "SLIPWATCH_JIRA_AUTH_API_TOKEN" "required" true) }}
{{- else }}
{{- $list = append $list (dict "value" "jiraPat" "key" "jira-pat" "env" "SLIPWATCH_JIRA_AUTH_PAT" "required" true) }}
{{- end }}
{{- if not $jira.insecure_skip_signature }}
{{- $list = append $list (dict "value" "jiraWebhookSecret" "key" "jira-webhook-secret" "env" "SLIPWATCH_JIRA_WEBHOOK_SECRET" "required" false) }}
{{- $list = append $list (dict "value" "jiraPreviousWebhookSecret" "key" "jira-previous-webhook-secret" "env" "SLIPWATCH_JIRA_PREVIOUS_WEBHOOK_SECRET" "required" false) }}
{{- $list = append $list (dict "value" "jiraWebhookToken" "key" "jira-webhook-token" "env" "SLIPWATCH_JIRA_WEBHOOK_TOKEN" "required" false) }}
{{- end }}
{{- end }}
{{- $list = append $list (dict "value" "redisPassword" "key" "redis-password" "env" "SLIPWATCH_REDIS_PASSWORD" "required" false) }}
{{- /* Required only when an Ingress relies on it to keep the pages private. */}}
{{- $dash := .Values.ingress.dashboard | default dict }}
{{- $list = append $list (dict "value" "apiToken" "key" "api-token" "env" "SLIPWATCH_SERVER_API_TOKEN" "required" (and $dash.enabled (eq ($dash.auth | default "") "token"))) }}
{{- $list = append $list (dict "value" "markersKey" "key" "markers-key" "env" "SLIPWATCH_MARKERS_KEY" "required" false) }}
{{- $list = append $list (dict "value" "markersPreviousKeys" "key" "markers-previous-keys" "env" "SLIPWATCH_MARKERS_PREVIOUS_KEYS" "required" false) }}
{{- range $list }}
{{- $_ := set . "set" (ne (get $s .value | default "") "") }}
{{- end }}
{{- toYaml $list }}
{{- end }}

{{/*
slipwatch.checkCredentials fails the render on a credential that is
missing, or given but not asked for by the config (a token for a tracker
that is not configured is a mistake worth a message, not silence).
*/}}
{{- define "slipwatch.checkCredentials" -}}
{{- $creds := include "slipwatch.credentials" . | fromYamlArray }}
{{- $used := dict }}
{{- range $creds }}
{{- $_ := set $used .value true }}
{{- end }}
{{- if .Values.existingSecret }}
{{- range $k, $v := .Values.secrets }}
{{- if $v }}
{{- fail (printf "secrets.%s is set while existingSecret is %q: the chart creates no Secret then; put the value in that Secret under its key (see the chart README)" $k $.Values.existingSecret) }}
{{- end }}
{{- end }}
{{- else }}
{{- range $creds }}
{{- if and .required (not .set) }}
{{- fail (printf "secrets.%s is required by the config (it becomes %s); or set existingSecret" .value .env) }}
{{- end }}
{{- end }}
{{- range $k, $v := .Values.secrets }}
{{- if and $v (not (hasKey $used $k)) }}
{{- fail (printf "secrets.%s is set but the config does not use it (check config.github / config.jira and their auth)" $k) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{- define "slipwatch.terminationGracePeriodSeconds" -}}
{{- $grace := int .Values.shutdownGraceSeconds }}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add $grace 10 }}
{{- else if le (int .Values.terminationGracePeriodSeconds) $grace }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be above shutdownGraceSeconds (%d): the kubelet would kill slipwatch while it drains" (int .Values.terminationGracePeriodSeconds) $grace) }}
{{- else }}
{{- int .Values.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}
