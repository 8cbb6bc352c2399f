package reconcile

import (
	"errors"
	"strings"
	"testing"
)

// TestStackFieldsForTargetKind: fields that mean nothing for a unit's target
// kind are errors with file:line, not silently ignored (issue 14 item 12).
func TestStackFieldsForTargetKind(t *testing.T) {
	header := "apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n" +
		"  k: {kubernetes: {}}\n  m: {machines: {hosts: [a:22]}}\n  l: {local: {root: out}}\n" +
		"units:\n  - name: a\n    path: a\n    generator: {yaml: {}}\n"
	tests := []stackCase{
		{"health on kubernetes", header + "    target: k\n    health: {http: {url: http://x}}\n",
			[]string{`steward.yaml:12:13: units[0].health: health applies to machine and local targets only; target "k" is kubernetes`}},
		{"wait on machines", header + "    target: m\n    wait: {timeout: 1m}\n",
			[]string{`steward.yaml:12:11: units[0].wait: wait applies to kubernetes targets only; target "m" is machines`}},
		{"serviceAccount on local", header + "    target: l\n    serviceAccount: apps/deployer\n",
			[]string{`steward.yaml:12:21: units[0].serviceAccount: serviceAccount applies to kubernetes targets only; target "l" is local`}},
		{"force on machines", header + "    target: m\n    force: true\n",
			[]string{`steward.yaml:12:12: units[0].force: force applies to kubernetes targets only`}},
		{"all three on local", header + "    target: l\n    wait: {}\n    force: true\n    serviceAccount: a/b\n",
			[]string{"units[0].wait:", "units[0].serviceAccount:", "units[0].force:"}},
		{"pruneLimit without percent", header + "    target: k\n    pruneLimit: 30\n",
			[]string{"steward.yaml:12:17: units[0].pruneLimit: want a percentage such as 50%, found 30"}},
		{"pruneLimit over 100%", header + "    target: k\n    pruneLimit: 130%\n",
			[]string{"units[0].pruneLimit: invalid count"}},
		{"kubernetes fields on kubernetes", header + "    target: k\n    wait: {timeout: 1m}\n    force: true\n    serviceAccount: a/b\n", nil},
		{"health on machines", header + "    target: m\n    health: {command: {run: [true]}}\n", nil},
		{"health on local", header + "    target: l\n    health: {command: {run: [true]}}\n", nil},
	}
	checkStackCases(t, tests)
}

// stackCase is a stack file and the errors parsing it must report, each a
// part of the message; nil want means the stack is valid.
type stackCase struct {
	name, yaml string
	want       []string
}

// checkStackCases parses each case's stack and checks that a valid one is
// accepted and a bad one refused with a *FieldError saying every want.
func checkStackCases(t *testing.T, tests []stackCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseStack([]byte(tt.yaml), "steward.yaml")
			if tt.want == nil {
				if err != nil {
					t.Fatalf("valid stack refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *FieldError", err)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error\n%s\nlacks\n%s", msg, w)
				}
			}
		})
	}
}
