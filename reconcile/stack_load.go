package reconcile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// StackLimits bound reading a stack file, so that a hostile steward.yaml
// cannot take the daemon's memory or time: a size cap checked before
// reading, a budget of YAML nodes decoded (aliases expanded), and a cap on
// the errors reported (then "and K more").
type StackLimits struct {
	// MaxBytes caps the size of steward.yaml.
	MaxBytes int64
	// MaxNodes caps the YAML nodes decoded, each alias expansion counted
	// again. A stack of 10 000 units has about 200 000.
	MaxNodes int
	// MaxErrors caps the errors reported; the rest are counted.
	MaxErrors int
}

// DefaultStackLimits returns a 16 MiB file, 2^20 nodes and 100 errors.
func DefaultStackLimits() StackLimits {
	return StackLimits{MaxBytes: 16 << 20, MaxNodes: 1 << 20, MaxErrors: 100}
}

// withDefaults returns l with every zero field set from DefaultStackLimits.
func (l StackLimits) withDefaults() StackLimits {
	def := DefaultStackLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = def.MaxBytes
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = def.MaxNodes
	}
	if l.MaxErrors <= 0 {
		l.MaxErrors = def.MaxErrors
	}
	return l
}

// LoadStack reads and validates steward.yaml at the root of tree within the
// default limits, including that no unit path leaves the tree through a
// symlink.
func LoadStack(tree fs.FS) (*Stack, error) { return LoadStackWith(tree, StackLimits{}) }

// LoadStackWith is LoadStack within lim (zero fields take their defaults).
// Anything but a regular file (a FIFO, a device) is refused before it is
// opened.
func LoadStackWith(tree fs.FS, lim StackLimits) (*Stack, error) {
	lim = lim.withDefaults()
	data, err := readStackFile(tree, lim.MaxBytes)
	if err != nil {
		return nil, err
	}
	s, err := parseStack(data, StackFile, lim)
	if err != nil {
		return nil, err
	}
	if err := s.CheckPaths(tree); err != nil {
		return nil, err
	}
	return s, nil
}

func readStackFile(tree fs.FS, max int64) ([]byte, error) {
	fi, err := fs.Stat(tree, StackFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: not found at the repository root", StackFile)
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", StackFile, err)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s: not a regular file (%s)", StackFile, fi.Mode().Type())
	case fi.Size() > max:
		return nil, fmt.Errorf("%s: %d bytes, more than the limit of %d (--stack-max-bytes)", StackFile, fi.Size(), max)
	}
	f, err := tree.Open(StackFile)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", StackFile, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", StackFile, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: more than the limit of %d bytes (--stack-max-bytes)", StackFile, max)
	}
	return data, nil
}

// capErrors keeps the first max errors of an Errors and says how many more
// there were.
func capErrors(err error, max int) error {
	var es Errors
	if !errors.As(err, &es) || max <= 0 || len(es) <= max {
		return err
	}
	return append(append(Errors{}, es[:max]...), &FieldError{File: StackFile, Msg: fmt.Sprintf("and %d more", len(es)-max)})
}
