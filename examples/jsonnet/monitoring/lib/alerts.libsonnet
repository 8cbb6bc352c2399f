{
  rule(name, expr, severity='warning'):: {
    alert: name,
    expr: expr,
    labels: { severity: severity },
  },
}
