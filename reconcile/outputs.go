package reconcile

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Unit outputs are values steward records after a unit applied
// successfully: a JSONPath into a live object, a host fact, the stdout of a
// read-only probe, a literal or a random value generated once. They are
// stored with the unit's inventory on its target (steward keeps no local
// state) and consumed by the units that depend on it through inputs.

// OutputSpec declares one output; exactly one source is set.
type OutputSpec struct {
	Fact      string          `yaml:"fact,omitempty" doc:"Machines: a host fact (address, addresses, hostname, os, arch, distro, ...), read from the target's first host."`
	Probe     []string        `yaml:"probe,omitempty" doc:"Machines: argv of a read-only command on the target's first host; its trimmed stdout is the value."`
	JSONPath  *JSONPathOutput `yaml:"jsonPath,omitempty" doc:"Kubernetes: a JSONPath into a live object the unit applied."`
	Value     *string         `yaml:"value,omitempty" doc:"A literal."`
	Random    *RandomOutput   `yaml:"random,omitempty" doc:"A random value generated once and kept."`
	Sensitive bool            `yaml:"sensitive,omitempty" doc:"Never show the value (a Secret's key and a random value always are)."`
	Example   *string         `yaml:"example,omitempty" doc:"The value offline generation (verify, build, diff --base) uses, marked as an example."`
	Timeout   Duration        `yaml:"timeout,omitempty" doc:"Bound on a probe (default 10s)."`
}

// JSONPathOutput points into a live object the unit applied.
type JSONPathOutput struct {
	Object    string `yaml:"object" doc:"Kind/name, or group/Kind/name; a namespaced object is in namespace, else the unit's, else its target's."`
	Namespace string `yaml:"namespace,omitempty" doc:"Namespace of the object (default the unit's)."`
	Path      string `yaml:"path" doc:"JSONPath such as .spec.clusterIP or {.status.loadBalancer.ingress[0].ip}."`
}

// RandomOutput is a random value over [A-Za-z0-9].
type RandomOutput struct {
	Length int `yaml:"length" doc:"Characters (8 to 4096)."`
}

// Kind names the output's source: fact, probe, jsonPath, value or random.
func (o OutputSpec) Kind() string {
	switch {
	case o.Fact != "":
		return "fact"
	case len(o.Probe) > 0:
		return "probe"
	case o.JSONPath != nil:
		return "jsonPath"
	case o.Value != nil:
		return "value"
	case o.Random != nil:
		return "random"
	}
	return ""
}

// IsSensitive reports whether the value is never shown: declared so, a
// random value, or a JSONPath into a Secret.
func (o OutputSpec) IsSensitive() bool {
	if o.Sensitive || o.Random != nil {
		return true
	}
	if o.JSONPath != nil {
		kind, _, _ := o.JSONPath.Parts()
		return kind == "Secret" || strings.HasSuffix(kind, "/Secret")
	}
	return false
}

// Parts splits Object into [group/]Kind, name and reports whether it is
// well formed.
func (j *JSONPathOutput) Parts() (kind, name string, ok bool) {
	i := strings.LastIndex(j.Object, "/")
	if i <= 0 || i == len(j.Object)-1 {
		return "", "", false
	}
	return j.Object[:i], j.Object[i+1:], true
}

