{ namespace: 'monitoring', image: 'registry.example.com/prometheus:2.50.0' }
