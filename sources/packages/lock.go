package packages

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/stewardhq/steward/reconcile"
)

// LockFile is the lock's name, next to steward.yaml.
const LockFile = reconcile.LockFile

// LockKind heads a steward.lock.
const LockKind = "Lock"

// maxLockBytes caps a steward.lock.
const maxLockBytes = 4 << 20

// Lock is the model of steward.lock: what each package unit resolved to.
type Lock struct {
	APIVersion string      `yaml:"apiVersion"`
	Kind       string      `yaml:"kind"`
	Packages   []LockEntry `yaml:"packages"`
}

// LockEntry is one package unit's resolution.
type LockEntry struct {
	// Unit is the unit's name in the stack.
	Unit string `yaml:"unit"`
	// Package is the unit's package: as the stack said it when the entry
	// was written; a unit whose package: changed is out of date.
	Package reconcile.PackageRef `yaml:"package"`
	// Version is what was picked: a version tag's version (v1.2.3) or,
	// on edge without any version, the default branch.
	Version string `yaml:"version"`
	// Ref is the git ref (refs/tags/pg/v1.2.3) or OCI tag picked.
	Ref string `yaml:"ref"`
	// Commit is the git commit, Digest the OCI manifest digest.
	Commit string `yaml:"commit,omitempty"`
	Digest string `yaml:"digest,omitempty"`
	// Hash is the digest of the package's files (packages.ContentHash).
	Hash string `yaml:"hash"`
}

// Entry returns the entry of the unit called name, or nil.
func (l *Lock) Entry(name string) *LockEntry {
	if l == nil {
		return nil
	}
	for i := range l.Packages {
		if l.Packages[i].Unit == name {
			return &l.Packages[i]
		}
	}
	return nil
}

// ReadLock reads steward.lock at the root of tree; no lock file is an
// empty lock.
func ReadLock(tree fs.FS) (*Lock, error) {
	f, err := tree.Open(LockFile)
	if errors.Is(err, fs.ErrNotExist) {
		return &Lock{APIVersion: reconcile.StackAPIVersion, Kind: LockKind}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", LockFile, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxLockBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", LockFile, err)
	}
	if len(data) > maxLockBytes {
		return nil, fmt.Errorf("%s: more than %d bytes", LockFile, maxLockBytes)
	}
	return ParseLock(data)
}

// ParseLock decodes a steward.lock strictly (unknown fields are errors).
func ParseLock(data []byte) (*Lock, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var l Lock
	if err := dec.Decode(&l); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %v", LockFile, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if l.APIVersion != reconcile.StackAPIVersion || l.Kind != LockKind {
		return nil, fmt.Errorf("%s: want apiVersion %s and kind %s", LockFile, reconcile.StackAPIVersion, LockKind)
	}
	return &l, nil
}

// Marshal renders the lock as steward writes it: entries in unit order.
func (l *Lock) Marshal() ([]byte, error) {
	c := *l
	c.Packages = slices.Clone(l.Packages)
	slices.SortFunc(c.Packages, func(a, b LockEntry) int { return strings.Compare(a.Unit, b.Unit) })
	var b bytes.Buffer
	b.WriteString("# Written by steward packages update: what each package unit resolved to. Do not edit.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&c); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// StaleError is a package unit whose steward.lock entry is missing or was
// written for another package reference.
type StaleError struct {
	Unit    string
	Package *reconcile.PackageRef
	Locked  *reconcile.PackageRef // nil: no entry
}

func (e *StaleError) Error() string {
	if e.Locked == nil {
		return fmt.Sprintf("package %s is not in %s; run steward packages update", e.Package, LockFile)
	}
	return fmt.Sprintf("package %s: %s was written for %s; run steward packages update", e.Package, LockFile, e.Locked)
}

// MismatchError is a package whose content no longer matches its lock: a
// tag moved or force-pushed, an artifact re-pushed, files changed. It is
// refused.
type MismatchError struct {
	Unit    string
	Package *reconcile.PackageRef
	Ref     string // the tag or ref
	What    string // "commit", "digest" or "content hash"
	Locked  string
	Found   string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("package %s: %s does not match %s: locked %s %s, found %s; refused (if the change is trusted, run steward packages update)",
		e.Package, e.Ref, LockFile, e.What, e.Locked, e.Found)
}

// lockName is the name a unit's package is locked under: the unit's, or for
// a wave of a progressive unit, the progressive unit's, so that every wave
// releases the one version locked.
func lockName(u *reconcile.Unit) string {
	if release, _, _, ok := u.Wave(); ok {
		return release
	}
	return u.Name
}
