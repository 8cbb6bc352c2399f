{
  // vendored: standard labels
  withLabels(labels):: { metadata+: { labels+: labels } },
}
