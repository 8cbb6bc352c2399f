package writeback

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/stewardhq/steward/reconcile"
)

// Change is one edit a proposal made, as data: the commit message, the
// CLI, status and notifications are derived from it.
type Change struct {
	// Unit is the unit whose files hold the edit ("" when none does).
	Unit string
	File string
	Line int
	// Old and New are the edited value before and after.
	Old, New string
	// Policy is what asked for it: an image policy, or a package.
	Policy string
	// Skipped says why the edit was not made (a human changed the same
	// line since steward planned it: the human edit wins).
	Skipped string
}

// Proposal is one independent change to the repository.
type Proposal struct {
	// Policy names what asks for the change (an image policy, a package).
	Policy string
	// Detail is what it moves to (a tag, a version), for messages.
	Detail string
	// Apply edits the work copy and returns what it changed. It is called
	// again on a new head when a push is refused, and must then leave a
	// value a human changed meanwhile alone (a Change with Skipped set).
	Apply func(ctx context.Context, wc *WorkCopy) ([]Change, error)
}

// Outcome is what became of one proposal.
type Outcome struct {
	Policy, Detail string
	// Changes were made and verified (and are committed with the rest).
	Changes []Change
	// Skipped are edits not made because a human edit of the same value
	// won.
	Skipped []Change
	// Units were generated and checked for it.
	Units []string
	// NotChecked names, one line each, the units it touched that read SOPS
	// files no key opened (a write-back without keys, as in CI) and those
	// files: they generated from ciphertext, so nothing about them was
	// checked and their committed output was left as it was.
	NotChecked []string
	// Err is why the proposal was dropped: its edit failed, or a unit it
	// touched failed to generate or to pass the checks (every problem, as
	// reconcile.Errors). Nothing of it is committed.
	Err error
}

// Dropped reports whether the proposal was refused.
func (o Outcome) Dropped() bool { return o.Err != nil }

// Prepared is a work copy holding every proposal that passed.
type Prepared struct {
	WorkCopy *WorkCopy
	Outcomes []Outcome
	// Files are the changed files (nil: removed), committed outputs
	// included.
	Files map[string][]byte
	// Units are the units any kept proposal touched, in stack order.
	Units []string
}

// Changes returns the changes made, in proposal order.
func (p *Prepared) Changes() []Change {
	var out []Change
	for _, o := range p.Outcomes {
		if o.Err == nil {
			out = append(out, o.Changes...)
		}
	}
	return out
}

// Close removes the work copy.
func (p *Prepared) Close() error { return p.WorkCopy.Close() }

// Prepare copies base to a work copy under tmp and applies the proposals
// in order. After each, the units whose files it changed are generated and
// checked through st exactly as `steward verify` does (reconcile.Generate),
// and their committed output: is rewritten from what generated. A proposal
// that fails any of that is undone and reported; the next one starts from
// what passed. The caller closes the result.
func Prepare(ctx context.Context, base *reconcile.Revision, proposals []Proposal, st reconcile.Stages, tmp string) (*Prepared, error) {
	stack, err := reconcile.LoadStack(base.Tree)
	if err != nil {
		return nil, fmt.Errorf("revision %s: %w", reconcile.ShortRevision(base.ID, reconcile.RevisionWidth), err)
	}
	wc, err := NewWorkCopy(ctx, base, tmp)
	if err != nil {
		return nil, err
	}
	p := &Prepared{WorkCopy: wc, Files: map[string][]byte{}}
	for _, prop := range proposals {
		if err := ctx.Err(); err != nil {
			wc.Close()
			return nil, err
		}
		o, err := p.apply(ctx, stack, prop, st)
		if err != nil { // the work copy itself failed
			wc.Close()
			return nil, err
		}
		p.Outcomes = append(p.Outcomes, o)
	}
	return p, nil
}

// apply runs one proposal; the error is only the work copy's own.
func (p *Prepared) apply(ctx context.Context, stack *reconcile.Stack, prop Proposal, st reconcile.Stages) (Outcome, error) {
	o := Outcome{Policy: prop.Policy, Detail: prop.Detail}
	changes, err := prop.Apply(ctx, p.WorkCopy)
	for _, c := range changes {
		if c.Skipped != "" {
			o.Skipped = append(o.Skipped, c)
		} else {
			o.Changes = append(o.Changes, c)
		}
	}
	if err == nil {
		err = p.verify(ctx, stack, &o, st)
	}
	if err != nil {
		o.Err = err
		o.Changes = nil
		return o, p.WorkCopy.restore(p.Files)
	}
	return o, nil
}

// verify generates and checks the units the work copy's new changes touch
// and refreshes their committed output; on success the changes join
// p.Files.
func (p *Prepared) verify(ctx context.Context, stack *reconcile.Stack, o *Outcome, st reconcile.Stages) error {
	now, err := p.WorkCopy.Changed()
	if err != nil {
		return err
	}
	var touched []string
	for f, b := range now {
		if old, ok := p.Files[f]; !ok || !bytes.Equal(old, b) || (old == nil) != (b == nil) {
			touched = append(touched, f)
		}
	}
	for f := range p.Files {
		if _, ok := now[f]; !ok {
			touched = append(touched, f)
		}
	}
	sort.Strings(touched)
	if len(touched) == 0 {
		return nil
	}
	if slices.Contains(touched, reconcile.StackFile) {
		if stack, err = reconcile.LoadStack(p.WorkCopy.Root.FS()); err != nil {
			return err
		}
	}
	o.Units = Affected(stack, touched)
	if len(o.Units) > 0 {
		gen, err := reconcile.Generate(ctx, p.WorkCopy.Revision(), o.Units, st)
		if err != nil {
			return err
		}
		if err := gen.Err(); err != nil {
			return err
		}
		o.NotChecked = gen.NotChecked
		for _, r := range gen.Units {
			if r.Unit.Output == "" || len(r.Undecrypted) > 0 {
				continue
			}
			files, err := reconcile.OutputFiles(r.OutputObjects())
			if err != nil {
				return fmt.Errorf("unit %s: output: %w", r.Unit.Name, err)
			}
			if err := reconcile.WriteOutput(p.WorkCopy.Root, r.Unit.Output, files); err != nil {
				return fmt.Errorf("unit %s: %w", r.Unit.Name, err)
			}
		}
		if now, err = p.WorkCopy.Changed(); err != nil {
			return err
		}
	}
	p.Files = now
	for _, u := range o.Units {
		if !slices.Contains(p.Units, u) {
			p.Units = append(p.Units, u)
		}
	}
	var ordered []string
	for _, u := range stack.Units {
		if slices.Contains(p.Units, u.Name) {
			ordered = append(ordered, u.Name)
		}
	}
	p.Units = ordered
	return nil
}
