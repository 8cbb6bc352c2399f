package ssh

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/targets/machine"
)

// nastyArgs would each break or inject into a naively joined command line.
var nastyArgs = []string{
	"two words", "it's", `"double"`, "semi;colon", "; touch INJECTED", "$(touch INJECTED)", "`touch INJECTED`",
	"$HOME", "back\\slash", "new\nline", "*", "", "-n", "&& touch INJECTED", "| cat", "'", "''", "\t",
}

func TestRunArgvLiterally(t *testing.T) {
	h := startHosts(t, 1)[0]
	tr := dialHost(t, h, nil)
	ctx := context.Background()
	argv := append([]string{"printf", `%s\0`}, nastyArgs...)
	res, err := tr.Run(ctx, machine.Cmd{Argv: argv, Dir: h.Root})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("run: %+v, %v", res, err)
	}
	got := strings.Split(strings.TrimSuffix(string(res.Stdout), "\x00"), "\x00")
	if strings.Join(got, "|") != strings.Join(nastyArgs, "|") || len(got) != len(nastyArgs) {
		t.Fatalf("arguments changed on the way:\n got %q\nwant %q", got, nastyArgs)
	}
	if _, err := os.Stat(filepath.Join(h.Root, "INJECTED")); err == nil {
		t.Fatal("an argument was run as a command")
	}
}

func TestRun(t *testing.T) {
	h := startHosts(t, 1)[0]
	tr := dialHost(t, h, func(c *Config) { c.MaxOutput = 1000 })
	tests := []struct {
		name       string
		cmd        machine.Cmd
		exit       int
		stdout     string
		stderrHas  string
		stdoutSize int
	}{
		{name: "exit code", cmd: machine.Cmd{Argv: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}}, exit: 3, stdout: "out\n", stderrHas: "err"},
		{name: "env", cmd: machine.Cmd{Argv: []string{"sh", "-c", `printf %s "$GREETING"`}, Env: map[string]string{"GREETING": "it's $HOME; `x`"}}, stdout: "it's $HOME; `x`"},
		{name: "dir", cmd: machine.Cmd{Argv: []string{"pwd"}, Dir: h.Root}, stdout: h.Root + "\n"},
		{name: "dir with spaces missing", cmd: machine.Cmd{Argv: []string{"pwd"}, Dir: filepath.Join(h.Root, "no such")}, exit: -1, stderrHas: "no such"},
		{name: "stdin", cmd: machine.Cmd{Argv: []string{"tr", "a-z", "A-Z"}, Stdin: strings.NewReader("abc")}, stdout: "ABC"},
		{name: "not found", cmd: machine.Cmd{Argv: []string{"no-such-program-xyz"}}, exit: 127},
		{name: "builtin is not run", cmd: machine.Cmd{Argv: []string{"cd", "/"}}, exit: 127},
		{name: "killed by signal", cmd: machine.Cmd{Argv: []string{"sh", "-c", "kill -9 $$"}}, exit: 137},
		{name: "bounded output", cmd: machine.Cmd{Argv: []string{"head", "-c", "100000", "/dev/zero"}}, stdoutSize: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tr.Run(context.Background(), tt.cmd)
			if err != nil {
				t.Fatal(err)
			}
			if tt.exit == -1 && res.ExitCode == 0 || tt.exit != -1 && res.ExitCode != tt.exit {
				t.Errorf("exit = %d, want %d (stderr %q)", res.ExitCode, tt.exit, res.Stderr)
			}
			if tt.stdoutSize > 0 {
				if len(res.Stdout) != tt.stdoutSize {
					t.Errorf("stdout kept %d bytes, want %d", len(res.Stdout), tt.stdoutSize)
				}
			} else if string(res.Stdout) != tt.stdout {
				t.Errorf("stdout = %q, want %q", res.Stdout, tt.stdout)
			}
			if !bytes.Contains(res.Stderr, []byte(tt.stderrHas)) {
				t.Errorf("stderr = %q, want it to hold %q", res.Stderr, tt.stderrHas)
			}
		})
	}
}

func TestRunBadInput(t *testing.T) {
	h := startHosts(t, 1)[0]
	tr := dialHost(t, h, nil)
	for _, cmd := range []machine.Cmd{
		{},
		{Argv: []string{""}},
		{Argv: []string{"echo", "a\x00b"}},
		{Argv: []string{"env"}, Env: map[string]string{"X; touch INJECTED": "1"}},
		{Argv: []string{"env"}, Env: map[string]string{"X": "a\x00"}},
	} {
		if res, err := tr.Run(context.Background(), cmd); err == nil {
			t.Errorf("Run(%q) = %+v, want an error", cmd.Argv, res)
		}
	}
}

func TestRunCancel(t *testing.T) {
	h := startHosts(t, 1)[0]
	tr := dialHost(t, h, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := tr.Run(ctx, machine.Cmd{Argv: []string{"sleep", "30"}})
	if err == nil || ctx.Err() == nil {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 20*time.Second {
		t.Fatal("cancel did not return")
	}
	// The connection is still good for the next command.
	if res, err := tr.Run(context.Background(), machine.Cmd{Argv: []string{"true"}}); err != nil || res.ExitCode != 0 {
		t.Fatalf("after cancel: %+v, %v", res, err)
	}
}

func TestBuildCommand(t *testing.T) {
	tests := []struct {
		cmd  machine.Cmd
		sudo bool
		want string
	}{
		{cmd: machine.Cmd{Argv: []string{"echo", "a b"}}, want: `exec 'echo' 'a b'`},
		{cmd: machine.Cmd{Argv: []string{"echo", "it's"}}, want: `exec 'echo' 'it'\''s'`},
		{cmd: machine.Cmd{Argv: []string{"ls"}, Dir: "/x y", Env: map[string]string{"B": "2", "A": "1"}},
			want: `cd -- '/x y' && export A='1' && export B='2' && exec 'ls'`},
		{cmd: machine.Cmd{Argv: []string{"id"}}, sudo: true, want: `sudo -n -- /bin/sh -c 'exec '\''id'\'''`},
	}
	for _, tt := range tests {
		got, err := BuildCommand(tt.cmd, tt.sudo)
		if err != nil || got != tt.want {
			t.Errorf("BuildCommand(%q) = %s, %v\nwant %s", tt.cmd.Argv, got, err, tt.want)
		}
	}
}

// FuzzBuildCommand runs the built line with the local /bin/sh (the remote
// shell's stand-in) and checks the program sees exactly the arguments.
func FuzzBuildCommand(f *testing.F) {
	for _, a := range nastyArgs {
		f.Add(a, "x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if strings.ContainsRune(a+b, 0) {
			if _, err := BuildCommand(machine.Cmd{Argv: []string{"printf", a, b}}, false); err == nil {
				t.Fatal("NUL byte accepted")
			}
			return
		}
		line, err := BuildCommand(machine.Cmd{Argv: []string{"printf", `%s\0%s\0`, a, b}}, false)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("/bin/sh", "-c", line).Output()
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if want := a + "\x00" + b + "\x00"; string(out) != want {
			t.Fatalf("line %s printed %q, want %q", line, out, want)
		}
	})
}
