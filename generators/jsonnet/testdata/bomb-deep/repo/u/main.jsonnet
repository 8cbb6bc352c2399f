// A tailstrict recursion that doubles an array 40 times: 2^40 elements.
local grow(a, n) = if n == 0 then a else grow(a + a, n - 1) tailstrict;
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bomb' }, data: { n: std.length(grow([1], 40)) } }
