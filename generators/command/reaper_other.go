//go:build !linux

package command

import "syscall"

// reaped runs the command as it is: without Linux's subreaper, a
// descendant that leaves the process group is not killed with it.
func reaped(path string, argv []string) (string, []string) { return path, argv }

// terminate SIGKILLs the command's process group.
func terminate(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGKILL) }
