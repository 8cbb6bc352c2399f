local alerts = import 'lib/alerts.libsonnet';
local cluster = std.extVar('cluster');

{
  namespace: {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'monitoring' },
  },
  rules: {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'alert-rules', namespace: 'monitoring', labels: { cluster: cluster } },
    data: {
      'rules.json': std.manifestJsonEx([
        alerts.rule('HighErrorRate', 'rate(http_errors_total[5m]) > 0.05', 'critical'),
        alerts.rule('DiskFilling', 'disk_free_ratio < 0.1'),
      ], '  '),
    },
  },
}
