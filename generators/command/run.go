package command

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// TimeoutError is returned when a command ran longer than its timeout.
type TimeoutError struct {
	After time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("timeout after %s: process group killed", e.After)
}

// OutputLimitError is returned when a command printed more than its limit.
type OutputLimitError struct {
	Limit int64
}

func (e *OutputLimitError) Error() string {
	return fmt.Sprintf("output exceeds %d bytes (maxOutput): process group killed", e.Limit)
}

// Error is a failed run: which command, why (a *TimeoutError, an
// *OutputLimitError, an *exec.ExitError, the context's error, or a start
// failure), and the tail of what it wrote to stderr.
type Error struct {
	Command string
	Err     error
	Stderr  string
}

func (e *Error) Error() string {
	if e.Stderr == "" {
		return fmt.Sprintf("command %s: %v", e.Command, e.Err)
	}
	return fmt.Sprintf("command %s: %v; stderr:\n%s", e.Command, e.Err, e.Stderr)
}

func (e *Error) Unwrap() error { return e.Err }

// killGrace is how long readers may take to see EOF after the process group
// was killed before their pipes are closed under them (a process that left
// the group may still hold them).
const killGrace = 2 * time.Second

type runSpec struct {
	path      string
	argv      []string
	dir       string
	env       []string
	timeout   time.Duration
	maxOutput int64
}

// reaperGrace is how long the reaper may take to kill the command's tree
// before its whole process group is SIGKILLed.
const reaperGrace = 5 * time.Second

// group is a started command: its reaper, which leads the process group,
// and why it was killed.
type group struct {
	pgid   int
	exited <-chan struct{} // closed once the reaper was waited for
	mu     sync.Mutex
	cause  error
	killed bool
}

// kill asks the reaper to kill every descendant of the command (setsid ones
// too), and SIGKILLs the group if the reaper has not exited after
// reaperGrace. The first non-nil cause is kept.
func (g *group) kill(cause error) {
	g.mu.Lock()
	if g.cause == nil {
		g.cause = cause
	}
	first := !g.killed
	g.killed = true
	g.mu.Unlock()
	if !first {
		return
	}
	select {
	case <-g.exited:
		return // waited for: its pid may be reused
	default:
	}
	terminate(g.pgid) // not waited for yet, so still ours
	go func() {
		t := time.NewTimer(reaperGrace)
		defer t.Stop()
		select {
		case <-g.exited:
		case <-t.C:
			_ = syscall.Kill(-g.pgid, syscall.SIGKILL)
		}
	}()
}

func (g *group) err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cause
}

// run starts the command in a new process group and returns its stdout.
// Whatever happens, no process of the group outlives the call.
func run(ctx context.Context, rs runSpec) ([]byte, error) {
	fail := func(err error, stderr string) error {
		return &Error{Command: rs.argv[0], Err: err, Stderr: stderr}
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fail(err, "")
	}
	defer outR.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		outW.Close()
		return nil, fail(err, "")
	}
	defer errR.Close()
	path, argv := reaped(rs.path, rs.argv)
	cmd := &exec.Cmd{
		Path:        path,
		Args:        argv,
		Dir:         rs.dir,
		Env:         rs.env,
		Stdout:      outW,
		Stderr:      errW,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	if err := ctx.Err(); err != nil {
		outW.Close()
		errW.Close()
		return nil, fail(err, "")
	}
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		return nil, fail(err, "")
	}
	exited := make(chan struct{})
	g := &group{pgid: cmd.Process.Pid, exited: exited}

	stderr := newTail(StderrTail)
	errDone := make(chan struct{})
	go func() {
		_, _ = io.Copy(stderr, errR)
		close(errDone)
	}()
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	done := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		watch(ctx, g, rs.timeout, exited, done, outR, errR)
	}()

	out, overflow := readCapped(outR, rs.maxOutput)
	if overflow {
		g.kill(&OutputLimitError{Limit: rs.maxOutput})
	}
	outR.Close()
	<-exited
	<-errDone
	close(done)
	<-watched

	if err := g.err(); err != nil {
		return nil, fail(err, stderr.String())
	}
	if waitErr != nil {
		return nil, fail(waitErr, stderr.String())
	}
	return out, nil
}

// watch kills the command when the context ends or the timeout passes.
// When the reaper exits it has killed every descendant itself. After a
// kill it bounds how long the readers may wait for EOF by closing their
// pipes.
func watch(ctx context.Context, g *group, timeout time.Duration, exited, done <-chan struct{}, pipes ...io.Closer) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	closePipes := func() {
		for _, p := range pipes {
			_ = p.Close()
		}
	}
	select {
	case <-exited:
		// The reaper is gone and killed the command's tree; should anything
		// still hold the pipes, the timeout and the context still apply.
		select {
		case <-done:
		case <-timer.C:
			g.kill(&TimeoutError{After: timeout})
			closePipes()
		case <-ctx.Done():
			g.kill(ctx.Err())
			closePipes()
		}
		return
	case <-timer.C:
		g.kill(&TimeoutError{After: timeout})
	case <-ctx.Done():
		g.kill(ctx.Err())
	case <-done:
		return
	}
	grace := time.NewTimer(killGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		closePipes()
	}
}

// readCapped reads r to EOF keeping at most limit bytes; it reports
// overflow as soon as the limit is passed and stops reading. The buffer
// never grows past limit+1 bytes.
func readCapped(r io.Reader, limit int64) ([]byte, bool) {
	buf := make([]byte, 0, min(int64(64<<10), limit+1))
	for {
		if len(buf) == cap(buf) {
			if int64(cap(buf)) > limit {
				return buf, true
			}
			next := int64(2 * cap(buf))
			if next >= limit {
				next = limit + 1
			}
			nb := make([]byte, len(buf), next)
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf, true
		}
		if err != nil {
			// io.EOF, or the pipe was closed by watch after a kill (the
			// group's error says why).
			return buf, false
		}
	}
}

// tail keeps the last max bytes written to it.
type tail struct {
	max   int
	buf   []byte
	total int64
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) Write(p []byte) (int, error) {
	t.total += int64(len(p))
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return len(p), nil
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		n := copy(t.buf, t.buf[len(t.buf)-t.max:])
		t.buf = t.buf[:n]
	}
	return len(p), nil
}

// String is the kept text, valid UTF-8, marked when earlier output was cut.
func (t *tail) String() string {
	kept := t.buf
	cut := t.total - int64(len(kept))
	if cut > 0 {
		// Start at a line boundary when the cut fell inside a line.
		if i := bytes.IndexByte(kept, '\n'); i >= 0 && i+1 < len(kept) {
			kept = kept[i+1:]
			cut += int64(i + 1)
		}
	}
	s := strings.TrimRight(strings.ToValidUTF8(string(kept), "\uFFFD"), "\n")
	if cut > 0 {
		s = fmt.Sprintf("[... %d earlier bytes]\n", cut) + s
	}
	return s
}
