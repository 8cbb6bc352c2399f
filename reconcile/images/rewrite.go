package images

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Warning is a marker left alone, and why, named by file and line.
type Warning struct {
	File string
	Line int
	Msg  string
}

func (w Warning) String() string { return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Msg) }

// Change is one rewritten scalar.
type Change struct {
	File     string
	Line     int
	Policy   string
	Field    Field
	Old, New string
}

// site is a marker with the byte range [start, end) of its scalar's text
// (inside the quotes of a quoted scalar).
type site struct {
	Marker
	start, end int
	style      yaml.Style
}

// Find lists the markers of a YAML file. Comments that mention
// $imagepolicy but cannot be used — malformed JSON, an unknown suffix, a
// marker on a key, a block or multi-line scalar, a file that is not YAML —
// come back as warnings.
func Find(file string, data []byte) ([]Marker, []Warning) {
	sites, warns := scan(file, data)
	out := make([]Marker, len(sites))
	for i, s := range sites {
		out[i] = s.Marker
	}
	return out, warns
}

// Rewrite sets every marked scalar for which set returns a value, and keeps
// every other byte of data: comments, order, quoting, indentation, line
// endings. It re-reads its result and returns data unchanged, with a
// warning, if the result would not hold exactly the values it wrote.
func Rewrite(file string, data []byte, set func(Marker) (string, bool)) ([]byte, []Change, []Warning) {
	sites, warns := scan(file, data)
	var changes []Change
	type edit struct {
		site
		value string
	}
	var edits []edit
	for _, s := range sites {
		v, ok := set(s.Marker)
		if !ok || v == s.Value {
			continue
		}
		if why := unsafeFor(s.style, v); why != "" {
			warns = append(warns, Warning{file, s.Line, fmt.Sprintf("cannot write %q into this scalar (%s): left alone", v, why)})
			continue
		}
		edits = append(edits, edit{s, v})
		changes = append(changes, Change{File: file, Line: s.Line, Policy: s.Policy, Field: s.Field, Old: s.Value, New: v})
	}
	if len(edits) == 0 {
		return data, nil, warns
	}
	out := slices.Clone(data)
	for i := len(edits) - 1; i >= 0; i-- { // sites are in file order
		e := edits[i]
		out = slices.Concat(out[:e.start], []byte(e.value), out[e.end:])
	}
	if err := verifyRewrite(file, data, out, edits2lines(changes)); err != nil {
		for _, c := range changes {
			warns = append(warns, Warning{file, c.Line, fmt.Sprintf("rewrite left alone: %v", err)})
		}
		return data, nil, warns
	}
	return out, changes, warns
}

func edits2lines(changes []Change) map[int]string {
	m := make(map[int]string, len(changes))
	for _, c := range changes {
		m[c.Line] = c.New
	}
	return m
}

// verifyRewrite re-reads out: the same markers on the same lines, the new
// values where they were written, the old ones elsewhere, and every line
// without a change byte-identical.
func verifyRewrite(file string, before, after []byte, changed map[int]string) error {
	old, _ := scan(file, before)
	now, _ := scan(file, after)
	if len(old) != len(now) {
		return errors.New("the result reads differently")
	}
	for i := range old {
		want := old[i].Value
		if v, ok := changed[old[i].Line]; ok {
			want = v
		}
		if now[i].Line != old[i].Line || now[i].Policy != old[i].Policy || now[i].Value != want {
			return errors.New("the result reads differently")
		}
	}
	bl, al := bytes.SplitAfter(before, []byte("\n")), bytes.SplitAfter(after, []byte("\n"))
	if len(bl) != len(al) {
		return errors.New("the line count changed")
	}
	for i := range bl {
		if _, ok := changed[i+1]; !ok && !bytes.Equal(bl[i], al[i]) {
			return fmt.Errorf("line %d would change", i+1)
		}
	}
	return nil
}

