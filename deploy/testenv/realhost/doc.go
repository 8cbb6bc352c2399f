// Package realhost boots real Debian hosts for tests: a debootstrap'd
// rootfs (systemd as PID 1, dbus, openssh-server, apt) booted with
// systemd-nspawn, reachable over SSH on a loopback port of its own.
//
// The base rootfs is built once (debootstrap --variant=minbase from the
// mirror and suite this machine's apt sources name; those sources are copied
// in) and cached under the testenv cache directory, next to BinDir; a file
// lock makes test packages that ask at once build it once. Each host boots
// an overlay of the base (its changes go to the host's own directory, so a
// boot copies nothing), in a private mount namespace and in cgroups of its
// own, so that stopping it leaves no process and no mount behind:
//
//	systemd-nspawn -D ROOT -b -M NAME --register=no --keep-unit --console=read-only
//
// --register=no --keep-unit are needed because this machine has no system
// D-Bus (systemd is not PID 1 here). The guest shares the network namespace:
// its sshd listens on 127.0.0.1 on a port chosen per host (an sshd_config.d
// drop-in), with a generated host key, written to the host's known_hosts,
// and an authorized client key for root.
//
// Stop asks the guest to power off (SIGTERM to nspawn, which sends the
// guest's systemd SIGRTMIN+3) and kills what is left after a bound. PowerOff
// and Boot power a host off and on again with its state kept.
//
// A machine without debootstrap, systemd-nspawn or root is ErrUnavailable,
// which tests turn into testenv.Missing.
package realhost
