// nothing provides this
local missing = import 'nowhere.libsonnet';
missing
