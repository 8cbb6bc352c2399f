{ app: { 'my-config': { name: 'not an object' } } }
