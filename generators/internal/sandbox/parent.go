package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"

	"github.com/stewardhq/steward/reconcile"
)

// selfExe is steward's own executable.
const selfExe = "/proc/self/exe"

// stderrTail is how much of the end of the child's stderr errors quote.
const stderrTail = 2 << 10

// Run generates req with the generator of kind built from spec, in a child
// process bounded by lim. The child reads req.Tree through this process.
func Run(ctx context.Context, kind string, spec any, req reconcile.GenerateRequest, lim Limits) ([]*reconcile.Object, error) {
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("sandbox: encode spec: %w", err)
	}
	logger := req.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cmd := exec.CommandContext(ctx, selfExe, kind)
	cmd.Args[0] = arg0
	// The child needs nothing of steward's environment; a fatal error (out
	// of memory) prints its message without every goroutine's stack.
	cmd.Env = []string{"GOTRACEBACK=none"}
	// No Pdeathsig: it follows the forking thread, not the process. Should
	// steward die, the child's next request finds its stdin closed, and a
	// runaway one meets its memory limit.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr := &tailBuffer{max: stderrTail}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("sandbox: start: %w", err)
	}
	lr := &limitReader{r: stdout, left: 2*lim.MaxOutput + 1<<20}
	p := &parent{tree: req.Tree, enc: json.NewEncoder(stdin), dec: json.NewDecoder(bufio.NewReader(lr)), logger: logger}
	objs, protoErr := p.converse(message{Op: opStart, Spec: specJSON, Dir: req.Dir, Namespace: req.Namespace,
		Revision: req.Revision, Unit: req.Unit, Inputs: req.Inputs, Params: req.Params, MaxMemory: lim.MaxMemory, MaxOutput: lim.MaxOutput})
	stdin.Close()
	if protoErr != nil {
		_ = cmd.Process.Kill()
	}
	waitErr := cmd.Wait()
	switch {
	case protoErr == nil:
		return objs, nil
	case errors.As(protoErr, new(*generatorError)):
		return nil, protoErr.(*generatorError).err
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case lr.exceeded:
		return nil, &OutputLimitError{Limit: lim.MaxOutput}
	case strings.Contains(stderr.String(), "out of memory"),
		// Thread stacks count against the memory limit too: a child near
		// it dies creating a thread rather than allocating heap.
		strings.Contains(stderr.String(), "pthread_create failed"),
		strings.Contains(stderr.String(), "cannot allocate memory"),
		// Near its limit, Go's runtime may also fault rather than report
		// (a failed mapping seen in the collector as a nil span).
		usedHalf(cmd.ProcessState, lim.MaxMemory):
		return nil, &MemoryError{Limit: lim.MaxMemory}
	}
	tail := stderr.String()
	if len(tail) > 2048 {
		tail = "…" + tail[len(tail)-2048:]
	}
	return nil, fmt.Errorf("sandbox: generator process failed (%v): %v; stderr:\n%s", waitErr, protoErr, tail)
}

// usedHalf reports whether the exited child had at least half of its
// memory limit resident at its peak: a crash there is taken for the limit.
func usedHalf(ps *os.ProcessState, limit int64) bool {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	return ok && limit > 0 && ru.Maxrss*1024 >= limit/2 // Maxrss is in KiB
}

// generatorError is the generator's own error, sent by the child.
type generatorError struct{ err error }

func (e *generatorError) Error() string { return e.err.Error() }

type parent struct {
	tree   fs.FS
	enc    *json.Encoder
	dec    *json.Decoder
	logger *slog.Logger
}

// converse sends start, answers the child's requests and returns its
// result. The generator's error comes back as a *generatorError.
func (p *parent) converse(start message) ([]*reconcile.Object, error) {
	if err := p.enc.Encode(start); err != nil {
		return nil, err
	}
	for {
		var m message
		if err := p.dec.Decode(&m); err != nil {
			return nil, err
		}
		switch m.Op {
		case opResult:
			return decodeObjects(m.Objects)
		case opError:
			return nil, &generatorError{err: fromWire(m.Err)}
		case opLog:
			p.logger.Log(context.Background(), slog.Level(m.Level), m.Msg, m.Attrs...)
		default:
			if err := p.enc.Encode(p.answer(m)); err != nil {
				return nil, err
			}
		}
	}
}

// answer serves one file system request from the tree.
func (p *parent) answer(m message) message {
	r := message{Op: opReply}
	if !fs.ValidPath(m.Name) {
		r.Err = toWire(fs.ErrInvalid)
		return r
	}
	var err error
	switch m.Op {
	case opReadFile:
		r.Data, err = fs.ReadFile(p.tree, m.Name)
	case opStat:
		var fi fs.FileInfo
		if fi, err = fs.Stat(p.tree, m.Name); err == nil {
			r.Info = infoOf(fi)
		}
	case opLstat:
		var fi fs.FileInfo
		if fi, err = fs.Lstat(p.tree, m.Name); err == nil {
			r.Info = infoOf(fi)
		}
	case opReadLink:
		r.Target, err = fs.ReadLink(p.tree, m.Name)
	case opReadDir:
		var es []fs.DirEntry
		if es, err = fs.ReadDir(p.tree, m.Name); err == nil {
			for _, e := range es {
				fi, ierr := e.Info()
				if ierr != nil {
					err = ierr
					break
				}
				r.Entries = append(r.Entries, *infoOf(fi))
			}
		}
	default:
		err = fmt.Errorf("sandbox: unknown request %q", m.Op)
	}
	r.Err = toWire(err)
	return r
}

func decodeObjects(raw []json.RawMessage) ([]*reconcile.Object, error) {
	objs := make([]*reconcile.Object, 0, len(raw))
	for _, data := range raw {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("sandbox: decode object: %w", err)
		}
		objs = append(objs, &reconcile.Object{Object: reconcile.JSONNumbers(m).(map[string]any)})
	}
	return objs, nil
}

// limitReader fails once more than left bytes were read.
type limitReader struct {
	r        io.Reader
	left     int64
	exceeded bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		l.exceeded = true
		return 0, errors.New("output limit exceeded")
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// tailBuffer keeps the first and the last max/2 bytes written to it (a
// fatal error's message comes first, a generator's last words last).
type tailBuffer struct {
	mu   sync.Mutex
	max  int
	head []byte
	buf  []byte
	cut  bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if room := t.max/2 - len(t.head); room > 0 {
		k := min(room, len(p))
		t.head = append(t.head, p[:k]...)
		p = p[k:]
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max/2 {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max/2:]...)
		t.cut = true
	}
	return n, nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	sep := ""
	if t.cut {
		sep = "\n[...]\n"
	}
	return strings.TrimSpace(string(t.head) + sep + string(t.buf))
}
