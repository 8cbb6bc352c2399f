package writeback_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stewardhq/steward/deploy/testenv/gitserver"
	"github.com/stewardhq/steward/generators/command"
	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/images"
	"github.com/stewardhq/steward/reconcile/writeback"
	"github.com/stewardhq/steward/sources/git"
)

// runUpdater is how cmd wires updaters: generators/command's runner.
func runUpdater(ctx context.Context, wc *writeback.WorkCopy, u *reconcile.Unit, c images.Choice) error {
	_, err := command.Run(ctx, wc.Dir, u.Path, u.Updater.Run, images.UpdaterEnv(u, c), u.Updater.Timeout.D())
	return err
}

func TestUpdaterPrograms(t *testing.T) {
	for _, c := range []struct {
		name, updater string
		wantErr       string
		timeout       bool
	}{
		{name: "edits", updater: `{run: [sh, ./bump.sh]}`},
		{name: "fails", updater: `{run: [sh, -c, "echo boom >&2; exit 3"]}`, wantErr: "boom"},
		{name: "hangs", updater: `{run: [sh, -c, "sleep 60"], timeout: 1s}`, wantErr: "timeout after 1s", timeout: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, gitserver.Options{})
			stack := strings.Replace(f.stack, "path: apps/web, generator: {yaml: {}}, target: prod}", "path: apps/web, generator: {yaml: {}}, target: prod, updater: "+c.updater+"}", 1)
			f.repo.Commit(t, "updater", map[string]string{
				"steward.yaml":     stack,
				"apps/web/bump.sh": "printf '%s %s %s %s\\n' \"$STEWARD_UNIT\" \"$STEWARD_IMAGE\" \"$STEWARD_TAG\" \"$HOME_IS_CLEAN$SECRET\" > \"$STEWARD_POLICY.txt\"\n",
			})
			f.pushTags(t, "team/app", "1.1.0")
			t.Setenv("SECRET", "not-for-updaters")
			res, err := writeback.Push(t.Context(), f.remote(t, git.Auth{}), images.Proposals(f.scan(t, stack), runUpdater), f.options())
			if err != nil {
				t.Fatal(err)
			}
			app := res.Outcomes[0]
			if c.wantErr != "" {
				var te *command.TimeoutError
				if app.Err == nil || !strings.Contains(app.Err.Error(), "unit web: updater: ") || !strings.Contains(app.Err.Error(), c.wantErr) || c.timeout != errors.As(app.Err, &te) {
					t.Fatalf("outcome = %+v", app)
				}
				if res.Commit != "" {
					t.Fatalf("committed %s after a failed updater", res.Commit)
				}
				return
			}
			if app.Err != nil || res.Commit == "" {
				t.Fatalf("outcome %+v, commit %q", app, res.Commit)
			}
			if got := f.show(t, "main", "apps/web/app.txt"); got != "web "+f.reg.Host+"/team/app 1.1.0" {
				t.Fatalf("updater output = %q", got)
			}
			if !strings.Contains(f.repo.GitBare(t, "log", "-1", "--format=%B", "main"), "- web: apps/web/app.txt: edited by the updater of web (app)") {
				t.Fatalf("message:\n%s", f.repo.GitBare(t, "log", "-1", "--format=%B", "main"))
			}
		})
	}
}
