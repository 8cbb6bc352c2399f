{
  app: {
    thing: { apiVersion: 'v1', metadata: { name: 'kindless' } },
  },
}
