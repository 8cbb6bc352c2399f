package reconcile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"

	"go.yaml.in/yaml/v3"
)

// PackageKind heads every steward-package.yaml; PackageFile is its name in
// a package's directory.
const (
	PackageKind = "Package"
	PackageFile = "steward-package.yaml"
)

// targetKinds are the kinds of target a package may support.
var targetKinds = []string{"kubernetes", "machines", "local"}

// PackageManifest is the model of steward-package.yaml: a unit definition
// shared as a versioned package.
type PackageManifest struct {
	APIVersion  string         `yaml:"apiVersion" doc:"Always steward.dev/v1."`
	Kind        string         `yaml:"kind" doc:"Always Package."`
	Name        string         `yaml:"name" doc:"The package's name (lowercase letters, digits and '-')."`
	Description string         `yaml:"description,omitempty" doc:"One line on what it installs."`
	Generator   GeneratorSpec  `yaml:"generator" doc:"How the package's directory becomes objects; paths are relative to it."`
	Parameters  map[string]any `yaml:"parameters,omitempty" doc:"JSON Schema of the parameters a unit gives it in with:, with defaults."`
	Checks      []Check        `yaml:"checks,omitempty" doc:"CEL rules the package guarantees for its own objects."`
	Health      *Health        `yaml:"health,omitempty" doc:"Default health check of a unit installing it on machines."`
	TargetKinds []string       `yaml:"targetKinds,omitempty" doc:"Kinds of target it supports: kubernetes, machines, local (default all)."`

	// File is the name errors use; not part of the YAML.
	File string `yaml:"-"`
	pos  map[string]Pos
}

// Pos returns where a field path of the manifest was written.
func (m *PackageManifest) Pos(path string) Pos { return m.pos[path] }

// ParsePackageManifest decodes and validates a steward-package.yaml as
// strictly as a stack file: unknown fields, wrong types and duplicate keys
// are errors naming file, line and field. The parameters' schema is
// compiled by the packages package, which knows JSON Schema.
func ParsePackageManifest(data []byte, file string) (*PackageManifest, error) {
	lim := DefaultStackLimits()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &FieldError{File: file, Msg: "empty package file"}
		}
		var se *SourceError
		if errors.As(yamlError(file, err), &se) {
			return nil, &FieldError{File: file, Pos: Pos{Line: se.Line}, Msg: se.Err.Error()}
		}
		return nil, err
	}
	d := &nodeDecoder{file: file, pos: map[string]Pos{}, budget: lim.MaxNodes, maxErrors: lim.MaxErrors}
	m := &PackageManifest{File: file}
	d.decode(doc.Content[0], reflect.ValueOf(m).Elem(), "")
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	m.pos = d.pos
	if err := m.validate(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *PackageManifest) validate() error {
	var errs Errors
	fail := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{File: m.File, Pos: m.pos[field], Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if m.APIVersion != StackAPIVersion {
		fail("apiVersion", "want %q, found %q", StackAPIVersion, m.APIVersion)
	}
	if m.Kind != PackageKind {
		fail("kind", "want %q, found %q", PackageKind, m.Kind)
	}
	if !unitName.MatchString(m.Name) {
		fail("name", "%q is not a valid package name (lowercase letters, digits and '-', at most 63)", m.Name)
	}
	validateGenerator("generator", "a package", m.Generator, fail)
	for i, k := range m.TargetKinds {
		if !slices.Contains(targetKinds, k) {
			fail(fmt.Sprintf("targetKinds[%d]", i), "want one of kubernetes, machines, local, found %q", k)
		}
	}
	for i, c := range m.Checks {
		at := fmt.Sprintf("checks[%d]", i)
		if c.Name == "" {
			fail(at, "check has no name")
		}
		if c.CEL == "" {
			fail(at+".cel", "check has no cel expression")
		}
		if len(c.Match.Units) > 0 {
			fail(at+".match.units", "a package's checks apply to its own objects; units is not for them")
		}
	}
	if h := m.Health; h != nil && (h.HTTP == nil) == (h.Command == nil) {
		fail("health", "health sets exactly one of http, command")
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
