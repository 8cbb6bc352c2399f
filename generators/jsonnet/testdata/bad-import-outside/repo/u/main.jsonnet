local secret = importstr '../../outside.txt';
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { s: secret } }
