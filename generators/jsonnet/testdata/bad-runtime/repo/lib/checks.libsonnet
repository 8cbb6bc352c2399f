{
  // fails when called
  check(x):: if x > 1 then x else error 'replicas must be > 1, got ' + x,
}
