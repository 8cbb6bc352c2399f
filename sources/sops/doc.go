// Package sops decrypts SOPS-encrypted files in memory, so secrets can live
// in git encrypted and reach the generators in plain text without ever
// touching the disk.
//
// A Decryptor holds the keys steward was given — age identities from a
// file (--sops-age-keys, or SOPS_AGE_KEY_FILE when the caller asks through
// Options.FromEnv) and PGP secret keys from a keyring — and never reads the
// environment, a gpg agent or a terminal on its own. Decryptor.FS wraps a
// revision's read-only tree: every YAML, JSON, dotenv or INI file carrying
// SOPS metadata is decrypted as it is opened or read, and the FS records
// which files it decrypted, and the values they held (FS.Plaintexts), so
// the engine can mark their objects sensitive, keep them out of the disk
// cache, mask them in output and refuse them where they would be shown. A YAML stream
// may mix plain documents with documents each encrypted on its own.
// Decryptor.DecryptDocument decrypts one manifest after a kustomize build,
// as Flux's kustomize-controller does.
//
// The MAC is always verified: a file changed after encryption is refused
// (ErrTampered), and so is a file no key opens (ErrNoKey), each as an
// *Error naming the file — unless Options.AllowUndecrypted lets such files
// pass through still encrypted, listed by FS.Undecrypted, so that `verify`
// without keys can say which files it did not check. Error texts carry
// file names, field paths and public recipients only: never key material,
// the data key, a MAC or a decrypted value; the sops library's own errors,
// which can quote a value, are replaced, and its loggers are muted.
//
// The library's AES cipher, metadata and Shamir code decrypt, and its
// stores read and write every format; YAML that sops wrote, or the like, is
// decrypted in place by a walk that follows the library's rules value for
// value (fastyaml.go), the library's store taking the rest. Its age and
// PGP key sources are bypassed (they read the environment, run gpg and
// prompt): age opens the data keys, with an X25519 key prepared once
// (age.go). The library still links every KMS client it supports, because
// its core package imports them.
package sops