var outputName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,62}$`)

// InputRef is an input's source: the output Output of unit Unit.
type InputRef struct {
	Unit, Output string
}

func (r InputRef) String() string { return r.Unit + "." + r.Output }

// ParseInputRef splits "unit.output".
func ParseInputRef(s string) (InputRef, bool) {
	u, o, ok := strings.Cut(s, ".")
	if !ok || u == "" || o == "" {
		return InputRef{}, false
	}
	return InputRef{Unit: u, Output: o}, true
}

// InputRefs returns u's inputs by name, sorted by name.
func (u *Unit) InputNames() []string {
	names := make([]string, 0, len(u.Inputs))
	for n := range u.Inputs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// validateOutputs checks outputs and inputs: names, one source each, and
// that every input names an output of a unit this one depends on, directly
// or through other units (the reconciler applies transitive dependencies
// first, so their outputs exist). A unit consuming its own output is a
// cycle; cycles through several units are dependency cycles and reported as
// such.
func (s *Stack) validateOutputs(names map[string]int, fail func(string, string, ...any)) {
	g := s.Graph()
	for i := range s.Units {
		u := &s.Units[i]
		at := fmt.Sprintf("units[%d]", i)
		for _, name := range sortedKeys(u.Outputs) {
			o := u.Outputs[name]
			oat := at + ".outputs." + name
			if !outputName.MatchString(name) {
				fail(oat, "%q is not a valid output name (a letter, then letters, digits or '_')", name)
			}
			n := 0
			for _, set := range []bool{o.Fact != "", len(o.Probe) > 0, o.JSONPath != nil, o.Value != nil, o.Random != nil} {
				if set {
					n++
				}
			}
			if n != 1 {
				fail(oat, "an output sets exactly one of fact, probe, jsonPath, value, random (found %d)", n)
				continue
			}
			target := s.Targets[u.Target]
			machine := target.Machines != nil || target.Local != nil
			switch {
			case (o.Fact != "" || len(o.Probe) > 0) && target.Kubernetes != nil:
				fail(oat, "%s outputs need a machines or local target; %s is kubernetes", o.Kind(), u.Target)
			case o.JSONPath != nil && machine:
				fail(oat, "jsonPath outputs need a kubernetes target; %s is not", u.Target)
			}
			if j := o.JSONPath; j != nil {
				if _, _, ok := j.Parts(); !ok {
					fail(oat+".jsonPath.object", "want Kind/name or group/Kind/name, found %q", j.Object)
				}
				if strings.TrimSpace(j.Path) == "" {
					fail(oat+".jsonPath.path", "jsonPath output needs a path")
				} else if _, err := ParseJSONPath(j.Path); err != nil {
					fail(oat+".jsonPath.path", "%v", err)
				}
			}
			if r := o.Random; r != nil && (r.Length < 8 || r.Length > 4096) {
				fail(oat+".random.length", "want 8 to 4096, found %d", r.Length)
			}
			if o.Timeout != 0 && len(o.Probe) == 0 {
				fail(oat+".timeout", "timeout applies to probe outputs only")
			}
		}
		for _, in := range u.InputNames() {
			iat := at + ".inputs." + in
			if !outputName.MatchString(in) {
				fail(iat, "%q is not a valid input name (a letter, then letters, digits or '_')", in)
			}
			ref, ok := ParseInputRef(u.Inputs[in])
			if !ok {
				fail(iat, "want unit.output, found %q", u.Inputs[in])
				continue
			}
			j, ok := names[ref.Unit]
			switch {
			case !ok:
				fail(iat, "names no unit %q", ref.Unit)
				continue
			case ref.Unit == u.Name:
				fail(iat, "input cycle: unit %s consumes its own output %s", u.Name, ref)
				continue
			case !dependsOn(g, u.Name, ref.Unit):
				fail(iat, "%s is not a dependency of %s: add %s to dependsOn", ref.Unit, u.Name, ref.Unit)
			}
			if _, ok := s.Units[j].Outputs[ref.Output]; !ok {
				fail(iat, "unit %s has no output %q (outputs: %s)", ref.Unit, ref.Output, strings.Join(sortedKeys(s.Units[j].Outputs), ", "))
			}
		}
	}
}

// dependsOn reports whether unit from depends on unit to, directly or
// transitively.
func dependsOn(g *Graph, from, to string) bool {
	seen := map[string]bool{}
	var walk func(string) bool
	walk = func(n string) bool {
		if seen[n] {
			return false
		}
		seen[n] = true
		for _, d := range g.Deps(n) {
			if d == to || walk(d) {
				return true
			}
		}
		return false
	}
	return walk(from)
}
