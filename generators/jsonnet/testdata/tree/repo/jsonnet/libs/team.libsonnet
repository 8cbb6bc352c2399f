{ team: 'observability', ratio: 0.25 }
