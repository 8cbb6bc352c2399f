package machine

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/stewardhq/steward/reconcile"
)

// The machine kinds.
const (
	KindFile      = "File"
	KindDirectory = "Directory"
	KindUnit      = "Unit"
	KindPackage   = "Package"
	KindCommand   = "Command"
	KindUser      = "User"
)

// Kinds lists the machine kinds in the order a host applies them.
var Kinds = []string{KindUser, KindDirectory, KindPackage, KindFile, KindCommand, KindUnit}

// FileSpec is the spec of a File.
type FileSpec struct {
	// Path is the absolute path on the host, put under the target's root.
	Path string `json:"path"`
	// Content is the file's text; exclusive with Source and ContentBase64.
	Content *string `json:"content,omitempty"`
	// ContentBase64 is binary content; ResolveSources fills it for a
	// Source that is not UTF-8.
	ContentBase64 string `json:"contentBase64,omitempty"`
	// Source names a file of the repository relative to the unit path;
	// ResolveSources replaces it by Content or ContentBase64.
	Source string `json:"source,omitempty"`
	// Mode is an octal string ("0644"); empty leaves an existing file's
	// mode and creates new files 0644.
	Mode string `json:"mode,omitempty"`
	// Owner and Group are names or numeric ids, resolved on the host.
	Owner string `json:"owner,omitempty"`
	Group string `json:"group,omitempty"`
	// Template renders Content with text/template: .Host and .Facts.
	Template bool `json:"template,omitempty"`
	// Sensitive hides the content from diffs.
	Sensitive bool `json:"sensitive,omitempty"`
}

// DirectorySpec is the spec of a Directory.
type DirectorySpec struct {
	Path  string `json:"path"`
	Mode  string `json:"mode,omitempty"`
	Owner string `json:"owner,omitempty"`
	Group string `json:"group,omitempty"`
}

// UnitSpec is the spec of a systemd Unit.
type UnitSpec struct {
	// Name is the unit name (default metadata.name); ".service" is added
	// when it has no unit suffix.
	Name string `json:"name,omitempty"`
	// Content is the unit file (/etc/systemd/system/NAME); nil leaves the
	// unit file alone (a unit shipped by a package).
	Content *string `json:"content,omitempty"`
	// Enabled enables or disables the unit; nil leaves it.
	Enabled *bool `json:"enabled,omitempty"`
	// State is running or stopped; empty leaves it.
	State string `json:"state,omitempty"`
	// Watches lists objects ("Kind/name") whose change restarts the unit.
	Watches []string `json:"watches,omitempty"`
}

// PackageSpec is the spec of a Package.
type PackageSpec struct {
	Name    string `json:"name,omitempty"`    // default metadata.name
	Version string `json:"version,omitempty"` // exact version; empty is any
	State   string `json:"state,omitempty"`   // present (default) or absent
}

// CommandSpec is the spec of a Command. It runs when its guards allow:
// creates names a path that must not exist, unless a command that must fail,
// onlyIf a command that must succeed; with watches it runs only when a
// watched object changed.
type CommandSpec struct {
	Run     []string          `json:"run"`
	Creates string            `json:"creates,omitempty"`
	Unless  []string          `json:"unless,omitempty"`
	OnlyIf  []string          `json:"onlyIf,omitempty"`
	Watches []string          `json:"watches,omitempty"`
	Dir     string            `json:"dir,omitempty"` // working directory on the host
	Env     map[string]string `json:"env,omitempty"`
}

// UserSpec is the spec of a User.
type UserSpec struct {
	Name   string   `json:"name,omitempty"` // default metadata.name
	UID    *int     `json:"uid,omitempty"`
	Groups []string `json:"groups,omitempty"` // supplementary groups, exactly; nil leaves them
	Shell  string   `json:"shell,omitempty"`
	Home   string   `json:"home,omitempty"` // created (useradd -m) when set
}

// SpecError is a machine object that does not decode or validate.
type SpecError struct {
	Object reconcile.ObjectID
	Field  string // e.g. spec.mode; empty for the object as a whole
	Msg    string
}

func (e *SpecError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", objName(e.Object), e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", objName(e.Object), e.Field, e.Msg)
}

// objName renders a machine object as Kind/name, the form watches use.
func objName(id reconcile.ObjectID) string { return id.Kind + "/" + id.Name }

// Validate decodes o strictly and checks its fields: an unknown field, a
// wrong type or a bad value is a *SpecError naming Kind/name and the field.
func Validate(o *reconcile.Object) error {
	_, err := decode(o)
	return err
}

