package command

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// reaperArg0 is the argv[0] under which steward's own executable runs as
// the reaper of one command (see init).
const reaperArg0 = "steward-command-reaper"

// selfExe is steward's own executable; exec'ing it works even when the file
// was replaced or deleted since steward started.
const selfExe = "/proc/self/exe"

func init() {
	// A re-exec hook, not a registry: when steward starts itself as a
	// command's reaper, it does only that.
	if len(os.Args) >= 3 && os.Args[0] == reaperArg0 {
		os.Exit(reap(os.Args[1], os.Args[2:]))
	}
}

// reaped wraps a command so that it runs under a reaper: steward's own
// executable, started as reaperArg0, which runs the command as its child
// in the same process group and is its children's subreaper. Every
// descendant that leaves the group (setsid, a double fork) is reparented to
// the reaper rather than to init, so when the command exits, or the reaper
// gets SIGTERM, the reaper kills every descendant it has before it exits.
func reaped(path string, argv []string) (string, []string) {
	return selfExe, append([]string{reaperArg0, path}, argv...)
}

// terminate asks the reaper (pid) to kill the command's whole tree.
func terminate(pid int) { _ = syscall.Kill(pid, syscall.SIGTERM) }

// reap runs path with argv (argv[0] is the command's name) and returns the
// exit code to leave with: the command's, or 128+signal.
func reap(path string, argv []string) int {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		os.Stderr.WriteString("steward: cannot become the command's subreaper: " + err.Error() + "\n")
		return 127
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	cmd := &exec.Cmd{Path: path, Args: argv, Env: os.Environ(), Stdout: os.Stdout, Stderr: os.Stderr}
	if err := cmd.Start(); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 127
	}
	var once sync.Once
	killAll := func() { once.Do(func() { killDescendants(os.Getpid()) }) }
	go func() {
		<-term
		killAll()
		os.Exit(128 + int(syscall.SIGTERM))
	}()
	err := cmd.Wait()
	killAll()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			// Die of the same signal, so steward reports it as it was.
			signal.Reset(ws.Signal())
			_ = syscall.Kill(os.Getpid(), ws.Signal())
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil {
		return 127
	}
	return 0
}

// killDescendants SIGKILLs every descendant of self and reaps its children
// until it has none: orphans of killed processes are reparented to self
// (the subreaper) and are found on the next round.
func killDescendants(self int) {
	for {
		for _, pid := range descendants(self) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, syscall.ECHILD) {
			return
		}
		if err != nil && !errors.Is(err, syscall.EINTR) {
			return
		}
	}
}

// descendants lists the processes below root, from /proc.
func descendants(root int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := parentOf(pid); ok {
			children[ppid] = append(children[ppid], pid)
		}
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// parentOf reads the parent pid from /proc/pid/stat ("pid (comm) S ppid ...";
// comm may hold spaces and parentheses, so fields count from the last ')').
func parentOf(pid int) (int, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}
