package images

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/writeback"
)

// Proposals turns a scan's choices into write-back proposals, one per
// policy that chose a tag, in the order of choices. Each sets the policy's
// markers in the work copy (Plan's rules: only the marked scalar changes,
// :digest only when the policy pins) and then runs the updater of every
// unit that has one (with run set, see Updater).
//
// A proposal remembers the value each marker held when it first applied;
// applied again on a newer head (a push refused because the branch moved),
// a marker whose value a human changed meanwhile to something else is left
// alone and reported as skipped: the human edit wins.
func Proposals(choices []Choice, run Updater) []writeback.Proposal {
	var out []writeback.Proposal
	for _, c := range choices {
		if c.Err != nil || c.Tag == "" {
			continue
		}
		detail := c.Tag
		if c.Ref.Digest != "" {
			detail += "@" + c.Ref.Digest
		}
		p := &proposal{choice: c, first: map[string]string{}, run: run}
		out = append(out, writeback.Proposal{Policy: c.Policy, Detail: detail, Apply: p.apply})
	}
	return out
}

// Updater runs a unit's updater program in the work copy for a choice;
// cmd wires generators/command's runner. nil runs none.
type Updater func(ctx context.Context, wc *writeback.WorkCopy, u *reconcile.Unit, c Choice) error

type proposal struct {
	choice Choice
	first  map[string]string // marker key -> the value seen when first applied
	run    Updater
}

func (p *proposal) apply(ctx context.Context, wc *writeback.WorkCopy) ([]writeback.Change, error) {
	tree := wc.Root.FS()
	stack, err := reconcile.LoadStack(tree)
	if err != nil {
		return nil, err
	}
	markers, _, err := FindInTree(tree, MarkerDirs(stack))
	if err != nil {
		return nil, err
	}
	var files []string
	for _, m := range markers {
		if m.Policy == p.choice.Policy && (len(files) == 0 || files[len(files)-1] != m.File) {
			files = append(files, m.File)
		}
	}
	var changes []writeback.Change
	var edits []FileEdit
	for _, f := range files {
		old, err := fs.ReadFile(tree, f)
		if err != nil {
			return nil, err
		}
		e, skipped := p.rewrite(f, old)
		for _, s := range skipped {
			changes = append(changes, change(stack, s, fmt.Sprintf("%s:%d was changed to %q since steward planned %q: the human edit wins", s.File, s.Line, s.Old, s.New)))
		}
		if e != nil {
			edits = append(edits, *e)
			for _, c := range e.Changes {
				changes = append(changes, change(stack, c, ""))
			}
		}
	}
	if err := Write(wc.Root, edits); err != nil {
		return nil, err
	}
	if p.run != nil {
		for i := range stack.Units {
			u := &stack.Units[i]
			if u.Updater == nil || len(u.Updater.Run) == 0 {
				continue
			}
			before, err := wc.Changed()
			if err != nil {
				return nil, err
			}
			if err := p.run(ctx, wc, u, p.choice); err != nil {
				return nil, fmt.Errorf("unit %s: updater: %w", u.Name, err)
			}
			after, err := wc.Changed()
			if err != nil {
				return nil, err
			}
			changes = append(changes, updaterChanges(u.Name, p.choice.Policy, before, after)...)
		}
	}
	return changes, nil
}

// rewrite sets the policy's markers of one file, skipping those a human
// changed since the first application.
func (p *proposal) rewrite(file string, data []byte) (*FileEdit, []Change) {
	c := p.choice
	seen := map[Field]int{}
	var skipped []Change
	out, changes, _ := Rewrite(file, data, func(m Marker) (string, bool) {
		if m.Policy != c.Policy {
			return "", false
		}
		key := fmt.Sprintf("%s\x00%d\x00%d", m.File, m.Field, seen[m.Field])
		seen[m.Field]++
		if m.Field == FieldDigest && c.Ref.Digest == "" {
			return "", false
		}
		v := c.Ref.Value(m.Field)
		if was, ok := p.first[key]; ok && m.Value != was && m.Value != v {
			skipped = append(skipped, Change{File: m.File, Line: m.Line, Policy: m.Policy, Field: m.Field, Old: m.Value, New: v})
			return "", false
		}
		if _, ok := p.first[key]; !ok {
			p.first[key] = m.Value
		}
		return v, true
	})
	if len(changes) == 0 {
		return nil, skipped
	}
	return &FileEdit{Path: file, Old: data, New: out, Changes: changes}, skipped
}

func change(stack *reconcile.Stack, c Change, skipped string) writeback.Change {
	return writeback.Change{
		Unit: strings.Join(writeback.Affected(stack, []string{c.File}), ","),
		File: c.File, Line: c.Line, Old: c.Old, New: c.New, Policy: c.Policy, Skipped: skipped,
	}
}

// updaterChanges lists the files an updater changed, one Change each
// (no line: the program edits as it likes).
func updaterChanges(unit, policy string, before, after map[string][]byte) []writeback.Change {
	var out []writeback.Change
	for f, b := range after {
		if old, ok := before[f]; !ok || string(old) != string(b) {
			out = append(out, writeback.Change{Unit: unit, File: f, Policy: policy, New: "edited by the updater of " + unit})
		}
	}
	for f := range before {
		if _, ok := after[f]; !ok {
			out = append(out, writeback.Change{Unit: unit, File: f, Policy: policy, New: "removed by the updater of " + unit})
		}
	}
	slices.SortFunc(out, func(a, b writeback.Change) int { return strings.Compare(a.File, b.File) })
	return out
}

// UpdaterEnv is the environment a unit's updater program gets for a
// choice: STEWARD_POLICY, STEWARD_IMAGE, STEWARD_TAG, STEWARD_DIGEST
// (when the scan read it: digest pinning or minAge) and STEWARD_UNIT.
func UpdaterEnv(u *reconcile.Unit, c Choice) map[string]string {
	return map[string]string{
		"STEWARD_POLICY": c.Policy,
		"STEWARD_IMAGE":  c.Image,
		"STEWARD_TAG":    c.Tag,
		"STEWARD_DIGEST": c.Digest,
		"STEWARD_UNIT":   u.Name,
	}
}