// decodeAs decodes o's spec strictly as S and builds its resource.
func decodeAs[S any, R resource](o *reconcile.Object, id reconcile.ObjectID, build func(reconcile.ObjectID, S) (R, error)) (resource, error) {
	var s S
	if err := decodeSpec(o, &s); err != nil {
		return nil, err
	}
	r, err := build(id, s)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return r, nil
}

// decode turns an object into its resource.
func decode(o *reconcile.Object) (resource, error) {
	id := reconcile.IDOf(o)
	if o.GetAPIVersion() != reconcile.MachineAPIVersion {
		return nil, &SpecError{Object: id, Field: "apiVersion", Msg: fmt.Sprintf("want %s, got %q", reconcile.MachineAPIVersion, o.GetAPIVersion())}
	}
	for k := range o.Object {
		switch k {
		case "apiVersion", "kind", "metadata", "spec":
		default:
			return nil, &SpecError{Object: id, Field: k, Msg: "unknown field (an object has apiVersion, kind, metadata, spec)"}
		}
	}
	if id.Namespace != "" {
		return nil, &SpecError{Object: id, Field: "metadata.namespace", Msg: "machine objects have no namespace"}
	}
	switch id.Kind {
	case KindFile:
		return decodeAs(o, id, newFile)
	case KindDirectory:
		return decodeAs(o, id, newDirectory)
	case KindUnit:
		return decodeAs(o, id, newUnit)
	case KindPackage:
		return decodeAs(o, id, newPackage)
	case KindCommand:
		return decodeAs(o, id, newCommand)
	case KindUser:
		return decodeAs(o, id, newUser)
	}
	return nil, &SpecError{Object: id, Field: "kind", Msg: fmt.Sprintf("unknown machine kind (want one of %s)", strings.Join(Kinds, ", "))}
}

// decodeSpec decodes o's spec into the struct into points at, refusing
// unknown fields and wrong types.
func decodeSpec(o *reconcile.Object, into any) error {
	id := reconcile.IDOf(o)
	raw := o.Object["spec"]
	if raw == nil {
		raw = map[string]any{}
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return &SpecError{Object: id, Field: "spec", Msg: "want a mapping"}
	}
	fields := specFieldsOf(reflect.TypeOf(into).Elem())
	for k := range m {
		if _, ok := fields.index[k]; !ok {
			return unknownField(id, m, fields.names)
		}
	}
	if v, ok := m["mode"]; ok {
		if _, isStr := v.(string); !isStr && v != nil {
			return &SpecError{Object: id, Field: "spec.mode", Msg: fmt.Sprintf(`write the mode as a quoted octal string such as "0644", not %v`, v)}
		}
	}
	if setSpecFields(m, into, fields.index) {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return &SpecError{Object: id, Field: "spec", Msg: err.Error()}
	}
	if err := json.Unmarshal(b, into); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &SpecError{Object: id, Field: "spec." + te.Field, Msg: fmt.Sprintf("want %s, found %s", typeName(te.Type), te.Value)}
		}
		return &SpecError{Object: id, Field: "spec", Msg: err.Error()}
	}
	return nil
}

// unknownField names the first of m's keys, in order, that is not among
// known, the JSON names of the spec's fields.
func unknownField(id reconcile.ObjectID, m map[string]any, known []string) error {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(known, k) {
			return &SpecError{Object: id, Field: "spec." + k, Msg: fmt.Sprintf("unknown field (%s has %s)", id.Kind, strings.Join(known, ", "))}
		}
	}
	return nil
}

// specFields are the JSON names of a spec struct's fields: sorted, for
// messages, and to their indexes. Every object of a plan asks, so they are
// worked out once per type.
type specFields struct {
	names []string
	index map[string]int
}

func specFieldsOf(t reflect.Type) *specFields {
	if f, ok := fieldsByType.Load(t); ok {
		return f.(*specFields)
	}
	out := &specFields{index: map[string]int{}}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out.names = append(out.names, name)
			out.index[name] = i
		}
	}
	slices.Sort(out.names)
	f, _ := fieldsByType.LoadOrStore(t, out)
	return f.(*specFields)
}

var fieldsByType sync.Map // reflect.Type -> *specFields

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return typeName(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return "a list of strings (argv: one element per argument)"
		}
		return "a list"
	case reflect.Map:
		return "a mapping"
	}
	return t.String()
}

