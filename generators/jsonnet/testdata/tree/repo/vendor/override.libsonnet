{ source: 'vendor' }
