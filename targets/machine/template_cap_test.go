package machine_test

import (
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

// templateBomb doubles a string forty times (a terabyte) in under 3 KB.
func templateBomb() string {
	var b strings.Builder
	b.WriteString(`{{$s := "` + strings.Repeat("steward ", 8) + `"}}`)
	for range 40 {
		b.WriteString(`{{$s = printf "%s%s" $s $s}}` + "\n")
	}
	b.WriteString("{{$s}}\n")
	return b.String()
}

// A File template that would render past MaxTemplateOutput — by doubling a
// string with printf, or by looping over output — fails its object with the
// limit named, and the host's plan fails as a whole: its other objects are
// skipped and nothing is written.
func TestFileTemplateBombs(t *testing.T) {
	for name, content := range map[string]string{
		"printf doubling": templateBomb(),
		"print doubling":  strings.ReplaceAll(templateBomb(), `printf "%s%s" $s $s`, `print $s $s`),
		"range output":    `{{range 300000000}}0123456789abcdef{{end}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if len(content) > 3000 {
				t.Fatalf("bomb of %d bytes", len(content))
			}
			r := newRig(t, "web1:22")
			objs := []*reconcile.Object{
				obj(t, hdr+"kind: File\nmetadata: {name: bomb}\nspec: {path: /etc/bomb, template: true, content: "+quote(content)+"}"),
				fileObj(t, "ok", "/etc/ok", "fine\n", ""),
			}
			cs := r.sync(request("u", "r1", false, objs...))
			var failed, skipped int
			for _, c := range cs.Changes {
				switch {
				case c.Action == reconcile.Failed && strings.Contains(c.Message, "File/bomb: spec.content: template") && strings.Contains(c.Message, "renders more than 16777216 bytes"):
					failed++
				case c.Action == reconcile.Skipped && c.Object.Name == "ok":
					skipped++
				default:
					t.Errorf("unexpected change %+v", c)
				}
			}
			if failed != 1 || skipped != 1 {
				t.Fatalf("changes %+v: want the bomb failed on the limit and ok skipped", cs.Changes)
			}
			if r.exists("web1:22", "etc/ok") || r.exists("web1:22", "etc/bomb") {
				t.Error("a file was written")
			}
		})
	}
	// A template within the limit renders as before.
	r := newRig(t, "web1:22")
	ok := obj(t, hdr+"kind: File\nmetadata: {name: t}\nspec: {path: /etc/t, template: true, content: "+quote(`{{printf "%s-%d" .Host 7}} {{print "a" "b"}} {{html "<"}}`)+"}")
	r.sync(request("u", "r1", false, ok))
	if got := r.file("web1:22", "etc/t"); got != "web1-7 ab &lt;" {
		t.Errorf("etc/t = %q", got)
	}
}
