// Package ssh is the machine transport over SSH (golang.org/x/crypto/ssh):
// one authenticated connection per host, reused by every operation of a
// run; file operations over SFTP (github.com/pkg/sftp) on that connection,
// commands over exec sessions on it.
//
// Host keys are always verified: against a known_hosts file (through
// github.com/skeema/knownhosts, which also chooses the host key algorithms
// the file lists so the right key type is negotiated), against pinned
// SHA256 fingerprints, or both. An unknown, changed or revoked key, or a key
// that matches no pin, is refused with a *HostKeyError carrying the
// presented key's fingerprint; there is no trust-on-first-use.
//
// Commands: argv is quoted for a POSIX remote shell (every argument single
// quoted), so arguments reach the program literally and cannot inject shell
// syntax. Environment variables are set on the command line (export
// NAME='value'), since sshd usually refuses the SetEnv request.
//
// Sudo: with Config.Sudo, commands run as `sudo -n -- /bin/sh -c '<command>'`
// and the SFTP server itself is started as `sudo -n -- <sftp-server>` in an
// exec session, so file reads and atomic writes happen as root too. -n makes
// sudo fail instead of prompting: the remote user needs passwordless sudo
// (NOPASSWD) for both. No password is ever sent.
//
// Private keys and passphrases are read once in Dial and never appear in
// errors or logs.
package ssh
