package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/cli.md")

// cliReference renders every command's help, as `steward CMD --help` prints
// it, into one Markdown page.
func cliReference() []byte {
	var b bytes.Buffer
	b.WriteString("# steward CLI reference\n\n")
	b.WriteString("Every command's `--help`, generated from the commands themselves;\n")
	b.WriteString("`go test ./cmd/steward -run TestCLIReferenceInSync -update` rewrites it.\n")
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		fmt.Fprintf(&b, "\n## %s\n\n", c.CommandPath())
		if c.Long != "" {
			b.WriteString(strings.TrimSpace(c.Long) + "\n\n")
		} else if c.Short != "" {
			b.WriteString(c.Short + ".\n\n")
		}
		b.WriteString("```\n" + strings.TrimSpace(c.UsageString()) + "\n```\n")
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	root := newRootCommand()
	root.InitDefaultHelpCmd()
	walk(root)
	return b.Bytes()
}

// TestCLIReferenceInSync keeps docs/cli.md equal to the commands' own help.
func TestCLIReferenceInSync(t *testing.T) {
	// Defaults that depend on the machine (home, cache and config
	// directories) are written as under $HOME so the page is the same
	// everywhere.
	got := cliReference()
	for _, d := range []struct {
		dir func() (string, error)
		as  string
	}{{os.UserCacheDir, "$HOME/.cache"}, {os.UserConfigDir, "$HOME/.config"}, {os.UserHomeDir, "$HOME"}} {
		if p, err := d.dir(); err == nil {
			got = bytes.ReplaceAll(got, []byte(p), []byte(d.as))
		}
	}
	file := filepath.Join("..", "..", "docs", "cli.md")
	if *updateDocs {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date: run go test ./cmd/steward -run TestCLIReferenceInSync -update", file)
	}
	for _, verb := range []string{"## steward build", "## steward verify", "## steward diff", "## steward sync", "## steward run", "## steward images"} {
		if !bytes.Contains(got, []byte(verb)) {
			t.Errorf("reference lacks %q", verb)
		}
	}
}
