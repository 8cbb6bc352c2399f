package packages_test

import (
	"testing"
	"testing/fstest"

	"github.com/stewardhq/steward/reconcile/packages"
)

// FuzzLoad: any steward-package.yaml loads or is an error, never a panic.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("apiVersion: steward.dev/v1\nkind: Package\nname: x\ngenerator: {yaml: {}}\nparameters: {type: object, properties: {a: {type: integer, default: 1}}}\n"))
	f.Add([]byte("parameters: {$ref: '#/parameters'}\n"))
	f.Add([]byte("parameters: {type: [1, {}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := packages.Load(fstest.MapFS{"steward-package.yaml": {Data: data}}, ".", "steward-package.yaml")
		if err != nil {
			return
		}
		if _, _, err := p.Schema.Apply(map[string]any{"a": 1}); err != nil {
			t.Fatalf("apply: %v", err)
		}
	})
}
