// Top-level arguments: name (tlas), config (tlaCode); ext vars: env (extVars), replicas (extCode).
function(name, config={ port: 80 }) [
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: name + '-' + std.extVar('env'), labels: { env: std.extVar('env') } },
    data: { port: std.toString(config.port), replicas: std.toString(std.extVar('replicas')), debug: std.toString(std.extVar('debug')) },
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: name },
    spec: { replicas: std.extVar('replicas'), paused: std.extVar('debug') },
  },
]
