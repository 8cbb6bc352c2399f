package ssh

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/skeema/knownhosts"
	gossh "golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyProblem says why a host key was refused.
type HostKeyProblem int

const (
	// HostKeyUnknown: known_hosts has no key for the host.
	HostKeyUnknown HostKeyProblem = iota + 1
	// HostKeyChanged: known_hosts has other keys for the host — the host was
	// reinstalled, or someone is in the middle.
	HostKeyChanged
	// HostKeyRevoked: the key is marked @revoked.
	HostKeyRevoked
	// HostKeyNotPinned: the key matches none of the pinned fingerprints.
	HostKeyNotPinned
)

func (p HostKeyProblem) String() string {
	switch p {
	case HostKeyUnknown:
		return "unknown"
	case HostKeyChanged:
		return "changed"
	case HostKeyRevoked:
		return "revoked"
	case HostKeyNotPinned:
		return "not pinned"
	}
	return "refused"
}

// Sentinels for errors.Is on a *HostKeyError.
var (
	ErrHostKeyUnknown   = errors.New("host key unknown")
	ErrHostKeyChanged   = errors.New("host key changed")
	ErrHostKeyRevoked   = errors.New("host key revoked")
	ErrHostKeyNotPinned = errors.New("host key not pinned")
)

// HostKeyError is a refused host key. Fingerprint is the presented key's.
type HostKeyError struct {
	Host        string
	Problem     HostKeyProblem
	KeyType     string
	Fingerprint string
	// Known lists where known_hosts has the host's other keys
	// ("file:line"), for HostKeyChanged.
	Known []string
	// File is the known_hosts file consulted ("" with pins only).
	File string
}

func (e *HostKeyError) Error() string {
	switch e.Problem {
	case HostKeyUnknown:
		return fmt.Sprintf("ssh %s: host key unknown: %s %s is not in %s (verify it out of band, then add it)",
			e.Host, e.KeyType, e.Fingerprint, e.File)
	case HostKeyChanged:
		return fmt.Sprintf("ssh %s: HOST KEY CHANGED, possible man-in-the-middle: presented %s %s, known_hosts expects another key (%s)",
			e.Host, e.KeyType, e.Fingerprint, strings.Join(e.Known, ", "))
	case HostKeyRevoked:
		return fmt.Sprintf("ssh %s: host key revoked: %s %s is marked @revoked in %s", e.Host, e.KeyType, e.Fingerprint, e.File)
	default:
		return fmt.Sprintf("ssh %s: host key mismatch, possible man-in-the-middle: presented %s %s matches no pinned fingerprint",
			e.Host, e.KeyType, e.Fingerprint)
	}
}

// Is matches the sentinel of the problem.
func (e *HostKeyError) Is(target error) bool {
	switch target {
	case ErrHostKeyUnknown:
		return e.Problem == HostKeyUnknown
	case ErrHostKeyChanged:
		return e.Problem == HostKeyChanged
	case ErrHostKeyRevoked:
		return e.Problem == HostKeyRevoked
	case ErrHostKeyNotPinned:
		return e.Problem == HostKeyNotPinned
	}
	return false
}

// hostKeyCheck builds the callback and the host key algorithms to offer.
// The callback records its refusal in *refused so Dial can return it
// unwrapped from the handshake error.
func (c Config) hostKeyCheck(refused *error) (gossh.HostKeyCallback, []string, error) {
	var db *knownhosts.HostKeyDB
	var algos []string
	if c.KnownHostsFile != "" {
		var err error
		db, err = knownhosts.NewDB(c.KnownHostsFile)
		if err != nil {
			return nil, nil, fmt.Errorf("known_hosts: %w", err)
		}
		algos = db.HostKeyAlgorithms(c.Addr)
	}
	pins := c.PinnedFingerprints
	cb := func(hostname string, remote net.Addr, key gossh.PublicKey) error {
		herr := &HostKeyError{Host: c.Name, KeyType: key.Type(), Fingerprint: gossh.FingerprintSHA256(key), File: c.KnownHostsFile}
		if db != nil {
			err := db.HostKeyCallback()(hostname, remote, key)
			var keyErr *xknownhosts.KeyError
			var revoked *xknownhosts.RevokedError
			switch {
			case err == nil:
			case errors.As(err, &revoked):
				herr.Problem = HostKeyRevoked
			case knownhosts.IsHostKeyChanged(err) && errors.As(err, &keyErr):
				herr.Problem = HostKeyChanged
				for _, k := range keyErr.Want {
					herr.Known = append(herr.Known, fmt.Sprintf("%s:%d", k.Filename, k.Line))
				}
			case knownhosts.IsHostUnknown(err):
				herr.Problem = HostKeyUnknown
			default:
				*refused = fmt.Errorf("ssh %s: check host key: %w", c.Name, err)
				return *refused
			}
			if herr.Problem != 0 {
				*refused = herr
				return herr
			}
		}
		if len(pins) > 0 && !slices.Contains(pins, herr.Fingerprint) {
			herr.Problem = HostKeyNotPinned
			*refused = herr
			return herr
		}
		return nil
	}
	return cb, algos, nil
}
