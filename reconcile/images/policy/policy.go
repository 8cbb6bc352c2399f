package policy

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Spec is a policy as the stack file writes it. Exactly one order is set:
// Semver or Channel (either or both: semver order), Alphabetical, or
// Numerical. Filter narrows the tags any order sees.
type Spec struct {
	Semver        string // a range: ">=1.2.0 <2"
	Channel       string // stable, candidate, beta, edge
	Alphabetical  string // asc or desc
	Numerical     string // asc or desc
	FilterPattern string // a regular expression a tag must match
	FilterExtract string // a template over the pattern's groups: "$ts"
}

// Error is a problem with one field of a Spec, named as the stack file
// names it ("semver", "filter.extract").
type Error struct {
	Field string
	Msg   string
}

func (e *Error) Error() string { return e.Field + ": " + e.Msg }

// order is how a policy ranks tags.
type order int

const (
	orderSemver order = iota
	orderAlphabetical
	orderNumerical
)

// Policy is a compiled Spec.
type Policy struct {
	order      order
	asc        bool // alphabetical/numerical: the greatest wins
	constraint *semver.Constraints
	channel    Channel
	hasChannel bool
	pattern    *regexp.Regexp
	extract    string
}

// Compile checks and compiles s. Every problem is an *Error; the first
// found is returned.
func Compile(s Spec) (*Policy, error) {
	p := &Policy{}
	orders := 0
	if s.Semver != "" || s.Channel != "" {
		orders++
		p.order = orderSemver
	}
	if s.Semver != "" {
		c, err := semver.NewConstraint(s.Semver)
		if err != nil {
			return nil, &Error{"semver", fmt.Sprintf("bad range %q: %v", s.Semver, err)}
		}
		p.constraint = c
	}
	if s.Channel != "" {
		c, err := ParseChannel(s.Channel)
		if err != nil {
			return nil, &Error{"channel", err.Error()}
		}
		p.channel, p.hasChannel = c, true
	}
	for _, o := range []struct {
		field, value string
		order        order
	}{{"alphabetical", s.Alphabetical, orderAlphabetical}, {"numerical", s.Numerical, orderNumerical}} {
		if o.value == "" {
			continue
		}
		orders++
		if o.value != "asc" && o.value != "desc" {
			return nil, &Error{o.field, fmt.Sprintf("want asc or desc, found %q", o.value)}
		}
		p.order, p.asc = o.order, o.value == "asc"
	}
	switch {
	case orders == 0:
		return nil, &Error{"", "a policy sets one order: semver or channel, alphabetical, numerical"}
	case orders > 1:
		return nil, &Error{"", "a policy sets one order: semver or channel, alphabetical, numerical (found several)"}
	}
	if s.FilterPattern == "" && s.FilterExtract != "" {
		return nil, &Error{"filter.pattern", "extract needs a pattern"}
	}
	if s.FilterPattern != "" {
		re, err := regexp.Compile(s.FilterPattern)
		if err != nil {
			return nil, &Error{"filter.pattern", fmt.Sprintf("bad regular expression: %v", err)}
		}
		if err := checkExtract(re, s.FilterExtract); err != nil {
			return nil, &Error{"filter.extract", err.Error()}
		}
		p.pattern, p.extract = re, s.FilterExtract
	}
	return p, nil
}

// checkExtract refuses a template that names a group the pattern lacks, or
// names none at all (every tag would extract to the same value).
func checkExtract(re *regexp.Regexp, tmpl string) error {
	if tmpl == "" {
		return nil
	}
	refs := templateRefs(tmpl)
	if len(refs) == 0 {
		return fmt.Errorf("%q names no group of the pattern", tmpl)
	}
	for _, r := range refs {
		if n, err := strconv.Atoi(r); err == nil {
			if n > re.NumSubexp() {
				return fmt.Errorf("%q names group %d; the pattern has %d", tmpl, n, re.NumSubexp())
			}
			continue
		}
		if re.SubexpIndex(r) < 0 {
			names := slices.DeleteFunc(slices.Clone(re.SubexpNames()), func(s string) bool { return s == "" })
			return fmt.Errorf("%q names no group %q of the pattern (groups: %s)", tmpl, r, strings.Join(names, ", "))
		}
	}
	return nil
}

