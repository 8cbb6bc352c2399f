{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app' }, data: { dbHost: std.extVar('dbHost') } }
