package sops

import (
	"slices"
	"strconv"
	"time"

	sops "github.com/getsops/sops/v3"
	sopsage "github.com/getsops/sops/v3/age"
	sopspgp "github.com/getsops/sops/v3/pgp"
	"go.yaml.in/yaml/v3"
)

// quickMetadata reads the metadata sops writes for age and PGP keys, as
// stores.ExtractMetadata does but without its reflective decoding, which
// costs as much as decrypting a small Secret's values. It reports false for
// anything else — key groups, other key types, unknown entries, values not
// of the type sops writes, more than one encryption rule — which
// ExtractMetadata reads (or refuses) instead.
func quickMetadata(md *yaml.Node) (sops.Metadata, bool) {
	var m sops.Metadata
	var pgp, ages sops.KeyGroup
	lastModified, rules := "", 0
	for i := 0; i+1 < len(md.Content); i += 2 {
		v := md.Content[i+1]
		switch md.Content[i].Value {
		case "age":
			keys, ok := keyEntries(v, "recipient", "enc")
			if !ok {
				return m, false
			}
			for _, k := range keys {
				ages = append(ages, &sopsage.MasterKey{Recipient: k["recipient"], EncryptedKey: k["enc"]})
			}
		case "pgp":
			keys, ok := keyEntries(v, "created_at", "enc", "fp")
			if !ok {
				return m, false
			}
			for _, k := range keys {
				created, err := time.Parse(time.RFC3339, k["created_at"])
				if err != nil {
					return m, false
				}
				pgp = append(pgp, &sopspgp.MasterKey{EncryptedKey: k["enc"], CreationDate: created, Fingerprint: k["fp"]})
			}
		case "mac_only_encrypted":
			if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
				return m, false
			}
			b, err := strconv.ParseBool(v.Value)
			if err != nil {
				return m, false
			}
			m.MACOnlyEncrypted = b
		default:
			s, ok := stringEntry(v)
			if !ok {
				return m, false
			}
			switch md.Content[i].Value {
			case "lastmodified":
				lastModified = s
			case "mac":
				m.MessageAuthenticationCode = s
			case "version":
				m.Version = s
			case "unencrypted_suffix":
				m.UnencryptedSuffix = s
			case "encrypted_suffix":
				m.EncryptedSuffix = s
			case "unencrypted_regex":
				m.UnencryptedRegex = s
			case "encrypted_regex":
				m.EncryptedRegex = s
			case "unencrypted_comment_regex":
				m.UnencryptedCommentRegex = s
			case "encrypted_comment_regex":
				m.EncryptedCommentRegex = s
			default:
				return m, false
			}
			if s != "" && md.Content[i].Value != "lastmodified" && md.Content[i].Value != "mac" && md.Content[i].Value != "version" {
				rules++
			}
		}
	}
	t, err := time.Parse(time.RFC3339, lastModified)
	if err != nil || rules > 1 || len(pgp)+len(ages) == 0 {
		return m, false
	}
	m.LastModified = t
	if rules == 0 {
		m.UnencryptedSuffix = sops.DefaultUnencryptedSuffix
	}
	m.KeyGroups = []sops.KeyGroup{append(pgp, ages...)}
	return m, true
}

// keyEntries reads a sequence of mappings of string entries among names.
func keyEntries(n *yaml.Node, names ...string) ([]map[string]string, bool) {
	if n.Kind != yaml.SequenceNode {
		return nil, false
	}
	var out []map[string]string
	for _, item := range n.Content {
		if item.Kind != yaml.MappingNode {
			return nil, false
		}
		k := map[string]string{}
		for i := 0; i+1 < len(item.Content); i += 2 {
			name := item.Content[i].Value
			s, ok := stringEntry(item.Content[i+1])
			if !ok || !slices.Contains(names, name) {
				return nil, false
			}
			k[name] = s
		}
		out = append(out, k)
	}
	return out, true
}

func stringEntry(n *yaml.Node) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return "", false
	}
	return n.Value, true
}
