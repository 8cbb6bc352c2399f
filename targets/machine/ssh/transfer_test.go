package ssh

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stewardhq/steward/targets/machine"
)

// killingReader kills the host's sshd (and its session processes) once
// after n bytes were read: the connection drops mid-transfer.
type killingReader struct {
	r    io.Reader
	n    int
	read int
	once sync.Once
	kill func()
}

func (k *killingReader) Read(p []byte) (int, error) {
	if k.read >= k.n {
		k.once.Do(k.kill)
	}
	n, err := k.r.Read(p)
	k.read += n
	return n, err
}

func TestWriteFileConnectionKilledMidTransfer(t *testing.T) {
	h := startHosts(t, 1)[0]
	tr := dialHost(t, h, nil)
	ctx := context.Background()
	p := filepath.Join(h.Root, "big.bin")
	old := bytes.Repeat([]byte("old "), 1<<20) // 4 MiB
	if err := tr.WriteFile(ctx, p, bytes.NewReader(old), machine.FileAttrs{Mode: 0o640, UID: -1, GID: -1}); err != nil {
		t.Fatal(err)
	}
	next := bytes.Repeat([]byte("new!"), 8<<20) // 32 MiB
	killed := false
	err := tr.WriteFile(ctx, p, &killingReader{r: bytes.NewReader(next), n: 8 << 20, kill: func() {
		killed = true
		if err := h.Kill(); err != nil {
			t.Errorf("kill sshd: %v", err)
		}
	}}, machine.FileAttrs{Mode: 0o640, UID: -1, GID: -1})
	if !killed {
		t.Fatal("the transfer ended before sshd was killed")
	}
	if err == nil {
		t.Fatal("WriteFile succeeded though sshd was killed mid-transfer")
	}
	t.Logf("interrupted write: %v", err)
	if got, _ := os.ReadFile(p); !bytes.Equal(got, old) {
		t.Fatalf("after the interrupted write the file has %d bytes, neither wholly old (%d) nor new", len(got), len(old))
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode changed to %v", fi.Mode())
	}

	// While sshd is down the transport reports the failure.
	if _, err := tr.Stat(ctx, p); err == nil {
		t.Fatal("Stat succeeded with sshd down")
	}
	if err := h.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	// The same transport dials again and the retry converges.
	if err := tr.WriteFile(ctx, p, bytes.NewReader(next), machine.FileAttrs{Mode: 0o640, UID: -1, GID: -1}); err != nil {
		t.Fatalf("retry after restart: %v", err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, next) {
		t.Fatalf("after the retry the file has %d bytes, want the new %d", len(got), len(next))
	}
	entries, _ := os.ReadDir(h.Root)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("root holds %v, want only big.bin (temporary file left behind)", names)
	}
	if got := h.Accepted(); got != 2 {
		t.Errorf("sshd accepted %d connections, want 2 (the first and one redial)", got)
	}
}
