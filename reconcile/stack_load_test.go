package reconcile_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

// aliasBomb is a 20 KB stack file: a mapping of 2000 unknown keys, used as
// each of 1000 units — 2 million fields and as many errors.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("apiVersion: steward.dev/v1\nkind: Stack\nx: &m {")
	for i := range 2000 {
		fmt.Fprintf(&b, "k%d: 1, ", i)
	}
	b.WriteString("}\nunits: [")
	b.WriteString(strings.Repeat("*m, ", 1000))
	b.WriteString("]\n")
	return b.String()
}

func loadErrors(t *testing.T, dir string, lim reconcile.StackLimits) (reconcile.Errors, error) {
	t.Helper()
	_, err := reconcile.LoadStackWith(os.DirFS(dir), lim)
	if err == nil {
		t.Fatal("stack accepted")
	}
	var es reconcile.Errors
	errors.As(err, &es)
	return es, err
}

func TestStackAliasBombStopsWithinBudget(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"steward.yaml": aliasBomb()})
	es, err := loadErrors(t, dir, reconcile.StackLimits{})
	if !strings.Contains(err.Error(), "expands to too many nodes") {
		t.Fatalf("alias bomb: %s", err)
	}
	if max := reconcile.DefaultStackLimits().MaxErrors; len(es) > max+2 {
		t.Fatalf("%d errors reported, want at most %d and a count", len(es), max)
	}
	if last := es[len(es)-1].Error(); !strings.HasPrefix(last, "steward.yaml: and ") || !strings.HasSuffix(last, " more") {
		t.Errorf("last error = %q, want \"and K more\"", last)
	}
}

func TestStackErrorsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: steward.dev/v1\nkind: Stack\n")
	for i := range 250 {
		fmt.Fprintf(&b, "unknown%d: 1\n", i)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"steward.yaml": b.String()})
	es, _ := loadErrors(t, dir, reconcile.StackLimits{MaxErrors: 20})
	if len(es) != 21 || es[20].Error() != "steward.yaml: and 230 more" {
		t.Fatalf("%d errors, last %q", len(es), es[len(es)-1])
	}
	if !strings.HasPrefix(es[0].Error(), "steward.yaml:3:1: unknown0: unknown field") {
		t.Errorf("first error = %q", es[0])
	}
}

func TestStackFileSizeAndKind(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"steward.yaml": generateStack})
	if _, err := loadErrors(t, dir, reconcile.StackLimits{MaxBytes: 100}); !strings.Contains(err.Error(), "more than the limit of 100 (--stack-max-bytes)") {
		t.Fatalf("oversized: %v", err)
	}
	fifo := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(fifo, "steward.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Opening the FIFO would block for ever: it must be refused unopened.
	if _, err := loadErrors(t, fifo, reconcile.StackLimits{}); !strings.Contains(err.Error(), "steward.yaml: not a regular file") {
		t.Fatalf("fifo: %v", err)
	}
}
