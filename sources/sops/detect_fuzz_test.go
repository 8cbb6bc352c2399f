package sops

import "testing"

// FuzzDetectFilter checks the byte filter in front of the parsers: a file
// whose parser finds SOPS metadata always passes it, however the keys are
// spelled (escapes, tags, line joins).
func FuzzDetectFilter(f *testing.F) {
	for _, seed := range []string{
		"sops: {mac: x}\n",
		"\"\\x73ops\": {mac: x}\n",
		"\"s\\u006fps\": {\"\\x6dac\": x}\n",
		"\"so\\\n  ps\": {lastmodified: x}\n",
		"!!binary c29wcw==: {mac: x}\n",
		"a: \"line\\nbreak\"\nsops: {mac: x}\n",
		"{\"\\u0073ops\": {\"mac\": \"x\"}}",
		"{\"sops\": {\"lastmodified\": \"x\", \"note\": \"a\\nb\"}}",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		data := []byte(s)
		for _, format := range []Format{FormatYAML, FormatJSON} {
			if carries(format, data) && !mayCarry(format, data) {
				t.Fatalf("%v: the parser finds SOPS metadata the filter lets go by:\n%q", format, s)
			}
		}
	})
}

// Escapes that cannot spell a letter do not send a plain manifest to the
// parser; those that can do.
func TestSpellingEscape(t *testing.T) {
	for s, want := range map[string]bool{
		"a: \"x\\ny\\tz\\\"\"": false,
		"a: \"\\\\x73\"":       false,
		"a: \"\\\\\\x73\"":     true,
		"a: \"\\u0073\"":       true,
		"a: \"so\\\n ps\"":     true,
		"a: 1\\":               false,
	} {
		if got := spellingEscape([]byte(s), "xuU\n\r"); got != want {
			t.Errorf("spellingEscape(%q) = %v, want %v", s, got, want)
		}
	}
}
