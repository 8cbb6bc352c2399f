

local p = importstr '/etc/hostname';
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { s: p } }
