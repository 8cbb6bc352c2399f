// Package systemd holds no Go code of its own: this directory is the
// hardened systemd unit that runs steward on a management host (see
// README.md). Its tests check the unit with `systemd-analyze verify` and
// `systemd-analyze security --offline`, which work without systemd running
// as PID 1, and check the flags ExecStart passes against `steward run
// --help` of the same checkout.
package systemd
