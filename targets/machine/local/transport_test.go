package local

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stewardhq/steward/targets/machine"
)

// stallReader yields one chunk, then calls onStall and blocks until ctx is
// done: a transfer interrupted half-way.
type stallReader struct {
	ctx     context.Context
	sent    bool
	onStall func()
}

func (s *stallReader) Read(p []byte) (int, error) {
	if !s.sent {
		s.sent = true
		return copy(p, bytes.Repeat([]byte("N"), len(p))), nil
	}
	if s.onStall != nil {
		s.onStall()
	}
	<-s.ctx.Done()
	return 0, s.ctx.Err()
}

func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.Contains(e.Name(), ".steward-") {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestLocalWriteCancelledMidway(t *testing.T) {
	root := t.TempDir()
	tr, err := NewTransport("h", root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ctx := t.Context()
	if err := tr.Mkdir(ctx, "/etc", machine.FileAttrs{UID: -1, GID: -1}); err != nil {
		t.Fatal(err)
	}
	if err := tr.WriteFile(ctx, "/etc/app.conf", strings.NewReader("old\n"), machine.FileAttrs{Mode: 0o640, UID: -1, GID: -1}); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	err = tr.WriteFile(cctx, "/etc/app.conf", &stallReader{ctx: cctx, onStall: cancel}, machine.FileAttrs{UID: -1, GID: -1})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "etc/app.conf")); string(got) != "old\n" {
		t.Fatalf("content %q after a cancelled write, want the old content", got)
	}
	if l := leftovers(t, filepath.Join(root, "etc")); len(l) > 0 {
		t.Fatalf("temporary files left: %v", l)
	}
}

// TestLocalWriteKilledMidway kills a process (this test binary, re-run as
// a writer) in the middle of a WriteFile: the file is wholly old, and the
// next write replaces it and clears the abandoned temporary file.
func TestLocalWriteKilledMidway(t *testing.T) {
	if os.Getenv("MACHINE_TEST_WRITER") != "" {
		writerProcess()
		return
	}
	root := t.TempDir()
	target := filepath.Join(root, "etc/app.conf")
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestLocalWriteKilledMidway$")
	cmd.Env = append(os.Environ(), "MACHINE_TEST_WRITER="+root)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "writing" {
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if got, _ := os.ReadFile(target); string(got) != "old\n" {
		t.Fatalf("content %q after the writer was killed, want the old content", got)
	}
	if l := leftovers(t, filepath.Dir(target)); len(l) != 1 {
		t.Fatalf("want the killed writer's temporary file, found %v", l)
	}
	tr, err := NewTransport("h", root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.WriteFile(t.Context(), "/etc/app.conf", strings.NewReader("new\n"), machine.FileAttrs{UID: -1, GID: -1}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(target); string(got) != "new\n" {
		t.Fatalf("content %q, want new", got)
	}
	if l := leftovers(t, filepath.Dir(target)); len(l) > 0 {
		t.Fatalf("abandoned temporary files not cleared: %v", l)
	}
}

func writerProcess() {
	tr, err := NewTransport("h", os.Getenv("MACHINE_TEST_WRITER"), nil)
	if err != nil {
		panic(err)
	}
	r := &stallReader{ctx: context.Background(), onStall: func() { fmt.Println("writing") }}
	_ = tr.WriteFile(context.Background(), "/etc/app.conf", r, machine.FileAttrs{UID: -1, GID: -1})
	os.Exit(0)
}

func TestLocalConfinedToRoot(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	if err := os.Symlink(outside, filepath.Join(root, "etc")); err != nil {
		t.Fatal(err)
	}
	tr, err := NewTransport("h", root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ctx := t.Context()
	if err := tr.WriteFile(ctx, "/etc/passwd", strings.NewReader("x"), machine.FileAttrs{UID: -1, GID: -1}); err == nil {
		t.Fatal("write through a symlink out of the root succeeded")
	}
	if err := tr.WriteFile(ctx, "/../../x", strings.NewReader("x"), machine.FileAttrs{UID: -1, GID: -1}); err != nil {
		t.Fatalf("/../../x is /x under the root: %v", err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) > 0 {
		t.Fatalf("wrote outside the root: %v", ents)
	}
	if _, err := tr.Stat(ctx, "/nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat of a missing path: %v, want fs.ErrNotExist", err)
	}
	res, err := tr.Run(ctx, machine.Cmd{Argv: []string{"sh", "-c", "echo $X; exit 4"}, Env: map[string]string{"X": "y"}})
	if err != nil || res.ExitCode != 4 || string(res.Stdout) != "y\n" {
		t.Fatalf("run: %v %+v", err, res)
	}
	if _, err := tr.Run(ctx, machine.Cmd{Argv: []string{"no-such-program-here"}}); err == nil {
		t.Fatal("running a missing program is not an error")
	}
}

// TestLocalCommandEnvironment: commands on a local target get the clean
// environment generators get (PATH, HOME and what the target or command
// sets), never steward's own, which may hold its tokens.
func TestLocalCommandEnvironment(t *testing.T) {
	t.Setenv("STEWARD_API_TOKEN", "secret-token-value")
	tr, err := NewTransport("local", t.TempDir(), map[string]string{"FROM_TARGET": "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	res, err := tr.Run(t.Context(), machine.Cmd{Argv: []string{"env"}, Env: map[string]string{"FROM_CMD": "c"}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("env: %v %+v", err, res)
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(string(res.Stdout)), "\n") {
		k, _, _ := strings.Cut(l, "=")
		names = append(names, k)
	}
	slices.Sort(names)
	if want := []string{"FROM_CMD", "FROM_TARGET", "HOME", "PATH"}; !slices.Equal(names, want) {
		t.Fatalf("environment %q, want %q", names, want)
	}
}

// Writing a short file allocates a few hundred bytes, not a 32 KiB copy
// buffer each time (40 000 Files in a first pass churned 1.3 GB through
// the garbage collector, and peak memory with it).
func TestLocalWriteAllocatesLittle(t *testing.T) {
	tr, err := NewTransport("local", t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ctx := context.Background()
	write := func(i int) {
		if err := tr.WriteFile(ctx, fmt.Sprintf("/f%d.conf", i%10), strings.NewReader("a line of config\n"), machine.FileAttrs{UID: -1, GID: -1}); err != nil {
			t.Fatal(err)
		}
	}
	write(0) // warm the pool and the root
	const n = 200
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		write(i)
	}
	runtime.ReadMemStats(&after)
	// Under 16 KiB: the race detector makes sync.Pool drop a quarter of
	// what is put back, so some writes take a new buffer there.
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 16<<10 {
		t.Fatalf("%d bytes allocated per short write, want under 16 KiB", per)
	}
}
