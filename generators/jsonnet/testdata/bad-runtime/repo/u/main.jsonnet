local c = import 'checks.libsonnet';

{
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'x' },
  data: { n: std.toString(c.check(1)) },
}