// templateRefs lists the group references of a regexp.Expand template:
// $name (the longest run of letters, digits and _), ${name}; $$ is a
// literal dollar.
func templateRefs(tmpl string) []string {
	var refs []string
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] != '$' || i+1 >= len(tmpl) {
			continue
		}
		rest := tmpl[i+1:]
		switch {
		case rest[0] == '$':
			i++
		case rest[0] == '{':
			if end := strings.IndexByte(rest, '}'); end > 1 {
				refs = append(refs, rest[1:end])
				i += end + 1
			}
		default:
			n := 0
			for n < len(rest) && (rest[n] == '_' || rest[n] >= '0' && rest[n] <= '9' || rest[n] >= 'a' && rest[n] <= 'z' || rest[n] >= 'A' && rest[n] <= 'Z') {
				n++
			}
			if n > 0 {
				refs = append(refs, rest[:n])
				i += n
			}
		}
	}
	return refs
}

// candidate is one admitted tag with the value the order ranks.
type candidate struct {
	tag string
	ver *semver.Version
	num float64
	key string
}

// Rank returns the tags p admits, best first. Ties (two tags that extract
// to one value, "1.2" and "1.2.0") are broken by the tag, greatest first, so
// the result does not depend on the registry's order.
func (p *Policy) Rank(tags []string) []string {
	cands := make([]candidate, 0, len(tags))
	for _, tag := range tags {
		if c, ok := p.admit(tag); ok {
			cands = append(cands, c)
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		var r int
		switch p.order {
		case orderSemver:
			r = b.ver.Compare(a.ver)
		case orderNumerical:
			r = cmp.Compare(b.num, a.num)
		default:
			r = strings.Compare(b.key, a.key)
		}
		if p.order != orderSemver && !p.asc {
			r = -r
		}
		if r == 0 {
			r = strings.Compare(b.tag, a.tag)
		}
		return r
	})
	out := make([]string, len(cands))
	for i, c := range cands {
		out[i] = c.tag
	}
	return out
}

// Latest is the first of Rank, or false when no tag is admitted.
func (p *Policy) Latest(tags []string) (string, bool) {
	r := p.Rank(tags)
	if len(r) == 0 {
		return "", false
	}
	return r[0], true
}

// admit applies the filter, then the order's own test.
func (p *Policy) admit(tag string) (candidate, bool) {
	key := tag
	if p.pattern != nil {
		m := p.pattern.FindStringSubmatchIndex(tag)
		if m == nil {
			return candidate{}, false
		}
		if p.extract != "" {
			key = string(p.pattern.ExpandString(nil, p.extract, tag, m))
		}
	}
	c := candidate{tag: tag, key: key}
	switch p.order {
	case orderSemver:
		v, err := semver.NewVersion(key)
		if err != nil {
			return c, false
		}
		if !p.admitVersion(v) {
			return c, false
		}
		c.ver = v
	case orderNumerical:
		n, err := strconv.ParseFloat(key, 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return c, false
		}
		c.num = n
	}
	return c, true
}

func (p *Policy) admitVersion(v *semver.Version) bool {
	if !p.hasChannel {
		return p.constraint == nil || p.constraint.Check(v)
	}
	if !p.channel.Admits(v.Prerelease()) {
		return false
	}
	if p.constraint == nil {
		return true
	}
	// The channel decides about the pre-release; the range is checked on
	// the release the version leads to.
	release, err := v.SetPrerelease("")
	if err != nil {
		return false
	}
	return p.constraint.Check(&release)
}
