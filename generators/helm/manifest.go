package helm

import "strings"

// section is the rendered output of one template (or one CRD file).
type section struct {
	Source  string // as helm names it: chartname/templates/x.yaml
	Content string
}

const sourcePrefix = "# Source: "

// splitManifest splits a release manifest at the "---" + "# Source: NAME"
// headers helm writes before each rendered template. Content before the
// first header has an empty Source.
func splitManifest(m string) []section {
	var out []section
	var cur *section
	var b strings.Builder
	flush := func() {
		if cur != nil || strings.TrimSpace(b.String()) != "" {
			s := section{Content: b.String()}
			if cur != nil {
				s.Source = cur.Source
			}
			out = append(out, s)
		}
		b.Reset()
	}
	lines := strings.SplitAfter(m, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.TrimRight(line, "\r\n") == "---" && i+1 < len(lines) {
			if src, ok := strings.CutPrefix(strings.TrimRight(lines[i+1], "\r\n"), sourcePrefix); ok {
				flush()
				cur = &section{Source: strings.TrimSpace(src)}
				i++
				continue
			}
		}
		b.WriteString(line)
	}
	flush()
	return out
}
