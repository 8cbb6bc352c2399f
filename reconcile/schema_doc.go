package reconcile

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// StackReference renders the stack file's JSON Schema (StackSchema) as a
// Markdown reference: one table per type, Stack first, then the others by
// name. docs/stack-reference.md is kept equal to it by a test, so the
// reference, the schema and the decoder cannot drift apart.
func StackReference() ([]byte, error) {
	raw, err := StackSchema()
	if err != nil {
		return nil, err
	}
	var doc struct {
		Defs map[string]schemaNode `json:"$defs"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("stack schema: %w", err)
	}
	names := make([]string, 0, len(doc.Defs))
	for n := range doc.Defs {
		if n != "Stack" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	names = append([]string{"Stack"}, names...)

	var b strings.Builder
	b.WriteString("# steward.yaml reference\n\n")
	b.WriteString("Generated from the stack file's JSON Schema (docs/steward.schema.json), which is derived from the\n")
	b.WriteString("decoder's own types; `go test ./reconcile -run TestStackReferenceInSync -update` rewrites it.\n")
	b.WriteString("Unknown fields are errors. Durations are written like `30s`, `5m`, `1h30m`.\n")
	for _, n := range names {
		d := doc.Defs[n]
		fmt.Fprintf(&b, "\n## %s\n\n", n)
		if n == "Stack" {
			b.WriteString("The top level of steward.yaml (`apiVersion: steward.dev/v1`, `kind: Stack`).\n\n")
		}
		fields := make([]string, 0, len(d.Properties))
		for f := range d.Properties {
			fields = append(fields, f)
		}
		slices.Sort(fields)
		b.WriteString("| field | type | required | description |\n|---|---|---|---|\n")
		for _, f := range fields {
			p := d.Properties[f]
			req := ""
			if slices.Contains(d.Required, f) {
				req = "yes"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f, p.typeName(), req, cell(p.Description))
		}
	}
	return []byte(b.String()), nil
}

// schemaNode is the part of a JSON Schema node the reference shows.
type schemaNode struct {
	Type        string                `json:"type"`
	Ref         string                `json:"$ref"`
	AllOf       []schemaNode          `json:"allOf"`
	OneOf       []schemaNode          `json:"oneOf"`
	Items       *schemaNode           `json:"items"`
	Additional  json.RawMessage       `json:"additionalProperties"`
	Properties  map[string]schemaNode `json:"properties"`
	Required    []string              `json:"required"`
	Pattern     string                `json:"pattern"`
	Description string                `json:"description"`
}

// typeName is how the reference writes a node's type: a link for a named
// type, []T for a list, map[string]T for a map.
func (n schemaNode) typeName() string {
	switch {
	case n.Ref != "":
		name := strings.TrimPrefix(n.Ref, "#/$defs/")
		return fmt.Sprintf("[%s](#%s)", name, strings.ToLower(name))
	case len(n.AllOf) == 1:
		return n.AllOf[0].typeName()
	case len(n.OneOf) > 0:
		alts := make([]string, len(n.OneOf))
		for i, o := range n.OneOf {
			alts[i] = o.typeName()
		}
		return strings.Join(alts, " or ")
	case n.Type == "array" && n.Items != nil:
		return "[]" + n.Items.typeName()
	case n.Type == "object" && len(n.Additional) > 0 && string(n.Additional) != "false":
		var v schemaNode
		if json.Unmarshal(n.Additional, &v) == nil && (v.Type != "" || v.Ref != "") {
			return "map[string]" + v.typeName()
		}
		return "map[string]any"
	case n.Type == "string" && n.Pattern != "" && strings.Contains(n.Pattern, "ns|us"):
		return "duration"
	case n.Type == "":
		return "any"
	}
	return n.Type
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
