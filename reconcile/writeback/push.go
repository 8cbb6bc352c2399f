package writeback

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"text/template"

	"github.com/stewardhq/steward/reconcile"
)

// Remote is the repository a write-back pushes to; cmd wires sources/git.
type Remote interface {
	// FetchBranch fetches branch and returns its newest commit.
	FetchBranch(ctx context.Context, branch string) (*reconcile.Revision, error)
	// Commit writes a commit of files on parent to branch locally and
	// returns its id.
	Commit(ctx context.Context, c Commit) (string, error)
	// Push sends the local branch to the remote's branch of the same name,
	// forced only when force is set.
	Push(ctx context.Context, branch string, force bool) error
}

// Commit is what Remote.Commit writes.
type Commit struct {
	Branch, Parent string
	// Files are paths relative to the stack's root; nil removes.
	Files   map[string][]byte
	Message string
	Author  Author
}

// Author is the identity on write-back commits.
type Author struct{ Name, Email string }

// Forge opens pull requests; cmd wires sources/forge.
type Forge interface {
	// EnsurePullRequest opens a pull request from head to base, or updates
	// the title and body of the one already open.
	EnsurePullRequest(ctx context.Context, pr PullRequest) (PullRequestResult, error)
}

// PullRequest is what a write-back asks a Forge for.
type PullRequest struct {
	Head, Base  string
	Title, Body string
}

// PullRequestResult is the pull request opened or updated.
type PullRequestResult struct {
	Number  int
	URL     string
	Created bool // false: an open one was updated
}

// DefaultMessage is the commit message template when none is configured.
const DefaultMessage = `{{.Subject}}
{{range .Changes}}
- {{if .Unit}}{{.Unit}}: {{end}}{{.File}}{{if .Line}}:{{.Line}}{{end}}: {{if .Old}}{{.Old}} → {{end}}{{.New}} ({{.Policy}}){{end}}
{{range .Outcomes}}{{if not .Err}}{{range .NotChecked}}
Not checked, no SOPS key: {{.}}{{end}}{{end}}{{end}}`

// MessageData is what the message template sees.
type MessageData struct {
	// Subject is a one-line summary: "steward: app 1.2.0, web 2.0.1".
	Subject string
	// Changes are the changes committed, in proposal order.
	Changes []Change
	// Outcomes are every proposal's outcome, dropped ones included.
	Outcomes []Outcome
	// Branch is where the commit goes.
	Branch string
}

// Options configure Push.
type Options struct {
	// Branch is the tracked branch: the base of every commit. Required.
	Branch string
	// PushBranch, when set, receives the commit instead: one automation
	// branch owned by steward, reset onto Branch's head and force-pushed
	// on every write-back (so it is updated in place, never multiplied).
	// Branch itself is only ever fast-forwarded.
	PushBranch string
	// Author is the author and committer. Required.
	Author Author
	// Message is a text/template over MessageData (DefaultMessage when
	// empty).
	Message string
	// MaxAttempts bounds the fetch, re-apply, re-verify, push rounds when
	// Branch moves under a push.
	MaxAttempts int
	// Stages generate and check the touched units (as `steward verify`).
	Stages reconcile.Stages
	// Forge, with PushBranch, opens or updates a pull request to Branch.
	Forge Forge
	// TempDir holds the work copies ("" for the system's).
	TempDir string
	// Logger receives a line per attempt; nil discards.
	Logger *slog.Logger
	// DryRun prepares and verifies, computes the diff, and commits nothing.
	DryRun bool
}

// DefaultOptions tries 5 times, authored by steward.
func DefaultOptions() Options {
	return Options{MaxAttempts: 5, Author: Author{Name: "steward", Email: "steward@steward.invalid"}}
}

// Result is what a write-back did, as data.
type Result struct {
	// Base is the commit the write-back built on (of the last attempt).
	Base string
	// Commit is the pushed commit, "" when nothing was committed.
	Commit string
	// Branch is where Commit was pushed.
	Branch string
	// Attempts is how many rounds it took.
	Attempts int
	// Outcomes are the proposals' outcomes of the last attempt.
	Outcomes []Outcome
	// Files are the files committed (or, in a dry run, that would be).
	Files map[string][]byte
	// Old holds the base content of Files (nil: new file).
	Old map[string][]byte
	// Diff is the rendered change per touched unit.
	Diff []reconcile.UnitDiff
	// Markdown is the pull request body (the rendered diff).
	Markdown string
	// PullRequest is set when one was opened or updated.
	PullRequest *PullRequestResult
}

// Changes returns the changes committed.
func (r *Result) Changes() []Change {
	var out []Change
	for _, o := range r.Outcomes {
		if o.Err == nil {
			out = append(out, o.Changes...)
		}
	}
	return out
}

// ErrBranchMoved is a tracked branch that kept moving under every push
// attempt.
var ErrBranchMoved = errors.New("the branch moved under every push attempt")

// PushError is a push the remote refused for another reason than the
// branch moving (permissions, a hook, the network): nothing was written.
type PushError struct {
	Branch string
	Err    error
}

func (e *PushError) Error() string { return fmt.Sprintf("push to %s refused: %v", e.Branch, e.Err) }
func (e *PushError) Unwrap() error { return e.Err }

