{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { s: std.join('', std.makeArray(1000, function(i) std.join('', std.makeArray(100, function(j) 'x'))))  } }
