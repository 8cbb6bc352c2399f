package writeback

import (
	"errors"
	"strings"
	"testing"
	"text/template"
)

// The default commit message names the units a kept proposal could not
// check for want of a SOPS key, and not those of a dropped one.
func TestDefaultMessageNamesUnitsNotChecked(t *testing.T) {
	tmpl := template.Must(template.New("m").Parse(DefaultMessage))
	kept := Outcome{Policy: "app", Detail: "1.1.0",
		Changes:    []Change{{Unit: "app", File: "app/cm.yaml", Line: 5, Old: "1.0.0", New: "1.1.0", Policy: "app"}},
		NotChecked: []string{"unit app: not checked: sops: app/secret.yaml: no key can decrypt it"}}
	dropped := Outcome{Policy: "web", Detail: "2.0.0", Err: errors.New("refused"),
		NotChecked: []string{"unit web: not checked: sops: web/secret.yaml: no key can decrypt it"}}
	var b strings.Builder
	data := MessageData{Subject: Subject([]Outcome{kept, dropped}), Changes: kept.Changes, Outcomes: []Outcome{kept, dropped}}
	if err := tmpl.Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	msg := b.String()
	if !strings.Contains(msg, "- app: app/cm.yaml:5: 1.0.0 → 1.1.0 (app)\n") ||
		!strings.Contains(msg, "\nNot checked, no SOPS key: unit app: not checked: sops: app/secret.yaml: no key can decrypt it") ||
		strings.Contains(msg, "web/secret.yaml") {
		t.Fatalf("message:\n%s", msg)
	}
	b.Reset()
	kept.NotChecked = nil
	if err := tmpl.Execute(&b, MessageData{Subject: "s", Changes: kept.Changes, Outcomes: []Outcome{kept}}); err != nil {
		t.Fatal(err)
	}
	if want := "s\n\n- app: app/cm.yaml:5: 1.0.0 → 1.1.0 (app)\n"; b.String() != want {
		t.Fatalf("message without units not checked:\n%q, want %q", b.String(), want)
	}
}
