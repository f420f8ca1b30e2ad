{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "pxl-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: release-chart unless the release name already holds it. */}}
{{- define "pxl-operator.fullname" -}}
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

{{- define "pxl-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "pxl-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pxl-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "pxl-operator.labels" -}}
helm.sh/chart: {{ include "pxl-operator.chart" . }}
{{ include "pxl-operator.selectorLabels" . }}
app.kubernetes.io/component: operator
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "pxl-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "pxl-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Namespaced permissions of the operator: exactly the API calls it makes.
- pxlprovers: kopf watches them and patches its progress annotations; the operator
  reads them and merge-patches the status subresource. `update` on pxlprovers/finalizers is what the
  OwnerReferencesPermissionEnforcement admission plugin demands before children may
  carry blockOwnerDeletion owner references (kopf.adopt sets them).
- Children are read, created and merge-patched (also to adopt ones orphaned by
  `--cascade=orphan`), and watched (label-selected: managed-by pxl-operator) so a change
  by hand is repaired at once; the optional ones (HPA, Ingress, PDB) are deleted when the
  spec turns them off. Deployments are watched for rollout progress (a rollback restores
  the template kept in the Deployment's annotations: no ReplicaSets).
- Secrets: the HMAC key is created once and otherwise only read to check that a
  referenced one exists; never listed, watched, patched or deleted.
- ConfigMaps: kernel sources are read, and listed/watched only with the label selector
  `pxl.logos.dev/kernel` (RBAC cannot express a label selector: the verbs are granted on
  all ConfigMaps of a namespace; use watchNamespaces to narrow the namespaces). The
  operator creates and deletes only its own immutable `<name>-kernel-<hash>` copies.
- Events: kopf and the rollback logic post core/v1 Events.
- NetworkPolicies, PodMonitors, PrometheusRules, ScaledObjects: rendered only when a
  PXLProver asks (spec.networkPolicy, spec.monitoring, autoscaling through KEDA) and
  deleted when it stops asking.
*/}}
{{- define "pxl-operator.namespacedRules" -}}
- apiGroups: [pxl.logos.dev]
  resources: [pxlprovers]
  verbs: [get, list, watch, patch]
- apiGroups: [pxl.logos.dev]
  resources: [pxlprovers/status]
  verbs: [patch]
- apiGroups: [pxl.logos.dev]
  resources: [pxlprovers/finalizers]
  verbs: [update]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, patch]
- apiGroups: [""]
  resources: [services]
  verbs: [get, list, watch, create, patch]
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [networking.k8s.io]
  resources: [ingresses]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, create]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch, create, delete]
- apiGroups: [""]
  resources: [events]
  verbs: [create]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [get, create, patch, delete]
- apiGroups: [monitoring.coreos.com]
  resources: [podmonitors, prometheusrules]
  verbs: [get, create, patch, delete]
- apiGroups: [keda.sh]
  resources: [scaledobjects]
  verbs: [get, create, patch, delete]
{{- end }}