// Push runs a write-back: fetch the tracked branch, Prepare the proposals
// on it, commit what passed and push. A push refused because Branch moved
// (its head is no longer the commit's parent) starts a new round on the
// new head; any other refusal is a *PushError. The Result is returned also
// with an error, for what it says about the proposals.
func Push(ctx context.Context, remote Remote, proposals []Proposal, opts Options) (*Result, error) {
	if opts.Branch == "" || opts.Author.Name == "" || opts.Author.Email == "" {
		return nil, errors.New("write-back: branch and author name and email are required")
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultOptions().MaxAttempts
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tmpl, err := template.New("message").Parse(orDefault(opts.Message, DefaultMessage))
	if err != nil {
		return nil, fmt.Errorf("write-back: message template: %w", err)
	}
	target, force := opts.Branch, false
	if opts.PushBranch != "" && opts.PushBranch != opts.Branch {
		target, force = opts.PushBranch, true
	}
	res := &Result{Branch: target}
	for attempt := 1; attempt <= opts.MaxAttempts; attempt++ {
		res.Attempts = attempt
		base, err := remote.FetchBranch(ctx, opts.Branch)
		if err != nil {
			return res, fmt.Errorf("write-back: %w", err)
		}
		res.Base = base.ID
		done, err := attemptOnce(ctx, remote, base, proposals, opts, tmpl, target, force, res)
		if err != nil || done {
			return res, err
		}
		log.Info("push refused: the branch moved; re-applying on its new head", "branch", opts.Branch, "attempt", attempt)
	}
	return res, fmt.Errorf("write-back to %s: %w (%d attempts)", opts.Branch, ErrBranchMoved, opts.MaxAttempts)
}

// attemptOnce is one round; done is false when the push was refused
// because the branch moved.
func attemptOnce(ctx context.Context, remote Remote, base *reconcile.Revision, proposals []Proposal, opts Options, tmpl *template.Template, target string, force bool, res *Result) (bool, error) {
	prep, err := Prepare(ctx, base, proposals, opts.Stages, opts.TempDir)
	if err != nil {
		return true, fmt.Errorf("write-back: %w", err)
	}
	defer prep.Close()
	res.Outcomes, res.Files = prep.Outcomes, prep.Files
	res.Old = map[string][]byte{}
	for p := range prep.Files {
		if b, err := readBase(base, p); err == nil {
			res.Old[p] = b
		}
	}
	if len(prep.Files) == 0 {
		return true, nil
	}
	diffs, err := reconcile.DiffRevisions(ctx, base, prep.WorkCopy.Revision(), prep.Units, reconcile.Stages{Renderer: opts.Stages.Renderer})
	if err != nil {
		return true, fmt.Errorf("write-back: diff: %w", err)
	}
	res.Diff = diffs
	var md bytes.Buffer
	reconcile.MarkdownDiff(&md, base.ID, "", diffs)
	res.Markdown = md.String()
	if opts.DryRun {
		return true, nil
	}
	data := MessageData{Subject: Subject(prep.Outcomes), Changes: prep.Changes(), Outcomes: prep.Outcomes, Branch: target}
	var msg bytes.Buffer
	if err := tmpl.Execute(&msg, data); err != nil {
		return true, fmt.Errorf("write-back: message template: %w", err)
	}
	id, err := remote.Commit(ctx, Commit{Branch: target, Parent: base.ID, Files: prep.Files, Message: msg.String(), Author: opts.Author})
	if err != nil {
		return true, fmt.Errorf("write-back: %w", err)
	}
	if err := remote.Push(ctx, target, force); err != nil {
		if force || ctx.Err() != nil {
			return true, &PushError{Branch: target, Err: err}
		}
		// Refused because the branch moved, or for another reason: the
		// branch's head says which.
		head, ferr := remote.FetchBranch(ctx, opts.Branch)
		if ferr != nil || head.ID == base.ID {
			return true, &PushError{Branch: target, Err: err}
		}
		return false, nil
	}
	res.Commit = id
	if opts.Forge != nil && force {
		title, _, _ := strings.Cut(msg.String(), "\n")
		pr, err := opts.Forge.EnsurePullRequest(ctx, PullRequest{Head: target, Base: opts.Branch, Title: title, Body: res.Markdown})
		if err != nil {
			return true, fmt.Errorf("write-back: pull request: %w", err)
		}
		res.PullRequest = &pr
	}
	return true, nil
}

func readBase(base *reconcile.Revision, p string) ([]byte, error) {
	f, err := base.Tree.Open(path.Clean(p))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(f)
	return b.Bytes(), err
}

// Subject summarises the kept outcomes: "steward: app 1.2.0, web 2.0.1".
func Subject(outcomes []Outcome) string {
	var parts []string
	for _, o := range outcomes {
		if o.Err == nil && len(o.Changes) > 0 {
			parts = append(parts, strings.TrimSpace(o.Policy+" "+o.Detail))
		}
	}
	return "steward: " + strings.Join(parts, ", ")
}

func orDefault(s, d string) string {
	if strings.TrimSpace(s) == "" {
		return d
	}
	return s
}