// parseMode parses an octal permission string; "" is 0 (unset).
func parseMode(id reconcile.ObjectID, s string) (uint32, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || len(s) < 3 || len(s) > 4 {
		return 0, &SpecError{Object: id, Field: "spec.mode", Msg: fmt.Sprintf(`invalid mode %q (want octal such as "0644")`, s)}
	}
	if v > 0o777 {
		return 0, &SpecError{Object: id, Field: "spec.mode", Msg: fmt.Sprintf("mode %q: setuid, setgid and sticky bits are not supported", s)}
	}
	return uint32(v), nil
}

// checkPath requires an absolute, clean path.
func checkPath(id reconcile.ObjectID, field, p string, required bool) error {
	switch {
	case p == "" && !required:
		return nil
	case p == "":
		return &SpecError{Object: id, Field: field, Msg: "required"}
	case !path.IsAbs(p):
		return &SpecError{Object: id, Field: field, Msg: fmt.Sprintf("path %q is relative; want an absolute path (it is put under the target's root)", p)}
	case path.Clean(p) != p || strings.ContainsRune(p, 0):
		return &SpecError{Object: id, Field: field, Msg: fmt.Sprintf("path %q is not clean (want %q)", p, path.Clean(p))}
	}
	return nil
}

var (
	accountName = regexp.MustCompile(`^[a-z_][a-z0-9_.-]{0,31}\$?$`)
	idOrName    = regexp.MustCompile(`^([0-9]+|[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?)$`)
	unitName    = regexp.MustCompile(`^[A-Za-z0-9:_.\\@-]+$`)
	unitSuffix  = regexp.MustCompile(`\.(service|socket|timer|path|mount|automount|target|slice|swap|device|scope)$`)
)

func checkOwner(id reconcile.ObjectID, field, v string) error {
	if v != "" && !idOrName.MatchString(v) {
		return &SpecError{Object: id, Field: field, Msg: fmt.Sprintf("invalid user or group %q", v)}
	}
	return nil
}

func checkArgv(id reconcile.ObjectID, field string, argv []string, required bool) error {
	if len(argv) == 0 {
		if required {
			return &SpecError{Object: id, Field: field, Msg: "required: a list of strings (argv)"}
		}
		return nil
	}
	if argv[0] == "" {
		return &SpecError{Object: id, Field: field, Msg: "the program (first element) is empty"}
	}
	return nil
}

func checkWatches(id reconcile.ObjectID, ws []string) error {
	for i, w := range ws {
		kind, name, ok := strings.Cut(w, "/")
		if !ok || name == "" || !slices.Contains(Kinds, kind) {
			return &SpecError{Object: id, Field: fmt.Sprintf("spec.watches[%d]", i), Msg: fmt.Sprintf("%q: want Kind/name with a machine kind (%s)", w, strings.Join(Kinds, ", "))}
		}
		if kind == id.Kind && name == id.Name {
			return &SpecError{Object: id, Field: fmt.Sprintf("spec.watches[%d]", i), Msg: "an object cannot watch itself"}
		}
	}
	return nil
}

func newFile(id reconcile.ObjectID, s FileSpec) (*fileRes, error) {
	if err := checkPath(id, "spec.path", s.Path, true); err != nil {
		return nil, err
	}
	if s.Path == "/" {
		return nil, &SpecError{Object: id, Field: "spec.path", Msg: "a File cannot be /"}
	}
	n := 0
	for _, set := range []bool{s.Content != nil, s.ContentBase64 != "", s.Source != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, &SpecError{Object: id, Field: "spec.content", Msg: "content, contentBase64 and source are exclusive"}
	}
	if s.Source != "" {
		if path.IsAbs(s.Source) || strings.ContainsRune(s.Source, 0) {
			return nil, &SpecError{Object: id, Field: "spec.source", Msg: fmt.Sprintf("%q: want a path relative to the unit directory", s.Source)}
		}
	}
	var bin []byte
	if s.ContentBase64 != "" {
		var err error
		if bin, err = base64.StdEncoding.DecodeString(s.ContentBase64); err != nil {
			return nil, &SpecError{Object: id, Field: "spec.contentBase64", Msg: "not valid base64"}
		}
		if s.Template {
			return nil, &SpecError{Object: id, Field: "spec.template", Msg: "binary content cannot be a template"}
		}
	}
	mode, err := parseMode(id, s.Mode)
	if err != nil {
		return nil, err
	}
	if err := checkOwner(id, "spec.owner", s.Owner); err != nil {
		return nil, err
	}
	if err := checkOwner(id, "spec.group", s.Group); err != nil {
		return nil, err
	}
	return &fileRes{id: id, spec: s, mode: mode, binary: bin}, nil
}

