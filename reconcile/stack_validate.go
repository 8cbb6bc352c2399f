package reconcile

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"text/template"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/stewardhq/steward/reconcile/images/policy"
)

var unitName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// Validate checks the rules decoding cannot: header, unique unit names,
// references, one generator and one target kind each, dependency cycles, and
// paths that escape the repository. Every problem is reported.
func (s *Stack) Validate() error {
	var errs Errors
	fail := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{File: s.File, Pos: s.pos[field], Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if s.APIVersion != StackAPIVersion {
		fail("apiVersion", "want %q, found %q", StackAPIVersion, s.APIVersion)
	}
	if s.Kind != StackKind {
		fail("kind", "want %q, found %q", StackKind, s.Kind)
	}
	if s.Name != "" && (strings.TrimSpace(s.Name) != s.Name || strings.ContainsAny(s.Name, "\n\r\t")) {
		fail("name", "a stack name has no surrounding spaces and no line breaks")
	}
	for _, name := range sortedKeys(s.Targets) {
		s.validateTarget(name, s.Targets[name], fail)
	}
	names := map[string]int{}
	for i := range s.Units {
		u := &s.Units[i]
		at := fmt.Sprintf("units[%d]", i)
		switch {
		case u.Name == "":
			fail(at, "unit has no name")
		case !unitName.MatchString(u.Name):
			fail(at+".name", "%q is not a valid unit name (lowercase letters, digits and '-', at most 63)", u.Name)
		default:
			if first, dup := names[u.Name]; dup {
				fail(at+".name", "duplicate unit name %q (first at units[%d])", u.Name, first)
			} else {
				names[u.Name] = i
			}
		}
		s.validateUnit(at, u, fail)
	}
	for i, u := range s.Units {
		for j, dep := range u.DependsOn {
			if _, ok := names[dep]; !ok {
				fail(fmt.Sprintf("units[%d].dependsOn[%d]", i, j), "names no unit %q", dep)
			}
		}
	}
	s.validateOutputs(names, fail)
	if len(errs) == 0 {
		if cycle := s.Graph().Cycle(); cycle != nil {
			i := names[cycle[0]]
			fail(fmt.Sprintf("units[%d].dependsOn", i), "dependency cycle: %s", strings.Join(cycle, " -> "))
		}
	}
	for i, c := range s.Checks {
		at := fmt.Sprintf("checks[%d]", i)
		if c.Name == "" {
			fail(at, "check has no name")
		}
		if strings.TrimSpace(c.CEL) == "" {
			fail(at+".cel", "check has no cel expression")
		}
	}
	for i, w := range s.Windows {
		at := fmt.Sprintf("windows[%d]", i)
		if w.Kind != "allow" && w.Kind != "deny" {
			fail(at+".kind", "want allow or deny, found %q", w.Kind)
		}
		if w.Schedule == "" {
			fail(at+".schedule", "window has no schedule")
		} else if _, err := cronParser.Parse(w.Schedule); err != nil {
			fail(at+".schedule", "%v", err)
		}
		if w.TimeZone != "" {
			if _, err := time.LoadLocation(w.TimeZone); err != nil {
				fail(at+".timeZone", "unknown time zone %q", w.TimeZone)
			}
		}
		if w.Duration == 0 {
			fail(at+".duration", "window has no duration")
		}
		for j, name := range w.Units {
			if _, ok := names[name]; !ok && !s.isWaveName(name) {
				fail(fmt.Sprintf("%s.units[%d]", at, j), "names no unit %q", name)
			}
		}
	}
	if s.Images != nil {
		s.validateImages(fail)
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func (s *Stack) validateTarget(name string, t TargetSpec, fail func(string, string, ...any)) {
	at := "targets." + name
	if !unitName.MatchString(name) {
		// A target name reaches CLI lines and pull-request markdown.
		fail(at, "%q is not a valid target name (lowercase letters, digits and '-', at most 63)", name)
	}
	kinds := 0
	for _, set := range []bool{t.Kubernetes != nil, t.Machines != nil, t.Local != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		fail(at, "a target sets exactly one of kubernetes, machines, local (found %d)", kinds)
	}
	if m := t.Machines; m != nil {
		if len(m.Hosts) == 0 {
			fail(at+".machines.hosts", "no hosts")
		}
		seen := map[string]bool{}
		for i, h := range m.Hosts {
			if seen[h] {
				fail(fmt.Sprintf("%s.machines.hosts[%d]", at, i), "duplicate host %q", h)
			}
			seen[h] = true
		}
	}
	if l := t.Local; l != nil && l.Root == "" {
		fail(at+".local.root", "local target needs a root")
	}
}

func (s *Stack) validateUnit(at string, u *Unit, fail func(string, string, ...any)) {
	if u.Package != nil || u.With != nil {
		s.validatePackageUnit(at, u, fail)
	} else if u.Path == "" {
		fail(at+".path", "unit has no path")
	} else if err := CleanRepoPath(u.Path); err != nil {
		fail(at+".path", "%v", err)
	}
	if u.Output != "" {
		if err := CleanRepoPath(u.Output); err != nil {
			fail(at+".output", "%v", err)
		}
	}
	for j, p := range u.ExtraPaths {
		if err := CleanRepoPath(p); err != nil {
			fail(fmt.Sprintf("%s.extraPaths[%d]", at, j), "%v", err)
		}
	}
	if len(u.Targets) > 0 || u.Progressive != nil {
		s.validateRelease(at, u, fail)
	} else if u.Target == "" {
		fail(at+".target", "unit has no target")
	} else if _, ok := s.Targets[u.Target]; !ok {
		fail(at+".target", "names no target %q (targets: %s)", u.Target, strings.Join(sortedKeys(s.Targets), ", "))
	} else {
		s.validateUnitKind(at, u, fail)
	}
	if u.Package == nil {
		validateGenerator(at+".generator", "a unit", u.Generator, fail)
	}
	if up := u.Updater; up != nil {
		if len(up.Run) == 0 {
			fail(at+".updater", "updater needs run")
		}
		if up.Timeout < 0 {
			fail(at+".updater.timeout", "timeout %s is negative", up.Timeout.D())
		}
	}
	if h := u.Health; h != nil && (h.HTTP == nil) == (h.Command == nil) {
		fail(at+".health", "health sets exactly one of http, command")
	}
	for j, dep := range u.DependsOn {
		if dep == u.Name {
			fail(fmt.Sprintf("%s.dependsOn[%d]", at, j), "unit depends on itself")
		}
	}
}

// validateGenerator checks that g (at field at, of what) sets exactly one
// generator and what that generator needs.
func validateGenerator(at, what string, g GeneratorSpec, fail func(string, string, ...any)) {
	set := 0
	for _, ok := range []bool{g.YAML != nil, g.Kustomize != nil, g.Helm != nil, g.Jsonnet != nil, g.Command != nil} {
		if ok {
			set++
		}
	}
	if set != 1 {
		fail(at, "%s sets exactly one generator of yaml, kustomize, helm, jsonnet, command (found %d)", what, set)
	}
	if g.Jsonnet != nil && g.Jsonnet.File == "" {
		fail(at+".jsonnet.file", "jsonnet generator needs a file")
	}
	if g.Command != nil && len(g.Command.Run) == 0 {
		fail(at+".command.run", "command generator needs run")
	}
}

// validateImages checks images: every policy compiles (range, channel,
// order, filter regex, extract naming a group), names are unique, images
// are repositories, and the update section is complete.
func (s *Stack) validateImages(fail func(string, string, ...any)) {
	im := s.Images
	for i, host := range im.InsecureRegistries {
		if host == "" || strings.ContainsAny(host, "/ ") {
			fail(fmt.Sprintf("images.insecureRegistries[%d]", i), "want host or host:port, found %q", host)
		}
	}
	if im.Schedule != "" {
		if im.Interval != 0 {
			fail("images.schedule", "set interval or schedule, not both")
		}
		if _, err := cronParser.Parse(im.Schedule); err != nil {
			fail("images.schedule", "%v", err)
		}
	}
	names := map[string]int{}
	for i, p := range im.Policies {
		at := fmt.Sprintf("images.policies[%d]", i)
		switch {
		case p.Name == "":
			fail(at, "policy has no name")
		case !unitName.MatchString(p.Name):
			fail(at+".name", "%q is not a valid policy name (lowercase letters, digits and '-', at most 63)", p.Name)
		default:
			if first, dup := names[p.Name]; dup {
				fail(at+".name", "duplicate policy name %q (first at images.policies[%d])", p.Name, first)
			} else {
				names[p.Name] = i
			}
		}
		if p.Image == "" {
			fail(at+".image", "policy has no image")
		} else if _, err := name.NewRepository(p.Image); err != nil {
			fail(at+".image", "%q is not an image repository (no tag or digest): %v", p.Image, err)
		}
		if _, err := policy.Compile(PolicySpec(p)); err != nil {
			var pe *policy.Error
			if !errors.As(err, &pe) {
				fail(at, "%v", err)
			} else if pe.Field == "" {
				fail(at, "%s", pe.Msg)
			} else {
				fail(at+"."+pe.Field, "%s", pe.Msg)
			}
		}
		if p.Filter != nil && p.Filter.Pattern == "" && p.Filter.Extract == "" {
			fail(at+".filter.pattern", "filter needs a pattern")
		}
		if p.Digest != "" && p.Digest != "pin" {
			fail(at+".digest", "want pin, found %q", p.Digest)
		}
	}
	if u := im.Update; u != nil {
		if u.Message != "" {
			if _, err := template.New("message").Parse(u.Message); err != nil {
				fail("images.update.message", "bad template: %v", err)
			}
		}
		if a := u.Author; a != nil && (a.Name == "" || a.Email == "") {
			fail("images.update.author", "author needs name and email")
		}
		if pr := u.PullRequest; pr != nil {
			switch pr.Provider {
			case "github", "gitlab", "gitea":
			default:
				fail("images.update.pullRequest.provider", "want github, gitlab or gitea, found %q", pr.Provider)
			}
			if pr.Repo == "" {
				fail("images.update.pullRequest.repo", "pull request needs repo")
			}
			if u.PushBranch == "" || u.PushBranch == u.Branch {
				fail("images.update.pushBranch", "a pull request needs a pushBranch other than branch")
			}
		}
	}
}

// PolicySpec is the part of an image policy that chooses among tags.
func PolicySpec(p ImagePolicy) policy.Spec {
	s := policy.Spec{Semver: p.Semver, Channel: p.Channel, Alphabetical: p.Alphabetical, Numerical: p.Numerical}
	if p.Filter != nil {
		s.FilterPattern, s.FilterExtract = p.Filter.Pattern, p.Filter.Extract
	}
	return s
}

// CleanRepoPath refuses a path that is absolute or leaves the repository
// through "..". Symlinks are checked by CheckPaths.
func CleanRepoPath(p string) error {
	if path.IsAbs(p) || strings.HasPrefix(p, `\`) || (len(p) > 1 && p[1] == ':') {
		return fmt.Errorf("path %q is absolute; paths are relative to the repository root", p)
	}
	if c := path.Clean(p); c == ".." || strings.HasPrefix(c, "../") {
		return fmt.Errorf("path %q escapes the repository", p)
	}
	return nil
}

// CheckPaths refuses unit paths and outputs that reach outside the
// repository through a symlink in tree. A path that does not exist is not an
// error here (the generator reports it).
func (s *Stack) CheckPaths(tree fs.FS) error {
	var errs Errors
	for k, u := range s.Units {
		i, first := s.fileIndex(k)
		if !first {
			continue // another wave of the same entry: checked once
		}
		check := func(field, p string) {
			if err := ResolveInTree(tree, p); err != nil {
				errs = append(errs, &FieldError{File: s.File, Pos: s.pos[field], Field: field, Msg: err.Error()})
			}
		}
		check(fmt.Sprintf("units[%d].path", i), u.Path)
		if u.Output != "" {
			check(fmt.Sprintf("units[%d].output", i), u.Output)
		}
		for j, p := range u.ExtraPaths {
			check(fmt.Sprintf("units[%d].extraPaths[%d]", i, j), p)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// maxLinks bounds symlink resolution.
const maxLinks = 40

// ResolveInTree follows p through tree component by component and fails if a
// symlink leads outside the tree. It needs tree to implement fs.ReadLinkFS to
// see symlinks; other trees are checked lexically only.
func ResolveInTree(tree fs.FS, p string) error {
	if err := CleanRepoPath(p); err != nil {
		return err
	}
	rl, ok := tree.(fs.ReadLinkFS)
	if !ok {
		return nil
	}
	pending := strings.Split(path.Clean(p), "/")
	cur := "."
	links := 0
	for len(pending) > 0 {
		part := pending[0]
		pending = pending[1:]
		if part == "." || part == "" {
			continue
		}
		if part == ".." {
			if cur == "." {
				return fmt.Errorf("path %q escapes the repository", p)
			}
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, part)
		info, err := rl.Lstat(next)
		if err != nil {
			return nil // missing: the generator will say so
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		links++
		if links > maxLinks {
			return fmt.Errorf("path %q: too many symlinks", p)
		}
		target, err := rl.ReadLink(next)
		if err != nil {
			return fmt.Errorf("path %q: %w", p, err)
		}
		if path.IsAbs(target) {
			return fmt.Errorf("path %q leaves the repository through symlink %s -> %s", p, next, target)
		}
		joined := path.Join(cur, target)
		if joined == ".." || strings.HasPrefix(joined, "../") {
			return fmt.Errorf("path %q leaves the repository through symlink %s -> %s", p, next, target)
		}
		pending = append(strings.Split(target, "/"), pending...)
	}
	return nil
}
