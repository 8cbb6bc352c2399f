{ source: 'lib' }
