package main

import (
	"io/fs"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/sources/sops"
)

// sopsFlags name the keys that decrypt the SOPS files of the repository.
// They are read once, at start-up, into steward's memory; the variables
// that name them are then scrubbed from the environment, so no generator,
// command or hook inherits them. An isolated generator (a child process)
// never holds a key: it reads the tree through steward, decrypted.
type sopsFlags struct {
	ageKeys     []string
	pgpKeyrings []string
	dec         *sops.Decryptor
}

// sopsAgeKeyEnv is sops's variable for identities given inline; steward
// only reads files.
const sopsAgeKeyEnv = "SOPS_AGE_KEY"

func (f *sopsFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.ageKeys, "sops-age-keys", nil, "file of age identities that decrypt the repository's SOPS files, repeatable (else $"+sops.EnvAgeKeyFile+")")
	fs.StringArrayVar(&f.pgpKeyrings, "sops-pgp-keyring", nil, "OpenPGP keyring holding secret keys without a passphrase that decrypt SOPS files, repeatable")
}

// load reads the keys and scrubs the variables. verify and diff --base
// without any key pass the SOPS files through encrypted and report their
// units as not checked (not compared); every other verb, and these given
// keys, refuse a file no key opens.
func (f *sopsFlags) load(cmd *cobra.Command) error {
	opts := sops.DefaultOptions()
	opts.AgeKeyFiles, opts.PGPKeyrings = f.ageKeys, f.pgpKeyrings
	opts = opts.FromEnv(os.Getenv)
	inline := os.Getenv(sopsAgeKeyEnv) != ""
	for _, env := range []string{sops.EnvAgeKeyFile, sopsAgeKeyEnv} {
		if err := os.Unsetenv(env); err != nil {
			return err
		}
	}
	if inline && len(opts.AgeKeyFiles) == 0 {
		return usageError("$%s is not read: put the age identities in a file and name it with --sops-age-keys or $%s", sopsAgeKeyEnv, sops.EnvAgeKeyFile)
	}
	opts.AllowUndecrypted = offline(cmd) && len(opts.AgeKeyFiles) == 0 && len(opts.PGPKeyrings) == 0
	d, err := sops.New(opts)
	if err != nil {
		// sops.New names the file and line, never the key.
		return usageError("sops keys: %v", err)
	}
	f.dec = d
	return nil
}

// decrypter returns the engine's Decrypter (nil before load).
func (f *sopsFlags) decrypter() reconcile.Decrypter {
	if f.dec == nil {
		return nil
	}
	return sopsDecrypter{f.dec}
}

type sopsDecrypter struct{ d *sops.Decryptor }

var _ reconcile.Decrypter = sopsDecrypter{}

func (s sopsDecrypter) Decrypting(tree fs.FS) reconcile.DecryptingTree { return sopsTree{s.d.FS(tree)} }

// sopsTree is sops.FS as the engine consumes it.
type sopsTree struct{ *sops.FS }

var _ reconcile.DecryptingTree = sopsTree{}

func (t sopsTree) Undecrypted() []string {
	errs := t.FS.Undecrypted()
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = "not checked: " + e.Error()
	}
	return out
}

// offline reports whether cmd only reports on the repository or writes to
// it (verify, diff between revisions, images update), so a SOPS file no key
// opens can be named instead of refused: CI on a pull request holds no key.
func offline(cmd *cobra.Command) bool {
	switch cmd.Name() {
	case "verify":
		return true
	case "update":
		// images update checks what it writes back as verify does; the
		// reconciler that applies it holds the keys.
		return cmd.Parent() != nil && cmd.Parent().Name() == "images"
	case "diff":
		live, _ := cmd.Flags().GetBool("live")
		return !live
	}
	return false
}
