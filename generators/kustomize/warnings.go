package kustomize

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"strings"
	"sync"
)

// deprecatedFields maps the kustomization fields kustomize warns about to
// what replaces them.
var deprecatedFields = map[string]string{
	"bases":                 "resources",
	"commonLabels":          "labels",
	"imageTags":             "images",
	"patchesJson6902":       "patches",
	"patchesStrategicMerge": "patches",
	"vars":                  "replacements",
}

// Warning is a deprecated field found in a kustomization file; kustomize
// still builds it.
type Warning struct {
	File  string
	Line  int
	Field string
	Use   string // the field that replaces it
}

func (w Warning) String() string {
	return fmt.Sprintf("%s:%d: %s is deprecated; use %s", w.File, w.Line, w.Field, w.Use)
}

// logWarnings sends the checker's warnings to the unit's logger.
func logWarnings(logger *slog.Logger, ws []Warning) {
	for _, w := range ws {
		logger.Warn("kustomize: deprecated field", "file", w.File, "line", w.Line, "field", w.Field, "use", w.Use)
	}
}

// kustomizeDeprecation starts the lines kustomize prints itself for a
// deprecated field; logWarnings has reported them with their file and line.
const kustomizeDeprecation = "# Warning: '"

// captureOutput runs f with what kustomize writes outside its return values
// — the log package, and os.Stderr when swapStderr — sent line by line to
// logger instead of the process's stderr, so steward's log stays in its
// format (--log-format json). Builds are serialised (buildMu), so at most
// one capture runs at a time. os.Stderr is a plain variable, so it is only
// swapped when a kustomization uses a deprecated field (the one case in
// which kustomize prints to it), keeping the window in which another
// goroutine could read it small.
func captureOutput(logger *slog.Logger, swapStderr bool, f func() error) error {
	lw := &lineWriter{emit: func(line string) { logger.Warn("kustomize: " + line) }}
	prevOut, prevFlags, prevPrefix := log.Writer(), log.Flags(), log.Prefix()
	log.SetOutput(lw)
	log.SetFlags(0)
	log.SetPrefix("")
	defer func() {
		log.SetOutput(prevOut)
		log.SetFlags(prevFlags)
		log.SetPrefix(prevPrefix)
		lw.flush()
	}()
	if !swapStderr {
		return f()
	}
	r, w, err := os.Pipe()
	if err != nil {
		return f()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if line := sc.Text(); !strings.HasPrefix(line, kustomizeDeprecation) && strings.TrimSpace(line) != "" {
				logger.Warn("kustomize: " + line)
			}
		}
		_, _ = io.Copy(io.Discard, r)
		r.Close()
	}()
	prevErr := os.Stderr
	os.Stderr = w
	defer func() {
		os.Stderr = prevErr
		w.Close()
		<-done
	}()
	return f()
}

// lineWriter calls emit for every complete line written to it.
type lineWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	emit func(string)
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err != nil {
			l.buf.WriteString(line) // incomplete: keep for the next write
			return len(p), nil
		}
		if s := strings.TrimRight(line, "\r\n"); strings.TrimSpace(s) != "" {
			l.emit(s)
		}
	}
}

func (l *lineWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := strings.TrimSpace(l.buf.String()); s != "" {
		l.emit(s)
	}
	l.buf.Reset()
}
