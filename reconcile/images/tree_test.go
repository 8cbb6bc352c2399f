package images

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stewardhq/steward/reconcile"
)

const treeStack = `apiVersion: steward.dev/v1
kind: Stack
targets:
  t: {local: {root: out}}
units:
  - {name: app, path: apps/app, generator: {yaml: {}}, target: t, extraPaths: [shared]}
  - {name: web, path: apps/web, generator: {kustomize: {}}, target: t}
  - {name: gone, path: apps/missing, generator: {yaml: {}}, target: t}
images:
  policies:
    - {name: app, image: registry.example.com/app, semver: "*"}
    - {name: web, image: registry.example.com/web, channel: stable}
`

func TestFindInTreeAndCheckMarkers(t *testing.T) {
	s, err := reconcile.ParseStack([]byte(treeStack), "steward.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tree := fstest.MapFS{
		"apps/app/deploy.yaml":        {Data: []byte("image: registry.example.com/app:1.0 # {\"$imagepolicy\": \"app\"}\n")},
		"apps/app/.hidden/x.yaml":     {Data: []byte("image: r/x:1 # {\"$imagepolicy\": \"nope\"}\n")},
		"apps/app/README.md":          {Data: []byte("image: r/x:1 # {\"$imagepolicy\": \"nope\"}\n")},
		"apps/web/kustomization.yaml": {Data: []byte("images:\n- name: web\n  newTag: 2.0 # {\"$imagepolicy\": \"flux-system:web:tag\"}\n  newName: r/web # {\"$imagepolicy\": \"typo:name\"}\n")},
		"shared/values.yml":           {Data: []byte("bad: x # {\"$imagepolicy\": oops}\nok: registry.example.com/app:1.0 # {\"$imagepolicy\": \"app\"}\n")},
		"elsewhere/other.yaml":        {Data: []byte("image: r/x:1 # {\"$imagepolicy\": \"nope\"}\n")},
	}
	if got := strings.Join(MarkerDirs(s), ","); got != "apps/app,shared,apps/web,apps/missing" {
		t.Fatalf("MarkerDirs = %s", got)
	}
	markers, warns, err := FindInTree(tree, MarkerDirs(s))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range markers {
		got = append(got, m.File+":"+m.Policy+":"+m.Field.String())
	}
	want := "apps/app/deploy.yaml:app:image apps/web/kustomization.yaml:web:tag apps/web/kustomization.yaml:typo:name shared/values.yml:app:image"
	if strings.Join(got, " ") != want {
		t.Fatalf("markers = %v\nwant %s", got, want)
	}
	if len(warns) != 1 || warns[0].String() != `shared/values.yml:1: marker is not a JSON object: {"$imagepolicy": oops}: left alone` {
		t.Fatalf("warnings = %v", warns)
	}
	err = CheckMarkers(s, markers)
	var me *MarkerError
	if !errors.As(err, &me) || err.Error() != `apps/web/kustomization.yaml:4: marker names no policy "typo" (policies: app, web)` {
		t.Fatalf("CheckMarkers = %v", err)
	}
	if err := CheckMarkers(s, markers[:2]); err != nil {
		t.Fatalf("known policies refused: %v", err)
	}
}
