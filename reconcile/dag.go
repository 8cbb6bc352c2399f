package reconcile

import "slices"

// Graph is the dependency graph of a stack's units, across all targets.
type Graph struct {
	order []string            // units in stack order
	deps  map[string][]string // unit -> units it depends on
}

// Graph returns the dependency graph of s's units.
func (s *Stack) Graph() *Graph {
	g := &Graph{deps: make(map[string][]string, len(s.Units))}
	for _, u := range s.Units {
		g.order = append(g.order, u.Name)
		g.deps[u.Name] = slices.Clone(u.DependsOn)
	}
	return g
}

// Deps returns the units name depends on directly.
func (g *Graph) Deps(name string) []string { return g.deps[name] }

// Dependents returns the units that depend on name directly, in stack order.
func (g *Graph) Dependents(name string) []string {
	var out []string
	for _, u := range g.order {
		if slices.Contains(g.deps[u], name) {
			out = append(out, u)
		}
	}
	return out
}

// Cycle returns one dependency cycle as a path that starts and ends with the
// same unit, or nil when the graph is acyclic.
func (g *Graph) Cycle() []string {
	const (
		unvisited = iota
		active
		done
	)
	state := make(map[string]int, len(g.order))
	var stack []string
	var found []string
	var visit func(string) bool
	visit = func(u string) bool {
		state[u] = active
		stack = append(stack, u)
		for _, d := range g.deps[u] {
			if _, known := g.deps[d]; !known {
				continue
			}
			switch state[d] {
			case active:
				i := slices.Index(stack, d)
				found = append(slices.Clone(stack[i:]), d)
				return true
			case unvisited:
				if visit(d) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[u] = done
		return false
	}
	for _, u := range g.order {
		if state[u] == unvisited && visit(u) {
			return found
		}
	}
	return nil
}

// Levels groups units so that every unit comes after all its dependencies:
// the units of one level are independent of each other. The graph must be
// acyclic.
func (g *Graph) Levels() [][]string {
	level := make(map[string]int, len(g.order))
	var depth func(string) int
	depth = func(u string) int {
		if l, ok := level[u]; ok {
			return l
		}
		l := 0
		for _, d := range g.deps[u] {
			if _, known := g.deps[d]; known {
				l = max(l, depth(d)+1)
			}
		}
		level[u] = l
		return l
	}
	var out [][]string
	for _, u := range g.order {
		l := depth(u)
		for len(out) <= l {
			out = append(out, nil)
		}
		out[l] = append(out[l], u)
	}
	return out
}
