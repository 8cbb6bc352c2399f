local cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'same', namespace: 'a' } };
{ one: cm, two: [cm] }
