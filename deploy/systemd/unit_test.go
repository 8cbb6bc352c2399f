package systemd

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stewardhq/steward/deploy/testenv"
)

// maxExposure is the highest `systemd-analyze security` exposure level
// (0 safest, 10 most exposed) the unit may reach. steward needs the network
// and runs command generators, so a little exposure is left.
const maxExposure = 1.5

// analyze returns the path of systemd-analyze, or ends the test:
// testenv.Missing (a failure under CI) when it is not installed.
func analyze(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		testenv.Missing(t, "systemd-analyze not found (Debian package systemd; `make deps`)")
	}
	return p
}

// stewardBin is this checkout's steward, built once into a directory
// TestMain removes.
var stewardDir string

var stewardBin = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(stewardDir, "steward")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/steward").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build steward: %v\n%s", err, out)
	}
	return bin, nil
})

func TestMain(m *testing.M) {
	var err error
	if stewardDir, err = os.MkdirTemp("", "steward-systemd-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(stewardDir)
	os.Exit(code)
}

func buildSteward(t *testing.T) string {
	t.Helper()
	bin, err := stewardBin()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// unitWith writes steward.service with ExecStart's binary replaced by bin
// (verify insists that it exists and is executable) and edit applied.
func unitWith(t *testing.T, bin string, edit func(string) string) string {
	t.Helper()
	b, err := os.ReadFile("steward.service")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "ExecStart=/usr/local/bin/steward ", "ExecStart="+bin+" ", 1)
	if s == string(b) {
		t.Fatal("steward.service: ExecStart does not run /usr/local/bin/steward")
	}
	if edit != nil {
		s = edit(s)
	}
	path := filepath.Join(t.TempDir(), "steward.service")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// verify runs systemd-analyze verify; a clean unit prints nothing (verify
// exits 0 on unknown keys and bad values, and only says so).
func verify(t *testing.T, sa, unit string) string {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.CommandContext(t.Context(), sa, "verify", "--man=no", unit)
	cmd.Stdout, cmd.Stderr = &out, &out
	// Log to stderr: under a pipe, systemd tools may pick the journal.
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_TARGET=console")
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(out.String()) + "\n" + err.Error()
	}
	return strings.TrimSpace(out.String())
}

func TestVerify(t *testing.T) {
	sa := analyze(t)
	bin := buildSteward(t)
	if out := verify(t, sa, unitWith(t, bin, nil)); out != "" {
		t.Fatalf("systemd-analyze verify steward.service:\n%s", out)
	}
	// verify's silence means something: it reports what it should.
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"unknown key", "\nProtectSystem=strict\n", "\nProtectSystm=strict\n", "Unknown key 'ProtectSystm'"},
		{"bad value", "\nProtectSystem=strict\n", "\nProtectSystem=stric\n", "stric"},
		{"missing binary", "ExecStart=" + bin, "ExecStart=" + bin + "-missing", "is not executable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := verify(t, sa, unitWith(t, bin, func(s string) string { return strings.Replace(s, tc.from, tc.to, 1) }))
			if !strings.Contains(out, tc.want) {
				t.Fatalf("verify of a unit with %s said %q, want %q", tc.name, out, tc.want)
			}
		})
	}
}

func TestSecurityExposure(t *testing.T) {
	sa := analyze(t)
	out, err := exec.CommandContext(t.Context(), sa, "security", "--offline=true", "--no-pager", "steward.service").CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for steward\.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	level, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exposure level %.1f (0 safest, 10 most exposed; at most %.1f allowed)", level, maxExposure)
	if level > maxExposure {
		t.Errorf("exposure level %.1f > %.1f:\n%s", level, maxExposure, out)
	}
	for _, want := range []string{"✓ NoNewPrivileges=", "✓ ProtectSystem=", "✓ PrivateTmp=", "✓ ProtectHome="} {
		if !strings.Contains(string(out), want) {
			t.Errorf("security review lacks %q", want)
		}
	}
}

// TestExecStartFlags: every flag ExecStart passes is one `steward run` has,
// and the credentials come from /etc/steward and the credential directory.
func TestExecStartFlags(t *testing.T) {
	b, err := os.ReadFile("steward.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	exec0 := regexp.MustCompile(`(?s)\nExecStart=(.*?[^\\])\n`).FindStringSubmatch(unit)
	if exec0 == nil {
		t.Fatal("no ExecStart")
	}
	args := strings.Fields(strings.ReplaceAll(exec0[1], "\\\n", " "))
	if args[0] != "/usr/local/bin/steward" || args[1] != "run" {
		t.Fatalf("ExecStart runs %q", args[:2])
	}
	help, err := exec.CommandContext(t.Context(), buildSteward(t), "run", "--help").Output()
	if err != nil {
		t.Fatalf("steward run --help: %v", err)
	}
	have := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9-]+)`).FindAllStringSubmatch(string(help), -1) {
		have[m[1]] = true
	}
	for _, a := range args[2:] {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") || !have[name] {
			t.Errorf("ExecStart passes %q: `steward run` has no such flag", a)
		}
	}
	for _, want := range []string{
		"EnvironmentFile=/etc/steward/env", "LoadCredential=kubeconfig:/etc/steward/kubeconfig",
		"--kubeconfig=%d/kubeconfig", "--credentials-dir=/etc/steward/credentials", "StateDirectory=steward",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("steward.service lacks %q", want)
		}
	}
}