func newDirectory(id reconcile.ObjectID, s DirectorySpec) (*dirRes, error) {
	if err := checkPath(id, "spec.path", s.Path, true); err != nil {
		return nil, err
	}
	mode, err := parseMode(id, s.Mode)
	if err != nil {
		return nil, err
	}
	if err := checkOwner(id, "spec.owner", s.Owner); err != nil {
		return nil, err
	}
	if err := checkOwner(id, "spec.group", s.Group); err != nil {
		return nil, err
	}
	return &dirRes{id: id, spec: s, mode: mode}, nil
}

func newUnit(id reconcile.ObjectID, s UnitSpec) (*unitRes, error) {
	name := s.Name
	if name == "" {
		name = id.Name
	}
	if !unitName.MatchString(name) || strings.HasPrefix(name, ".") {
		return nil, &SpecError{Object: id, Field: "spec.name", Msg: fmt.Sprintf("invalid systemd unit name %q", name)}
	}
	if !unitSuffix.MatchString(name) {
		name += ".service"
	}
	switch s.State {
	case "", "running", "stopped":
	default:
		return nil, &SpecError{Object: id, Field: "spec.state", Msg: fmt.Sprintf("%q: want running or stopped", s.State)}
	}
	if err := checkWatches(id, s.Watches); err != nil {
		return nil, err
	}
	return &unitRes{id: id, spec: s, name: name}, nil
}

func newPackage(id reconcile.ObjectID, s PackageSpec) (*packageRes, error) {
	if s.Name == "" {
		s.Name = id.Name
	}
	if !regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9+._:-]*$`).MatchString(s.Name) {
		return nil, &SpecError{Object: id, Field: "spec.name", Msg: fmt.Sprintf("invalid package name %q", s.Name)}
	}
	switch s.State {
	case "", "present":
		s.State = "present"
	case "absent":
		if s.Version != "" {
			return nil, &SpecError{Object: id, Field: "spec.version", Msg: "a version makes no sense with state absent"}
		}
	default:
		return nil, &SpecError{Object: id, Field: "spec.state", Msg: fmt.Sprintf("%q: want present or absent", s.State)}
	}
	if strings.ContainsAny(s.Version, " \t\n=") {
		return nil, &SpecError{Object: id, Field: "spec.version", Msg: fmt.Sprintf("invalid version %q", s.Version)}
	}
	return &packageRes{id: id, spec: s}, nil
}

func newCommand(id reconcile.ObjectID, s CommandSpec) (*commandRes, error) {
	if err := checkArgv(id, "spec.run", s.Run, true); err != nil {
		return nil, err
	}
	if err := checkArgv(id, "spec.unless", s.Unless, false); err != nil {
		return nil, err
	}
	if err := checkArgv(id, "spec.onlyIf", s.OnlyIf, false); err != nil {
		return nil, err
	}
	if err := checkPath(id, "spec.creates", s.Creates, false); err != nil {
		return nil, err
	}
	if err := checkPath(id, "spec.dir", s.Dir, false); err != nil {
		return nil, err
	}
	if err := checkWatches(id, s.Watches); err != nil {
		return nil, err
	}
	if s.Creates == "" && len(s.Unless) == 0 && len(s.OnlyIf) == 0 && len(s.Watches) == 0 {
		return nil, &SpecError{Object: id, Field: "spec", Msg: "a Command needs a guard to be idempotent: creates, unless, onlyIf or watches"}
	}
	return &commandRes{id: id, spec: s}, nil
}

func newUser(id reconcile.ObjectID, s UserSpec) (*userRes, error) {
	if s.Name == "" {
		s.Name = id.Name
	}
	if !accountName.MatchString(s.Name) {
		return nil, &SpecError{Object: id, Field: "spec.name", Msg: fmt.Sprintf("invalid user name %q", s.Name)}
	}
	if s.UID != nil && *s.UID < 0 {
		return nil, &SpecError{Object: id, Field: "spec.uid", Msg: "must not be negative"}
	}
	for i, g := range s.Groups {
		if !accountName.MatchString(g) {
			return nil, &SpecError{Object: id, Field: fmt.Sprintf("spec.groups[%d]", i), Msg: fmt.Sprintf("invalid group name %q", g)}
		}
	}
	if err := checkPath(id, "spec.shell", s.Shell, false); err != nil {
		return nil, err
	}
	if err := checkPath(id, "spec.home", s.Home, false); err != nil {
		return nil, err
	}
	return &userRes{id: id, spec: s}, nil
}
