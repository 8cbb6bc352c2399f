local config = import 'config.libsonnet';
local k = import 'k.libsonnet';
local labels = import 'acme/labels.libsonnet';
local team = import 'team.libsonnet';
local override = import 'override.libsonnet';

local withNs(o) = o { metadata+: { namespace: config.namespace } } + labels.withLabels({ team: team.team, source: override.source });

{
  namespace: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: config.namespace } },
  prometheus: {
    deployment: withNs(k.deployment('prometheus', config.image, replicas=2)),
    service: withNs(k.service('prometheus', 9090)),
  },
  dashboards: [
    withNs({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'dashboard-overview' },
      data: { 'overview.json': importstr 'dashboard.json', sampleRatio: std.toString(team.ratio) },
    }),
    null,
  ],
  'optional-thing': if false then withNs(k.service('never', 1)) else null,
  rbac: {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      withNs({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'prometheus' } }),
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'prometheus' }, rules: [] },
    ],
  },
}
