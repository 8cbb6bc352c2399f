package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"syscall"

	"github.com/stewardhq/steward/reconcile"
)

// Serve is called from the init of a generator package. When this process
// was started as the sandbox of kind, it serves the one request on its
// stdin with the generator newGen builds, and exits; otherwise it returns
// at once.
func Serve(kind string, newGen Factory) {
	if len(os.Args) != 2 || os.Args[0] != arg0 || os.Args[1] != kind {
		return
	}
	os.Exit(serve(newGen))
}

// serve runs in the child. The protocol goes over the original stdout;
// anything a library prints to stdout goes to stderr instead.
func serve(newGen Factory) int {
	proto := os.NewFile(uintptr(dupFd(1)), "protocol")
	_ = syscall.Dup2(2, 1)
	c := &child{enc: json.NewEncoder(proto), dec: json.NewDecoder(bufio.NewReader(os.Stdin))}
	var start message
	if err := c.dec.Decode(&start); err != nil || start.Op != opStart {
		fmt.Fprintf(os.Stderr, "sandbox: no start message: %v\n", err)
		return 2
	}
	if start.MaxMemory > 0 {
		lim := &syscall.Rlimit{Cur: uint64(start.MaxMemory), Max: uint64(start.MaxMemory)}
		if err := syscall.Setrlimit(syscall.RLIMIT_DATA, lim); err != nil {
			fmt.Fprintf(os.Stderr, "sandbox: limit memory: %v\n", err)
			return 2
		}
	}
	gen, err := newGen(start.Spec, start.MaxOutput)
	if err != nil {
		return c.finish(nil, err)
	}
	req := reconcile.GenerateRequest{
		Tree: &remoteFS{c: c}, Dir: start.Dir, Unit: start.Unit, Namespace: start.Namespace,
		Revision: start.Revision, Inputs: start.Inputs, Params: start.Params, Logger: slog.New(&logHandler{c: c}),
	}
	objs, err := gen.Generate(context.Background(), req)
	return c.finish(objs, err)
}

func dupFd(fd int) int {
	n, err := syscall.Dup(fd)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sandbox: dup: %v\n", err)
		os.Exit(2)
	}
	return n
}

// child is the child's end of the protocol; one request at a time.
type child struct {
	mu  sync.Mutex
	enc *json.Encoder
	dec *json.Decoder
}

// call sends m and returns the parent's reply.
func (c *child) call(m message) (message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enc.Encode(m); err != nil {
		return message{}, err
	}
	var r message
	if err := c.dec.Decode(&r); err != nil {
		return message{}, fmt.Errorf("sandbox: parent gone: %w", err)
	}
	return r, nil
}

func (c *child) send(m message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.enc.Encode(m)
}

func (c *child) finish(objs []*reconcile.Object, err error) int {
	if err != nil {
		c.send(message{Op: opError, Err: toWire(err)})
		return 0
	}
	out := message{Op: opResult, Objects: make([]json.RawMessage, 0, len(objs))}
	for _, o := range objs {
		data, err := json.Marshal(o.Object)
		if err != nil {
			c.send(message{Op: opError, Err: toWire(fmt.Errorf("encode %s: %w", reconcile.IDOf(o), err))})
			return 0
		}
		out.Objects = append(out.Objects, data)
	}
	c.send(out)
	return 0
}

// remoteFS is the revision's tree, read through the parent.
type remoteFS struct{ c *child }

var (
	_ fs.ReadFileFS = (*remoteFS)(nil)
	_ fs.ReadDirFS  = (*remoteFS)(nil)
	_ fs.StatFS     = (*remoteFS)(nil)
	_ fs.ReadLinkFS = (*remoteFS)(nil)
)

func (r *remoteFS) ask(op, name string) (message, error) {
	if !fs.ValidPath(name) {
		return message{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	m, err := r.c.call(message{Op: op, Name: name})
	if err != nil {
		return message{}, err
	}
	if m.Err != nil {
		return message{}, &fs.PathError{Op: op, Path: name, Err: fromWire(m.Err)}
	}
	return m, nil
}

func (r *remoteFS) ReadFile(name string) ([]byte, error) {
	m, err := r.ask(opReadFile, name)
	return m.Data, err
}

func (r *remoteFS) Stat(name string) (fs.FileInfo, error) {
	m, err := r.ask(opStat, name)
	if err != nil {
		return nil, err
	}
	return m.Info, nil
}

func (r *remoteFS) Lstat(name string) (fs.FileInfo, error) {
	m, err := r.ask(opLstat, name)
	if err != nil {
		return nil, err
	}
	return m.Info, nil
}

func (r *remoteFS) ReadLink(name string) (string, error) {
	m, err := r.ask(opReadLink, name)
	return m.Target, err
}

func (r *remoteFS) ReadDir(name string) ([]fs.DirEntry, error) {
	m, err := r.ask(opReadDir, name)
	if err != nil {
		return nil, err
	}
	out := make([]fs.DirEntry, len(m.Entries))
	for i := range m.Entries {
		out[i] = &m.Entries[i]
	}
	return out, nil
}

// Open serves whole files (read in one request) and directories.
func (r *remoteFS) Open(name string) (fs.File, error) {
	info, err := r.Stat(name)
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		return &openDir{fs: r, name: name, info: info}, nil
	}
	data, err := r.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return &openFile{info: info, data: data}, nil
}

type openFile struct {
	info fs.FileInfo
	data []byte
	off  int
}

func (f *openFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *openFile) Close() error               { return nil }
func (f *openFile) Read(p []byte) (int, error) {
	if f.off >= len(f.data) {
		return 0, io.EOF
	}
	n := copy(p, f.data[f.off:])
	f.off += n
	return n, nil
}

type openDir struct {
	fs      *remoteFS
	name    string
	info    fs.FileInfo
	entries []fs.DirEntry
	read    bool
}

func (d *openDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *openDir) Close() error               { return nil }
func (d *openDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: fs.ErrInvalid}
}

func (d *openDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if !d.read {
		es, err := d.fs.ReadDir(d.name)
		if err != nil {
			return nil, err
		}
		d.entries, d.read = es, true
	}
	if n <= 0 {
		es := d.entries
		d.entries = nil
		return es, nil
	}
	if len(d.entries) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.entries))
	es := d.entries[:n]
	d.entries = d.entries[n:]
	return es, nil
}

// logHandler sends the generator's log records to the parent's logger.
type logHandler struct {
	c     *child
	attrs []any
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	attrs := append([]any(nil), h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a.Key, a.Value.String())
		return true
	})
	h.c.send(message{Op: opLog, Level: int(r.Level), Msg: r.Message, Attrs: attrs})
	return nil
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := &logHandler{c: h.c, attrs: append([]any(nil), h.attrs...)}
	for _, a := range as {
		n.attrs = append(n.attrs, a.Key, a.Value.String())
	}
	return n
}

func (h *logHandler) WithGroup(string) slog.Handler { return h }
