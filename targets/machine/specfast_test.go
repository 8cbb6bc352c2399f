package machine

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

// specTypes are the spec structs, each with a fresh value to decode into.
var specTypes = []func() any{
	func() any { return new(FileSpec) },
	func() any { return new(DirectorySpec) },
	func() any { return new(UnitSpec) },
	func() any { return new(PackageSpec) },
	func() any { return new(CommandSpec) },
	func() any { return new(UserSpec) },
}

// checkSetSpecFields checks that wherever setSpecFields takes m, it gives
// what the round trip through encoding/json gives, for every spec type
// whose fields m's keys all are; it returns how many it took.
func checkSetSpecFields(t *testing.T, m map[string]any) int {
	t.Helper()
	took := 0
	for _, mk := range specTypes {
		fast, slow := mk(), mk()
		fields := specFieldsOf(reflect.TypeOf(fast).Elem()).index
		known := true
		for k := range m {
			if _, ok := fields[k]; !ok {
				known = false
			}
		}
		if !known {
			continue
		}
		if !setSpecFields(m, fast, fields) {
			if !reflect.ValueOf(fast).Elem().IsZero() {
				t.Fatalf("%T: refused %v but left fields set: %+v", fast, m, fast)
			}
			continue
		}
		took++
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("%T: took %v, which encoding/json cannot encode: %v", fast, m, err)
		}
		if err := json.Unmarshal(b, slow); err != nil {
			t.Fatalf("%T: took %v, which encoding/json refuses: %v", fast, m, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%T from %v:\n fast %#v\n json %#v", fast, m, fast, slow)
		}
	}
	return took
}

func TestSetSpecFieldsMatchesJSON(t *testing.T) {
	took := 0
	for _, m := range []map[string]any{
		{"path": "/etc/motd", "content": "hi\n", "mode": "0644", "owner": "root", "template": true, "sensitive": false},
		{"path": "/etc/empty", "content": ""},
		{"name": "web", "content": "[Unit]\n", "enabled": false, "state": "running", "watches": []any{"File/conf"}},
		{"name": "web", "watches": []any{}},
		{"run": []any{"/bin/init", "--once"}, "env": map[string]any{"A": "1", "B": ""}, "dir": "/srv"},
		{"run": []any{"true"}, "env": map[string]any{}},
		{"name": "deploy", "groups": []any{}, "shell": "/bin/sh"},
		{"name": "deploy", "groups": []any{"adm", "sudo"}},
		{"name": "nginx", "version": "1.2.3-1", "state": "absent"},
		{},
	} {
		took += checkSetSpecFields(t, m)
	}
	if took < 10 {
		t.Fatalf("the fast path took %d of the valid specs; want every one", took)
	}
	// What it must leave to encoding/json: nulls, numbers, wrong types,
	// strings that are not UTF-8 (encoding/json replaces their bytes).
	for _, m := range []map[string]any{
		{"path": nil},
		{"content": nil},
		{"enabled": "yes"},
		{"template": "true"},
		{"uid": int64(1500)},
		{"uid": 1500.0},
		{"groups": nil},
		{"groups": []any{"adm", 3}},
		{"groups": "adm"},
		{"env": map[string]any{"A": 1}},
		{"env": []any{"A=1"}},
		{"path": "/etc/\xff"},
		{"run": []any{"echo", "\xfe"}},
		{"env": map[string]any{"\xff": "x"}},
	} {
		if n := checkSetSpecFields(t, m); n != 0 {
			t.Errorf("the fast path took %v; it is encoding/json's to decode", m)
		}
	}
}

// FuzzSetSpecFields decodes JSON into a spec mapping and checks the fast
// path against encoding/json's.
func FuzzSetSpecFields(f *testing.F) {
	for _, s := range []string{
		`{"path":"/etc/motd","content":"hi","mode":"0644","template":true}`,
		`{"run":["a","b"],"env":{"K":"v"},"unless":[]}`,
		`{"name":"u","groups":["a"],"uid":7,"home":"/home/u"}`,
		`{"enabled":null,"watches":["File/x"],"content":"\ud800"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) != nil {
			return
		}
		checkSetSpecFields(t, m)
	})
}

// TestDecodeFileAllocations keeps a File's decode off encoding/json: every
// plan decodes every object, and the round trip through JSON allocated
// 26 times for this File, 3 without it.
func TestDecodeFileAllocations(t *testing.T) {
	objs, err := reconcile.DecodeObjects([]byte("apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: motd}\n"+
		"spec: {path: /etc/motd, content: \"hello\\n\", mode: \"0644\", owner: root, group: root}\n"), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(100, func() {
		if _, err := decode(objs[0]); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%.0f allocations per File", n)
	if n > 8 {
		t.Fatalf("decoding a File allocates %.0f times, want at most 8", n)
	}
}