// unsafeFor says why v cannot be written into a scalar of style s as it
// is, or "".
func unsafeFor(s yaml.Style, v string) string {
	switch {
	case v == "":
		return "empty value"
	case strings.ContainsAny(v, "\r\n\t") || !utf8.ValidString(v):
		return "control characters"
	case s == yaml.DoubleQuotedStyle && strings.ContainsAny(v, `"\`):
		return "needs escaping"
	case s == yaml.SingleQuotedStyle && strings.Contains(v, "'"):
		return "needs escaping"
	case s == 0 && (strings.Contains(v, " #") || strings.Contains(v, ": ") || strings.HasSuffix(v, ":") || strings.HasSuffix(v, " ") ||
		strings.ContainsAny(v[:1], "-?:,[]{}#&*!|>'\"%@` ")):
		return "not a plain scalar"
	}
	return ""
}

func scan(file string, data []byte) (sites []site, warns []Warning) {
	if !bytes.Contains(data, []byte("$imagepolicy")) {
		return nil, nil
	}
	defer func() {
		// The YAML parser must not take the scan down with it: a file it
		// cannot read is left alone like any other non-YAML file.
		if r := recover(); r != nil {
			sites, warns = nil, []Warning{{file, 1, fmt.Sprintf("file could not be parsed (%v): markers left alone", r)}}
		}
	}()
	lines := bytes.SplitAfter(data, []byte("\n"))
	starts := make([]int, len(lines))
	for i, off := 1, 0; i < len(lines); i++ {
		off += len(lines[i-1])
		starts[i] = off
	}
	sc := &scanner{file: file, lines: lines, starts: starts, seen: map[int]bool{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			sc.sites = nil
			sc.warns = nil
			sc.seen = map[int]bool{}
			sc.sweep(fmt.Sprintf("file is not YAML (%v): marker left alone", err))
			return nil, sc.warns
		}
		sc.walk(&doc, false)
	}
	sc.sweep("marker is not a line comment on a scalar value: left alone")
	slices.SortFunc(sc.sites, func(a, b site) int { return a.start - b.start })
	return sc.sites, sc.warns
}

type scanner struct {
	file   string
	lines  [][]byte
	starts []int
	sites  []site
	warns  []Warning
	seen   map[int]bool // lines whose marker was used or warned about
}

func (sc *scanner) warn(line int, format string, args ...any) {
	sc.seen[line] = true
	sc.warns = append(sc.warns, Warning{sc.file, line, fmt.Sprintf(format, args...)})
}

// sweep warns about every line that mentions $imagepolicy and was not
// dealt with.
func (sc *scanner) sweep(msg string) {
	for i, l := range sc.lines {
		if !sc.seen[i+1] && bytes.Contains(l, []byte("$imagepolicy")) {
			sc.warn(i+1, "%s", msg)
		}
	}
	slices.SortStableFunc(sc.warns, func(a, b Warning) int { return a.Line - b.Line })
}

func (sc *scanner) walk(n *yaml.Node, isKey bool) {
	if n.Kind == yaml.AliasNode {
		return // the anchor's node is walked where it stands
	}
	if n.LineComment != "" {
		sc.comment(n, isKey)
	}
	for i, c := range n.Content {
		sc.walk(c, n.Kind == yaml.MappingNode && i%2 == 0)
	}
}

func (sc *scanner) comment(n *yaml.Node, isKey bool) {
	m, ok, err := parseMarker(n.LineComment)
	if !ok {
		return
	}
	line := n.Line
	if n.Kind == yaml.ScalarNode && n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		sc.warn(line, "marker on a block scalar: left alone")
		return
	}
	if idx := sc.commentLine(n); idx > 0 {
		line = idx
	}
	if err != nil {
		sc.warn(line, "%v: left alone", err)
		return
	}
	if isKey || n.Kind != yaml.ScalarNode {
		sc.warn(line, "marker is not on a scalar value: left alone")
		return
	}
	m.File, m.Line = sc.file, n.Line
	start, end, why := sc.extent(n)
	if why != "" {
		sc.warn(n.Line, "%s: left alone", why)
		return
	}
	m.Value = n.Value
	sc.seen[n.Line] = true
	sc.sites = append(sc.sites, site{Marker: m, start: start, end: end, style: n.Style})
}

// commentLine finds the line holding n's line comment, from n's line on.
func (sc *scanner) commentLine(n *yaml.Node) int {
	text := []byte(strings.TrimSpace(n.LineComment))
	for i := n.Line - 1; i >= 0 && i < len(sc.lines); i++ {
		if bytes.Contains(sc.lines[i], text) {
			return i + 1
		}
	}
	return 0
}

// extent finds the bytes of scalar n on its line and checks that they read
// as n's value, so that writing there changes exactly that value.
func (sc *scanner) extent(n *yaml.Node) (start, end int, why string) {
	if n.Line < 1 || n.Line > len(sc.lines) {
		return 0, 0, "marker outside the file"
	}
	line := sc.lines[n.Line-1]
	off := 0
	for col := 1; col < n.Column; col++ {
		if off >= len(line) {
			return 0, 0, "scalar not where the parser says"
		}
		_, size := utf8.DecodeRune(line[off:])
		off += size
	}
	rest := line[off:]
	base := sc.starts[n.Line-1] + off
	switch n.Style {
	case 0:
		end := len(rest)
		for i := 1; i < len(rest); i++ {
			if rest[i] == '#' && (rest[i-1] == ' ' || rest[i-1] == '\t') {
				end = i
				break
			}
		}
		raw := bytes.TrimRight(rest[:end], " \t\r\n")
		if string(raw) != n.Value {
			return 0, 0, "marker on a multi-line or decorated scalar"
		}
		return base, base + len(raw), ""
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		q := byte('"')
		if n.Style == yaml.SingleQuotedStyle {
			q = '\''
		}
		if len(rest) == 0 || rest[0] != q {
			return 0, 0, "marker on a decorated scalar"
		}
		closing := bytes.IndexByte(rest[1:], q)
		if closing < 0 {
			return 0, 0, "marker on a multi-line scalar"
		}
		inner := rest[1 : 1+closing]
		if string(inner) != n.Value || bytes.IndexByte(inner, '\\') >= 0 || (len(rest) > closing+2 && rest[closing+2] == q) {
			return 0, 0, "marker on a scalar with escapes"
		}
		return base + 1, base + 1 + len(inner), ""
	}
	return 0, 0, "marker on an unsupported scalar style"
}
