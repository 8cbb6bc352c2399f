{
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'single' },
  data: { pi: '3.14' },
  binaryData: {},
}
