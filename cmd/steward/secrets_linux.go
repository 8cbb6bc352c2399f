package main

import (
	"fmt"
	"syscall"
)

// nonDumpable sets PR_SET_DUMPABLE to 0: processes of the same user
// (generators, commands) can no longer ptrace steward or read its
// /proc/PID/environ and memory, and it leaves no core dump.
func nonDumpable() error {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_DUMPABLE, 0, 0); errno != 0 {
		return fmt.Errorf("prctl(PR_SET_DUMPABLE, 0): %w", errno)
	}
	return nil
}
