local cfg = { a: 1 };
{
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'x' },
  data: { b: cfg.b },
}
