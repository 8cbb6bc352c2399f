package reconcile

import "testing"

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://git.example.com/r.git", "https://git.example.com/r.git"},
		{"clone https://x-access-token:ghp_abc@github.com/o/r: 403", "clone https://github.com/o/r: 403"},
		{"ssh://git@host:22/r.git and http://tok@h/x", "ssh://host:22/r.git and http://h/x"},
		{"git@github.com:o/r.git", "git@github.com:o/r.git"}, // scp form holds no secret
		{"no url here: a@b", "no url here: a@b"},
		{"https://u:p@h/x?ref=main", "https://h/x?ref=main"},
		{"https://h/x?token=hunter2", "https://h/x?token=***"},
		{"GET https://h/x?ref=main&access_token=hunter2&b=1: 500", "GET https://h/x?ref=main&access_token=***&b=1: 500"},
		{"https://h/hook?KEY=hunter2#frag", "https://h/hook?KEY=***#frag"},
		{`post "https://h/?api_key=hunter2": refused`, `post "https://h/?api_key=***": refused`},
		{"https://s3/b/o?X-Amz-Signature=hunter2&X-Amz-Date=1", "https://s3/b/o?X-Amz-Signature=***&X-Amz-Date=1"},
		{"a=b and key=value without a query", "a=b and key=value without a query"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestShortRevision(t *testing.T) {
	const sha = "3f9a1c2b7e6d5f4a3b2c1d0e9f8a7b6c5d4e3f2a"
	tests := []struct {
		in    string
		width int
		want  string
	}{
		{"", RevisionWidth, ""},
		{sha, RevisionWidth, "3f9a1c2b7e6d"},
		{sha, CompactRevisionWidth, "3f9a1c2"},
		{"v1.2.0@sha1:" + sha, CompactRevisionWidth, "v1.2.0@sha1:3f9a1c2"},
		{"main@" + sha, RevisionWidth, "main@3f9a1c2b7e6d"},
		{"v1.2.0", RevisionWidth, "v1.2.0"},
		{"abc", CompactRevisionWidth, "abc"},
		{"3f9a1c2b7e6d", RevisionWidth, "3f9a1c2b7e6d"},
		{"ZZZZZZZZZZZZZZZZ", CompactRevisionWidth, "ZZZZZZZZZZZZZZZZ"},
	}
	for _, tt := range tests {
		if got := ShortRevision(tt.in, tt.width); got != tt.want {
			t.Errorf("ShortRevision(%q, %d) = %q, want %q", tt.in, tt.width, got, tt.want)
		}
	}
}
