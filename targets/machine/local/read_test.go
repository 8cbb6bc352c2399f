package local

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestLocalReadsConfinedToRoot: reads through a directory opened once are
// confined as reads from the root were: a directory symlinked out of the
// root is refused, a final symlink is described, not followed, by Stat and
// MatchFile, and ReadFile follows one that stays under the root, even up
// and out of the file's directory (/etc/os-release is ../usr/lib/os-release
// on most distributions).
func TestLocalReadsConfinedToRoot(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("outside\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"etc", "usr/lib"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "usr/lib/os-release"), []byte("ID=debian\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"etc/os-release": "../usr/lib/os-release",
		"etc/secret":     filepath.Join(outside, "secret"),
		"etc/up":         "../../../../../../" + outside + "/secret",
		"out":            outside,
	}
	for name, to := range links {
		if err := os.Symlink(to, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := NewTransport("h", root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ctx := t.Context()
	if got, err := tr.ReadFile(ctx, "/etc/os-release"); err != nil || string(got) != "ID=debian\n" {
		t.Fatalf("read through a symlink under the root: %q %v", got, err)
	}
	for _, p := range []string{"/etc/secret", "/etc/up", "/out/secret"} {
		if got, err := tr.ReadFile(ctx, p); err == nil {
			t.Errorf("read %s led out of the root: %q", p, got)
		}
		if m, err := tr.MatchFile(ctx, p, []byte("outside\n")); err == nil && (m.Same || m.Content != nil) {
			t.Errorf("match %s read out of the root: %+v", p, m)
		}
	}
	if _, err := tr.Stat(ctx, "/out/secret"); err == nil {
		t.Error("stat through a directory symlinked out of the root succeeded")
	}
	m, err := tr.MatchFile(ctx, "/etc/os-release", []byte("ID=debian\n"))
	if err != nil || m.Same || m.Content != nil || m.Info.Mode.Type() != fs.ModeSymlink {
		t.Fatalf("match of a final symlink: %+v %v, want it described as a symlink", m, err)
	}
	if _, err := tr.MatchFile(ctx, "/etc/none", nil); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("match of a missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := tr.Stat(ctx, "/nodir/none"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat in a missing directory: %v, want fs.ErrNotExist", err)
	}
}

// TestLocalMatchReadsOnlyWhatItNeeds: a file of the wanted size is compared
// as it is read; one that differs comes back whole, for the diff.
func TestLocalMatchReadsOnlyWhatItNeeds(t *testing.T) {
	root := t.TempDir()
	tr, err := NewTransport("h", root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	big := make([]byte, 100<<10)
	for i := range big {
		big[i] = byte('a' + i%26)
	}
	changed := append([]byte(nil), big...)
	changed[70<<10] = '!'
	for i, c := range []struct {
		name     string
		on, want []byte
		same     bool
	}{
		{"equal", big, big, true},
		{"differs past the first buffer", changed, big, false},
		{"shorter", big[:10], big, false},
		{"longer", big, big[:10], false},
		{"empty", nil, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := fmt.Sprintf("/%d.bin", i)
			if err := os.WriteFile(filepath.Join(root, p), c.on, 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := tr.MatchFile(t.Context(), p, c.want)
			if err != nil {
				t.Fatal(err)
			}
			if m.Same != c.same {
				t.Fatalf("same %v, want %v", m.Same, c.same)
			}
			if !c.same && string(m.Content) != string(c.on) {
				t.Fatalf("content of %d bytes, want the file's %d", len(m.Content), len(c.on))
			}
		})
	}
}
