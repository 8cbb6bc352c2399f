package reconcile

import (
	"fmt"
	"net/url"
	"path"
	"strings"
)

// Identity returns the stack's identity, recorded in every inventory it
// writes: its name: when set, else the default SetDefaultIdentity gave it
// (its repository URL and path), else "".
func (s *Stack) Identity() string {
	if s.Name != "" {
		return s.Name
	}
	return s.defaultName
}

// SetDefaultIdentity sets the identity of a stack whose file sets no name,
// and hands the identity to its units (Unit.StackName).
func (s *Stack) SetDefaultIdentity(id string) {
	s.defaultName = id
	for i := range s.Units {
		s.Units[i].stack = s.Identity()
	}
}

// StackName is the identity of the stack the unit belongs to ("" when the
// stack has none): targets record it in the unit's inventory and refuse an
// inventory another stack wrote.
func (u *Unit) StackName() string { return u.stack }

// StackIdentity is the default identity of a stack: the repository URL
// without credentials, and the stack's directory in it when that is not the
// root ("https://git.example.com/ops/shop.git//clusters/prod").
func StackIdentity(repoURL, dir string) string {
	id := Redact(repoURL)
	if d := path.Clean(strings.TrimPrefix(dir, "/")); d != "." && d != "" {
		id += "//" + d
	}
	return id
}

// StackCollisionError is a unit's inventory on a target written by another
// stack: two stacks declare a unit of the same name there. The inventory
// is left as it is.
type StackCollisionError struct {
	Target string // the target's name, or a host of it
	Unit   string
	Owner  string // the stack that wrote the inventory
	Stack  string // the stack asking
}

func (e *StackCollisionError) Error() string {
	return fmt.Sprintf("unit %s on %s: the inventory belongs to stack %q, not to this stack %q; two stacks may not have a unit of the same name on one target (rename the unit or give the stack another name:)",
		e.Unit, e.Target, e.Owner, e.Stack)
}

// CheckInventoryOwner returns a *StackCollisionError when an inventory
// recorded as owner's may not be used by stack. An inventory that records no
// stack (written before stacks had an identity) is adopted by the first
// stack that applies the unit. Two default identities of one repository
// reached two ways (an https clone and an ssh origin) are the same stack.
func CheckInventoryOwner(target, unit, owner, stack string) error {
	if owner == "" || SameStack(owner, stack) {
		return nil
	}
	return &StackCollisionError{Target: target, Unit: unit, Owner: owner, Stack: stack}
}

// SameStack reports whether two stack identities name one stack. Names
// compare as written; default identities (a repository URL and a path)
// compare by host, repository path and stack path, whatever the scheme, user,
// default port, letter case of the host and a trailing ".git":
// "git@git.example.com:ops/shop.git//prod" and
// "https://git.example.com/ops/shop//prod" are one stack.
func SameStack(a, b string) bool {
	if a == b {
		return true
	}
	ca, okA := canonicalIdentity(a)
	cb, okB := canonicalIdentity(b)
	return okA && okB && ca == cb
}

// canonicalIdentity is host/repository//dir of a default identity, false
// for a name or a local (file://) repository.
func canonicalIdentity(id string) (string, bool) {
	repo, dir := id, ""
	rest := id
	if i := strings.Index(id, "://"); i >= 0 {
		rest = id[i+3:]
	}
	if j := strings.Index(rest, "//"); j >= 0 {
		cut := len(id) - len(rest) + j
		repo, dir = id[:cut], id[cut+2:]
	}
	var host, p string
	switch {
	case strings.Contains(repo, "://"):
		u, err := url.Parse(repo)
		if err != nil || u.Host == "" || u.Scheme == "file" {
			return "", false
		}
		host, p = u.Hostname(), u.Path
		if port := u.Port(); port != "" && port != defaultPorts[u.Scheme] {
			host += ":" + port
		}
	default: // scp-like: [user@]host:path
		at := strings.LastIndex(repo, "@")
		colon := strings.Index(repo, ":")
		if colon <= at+1 || strings.ContainsAny(repo[:colon], "/ ") {
			return "", false
		}
		host, p = repo[at+1:colon], repo[colon+1:]
	}
	p = strings.TrimSuffix(strings.Trim(p, "/"), ".git")
	if p == "" {
		return "", false
	}
	return strings.ToLower(host) + "/" + p + "//" + dir, true
}

var defaultPorts = map[string]string{"https": "443", "http": "80", "ssh": "22", "git": "9418"}
