package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

// Run runs argv in dir (slash-separated, relative to root, a checked-out
// repository) the way the generator runs its command: argv[0] with a slash
// is a file of the repository relative to dir, else it is looked up on
// PATH; the environment is clean (steward's PATH and HOME, then env); the
// process group, and every process that left it, is killed after timeout
// (DefaultTimeout when 0) or when ctx ends; stdout is returned, capped at
// DefaultMaxOutput. A failure is an *Error carrying the tail of stderr.
// Image automation runs unit updater programs through it.
func Run(ctx context.Context, root, dir string, argv []string, env map[string]string, timeout time.Duration) ([]byte, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, errors.New("command: run is empty")
	}
	vars := map[string]string{"PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME")}
	for k, v := range env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.Contains(v, "\x00") {
			return nil, fmt.Errorf("command: env %q is invalid", k)
		}
		vars[k] = v
	}
	list := make([]string, 0, len(vars))
	for k, v := range vars {
		list = append(list, k+"="+v)
	}
	slices.Sort(list)
	g := &Generator{spec: reconcile.CommandGenerator{Run: argv}}
	exe, err := g.executable(reconcile.GenerateRequest{Dir: dir}, root, list)
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return run(ctx, runSpec{
		path: exe, argv: argv, dir: filepath.Join(root, filepath.FromSlash(dir)),
		env: list, timeout: timeout, maxOutput: DefaultMaxOutput,
	})
}
