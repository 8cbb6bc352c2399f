// Package sshd starts Debian's openssh-server for tests: one sshd per test
// host, each a non-daemon child (-D -e) listening on its own loopback port,
// with its own generated ed25519 host key, an authorized client key, its own
// root prefix directory and, optionally, directories of command shims put
// first on the PATH of every session (recorded systemctl/apt-get stand-ins).
//
// Nothing outside the host's temporary directory is touched, except that a
// root test run creates sshd's privilege separation directory (/run/sshd) as
// the Debian service would. A missing sshd is reported as ErrNotInstalled,
// which tests turn into testenv.Missing (see ForTest).
package sshd
