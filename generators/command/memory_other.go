//go:build !linux

package command

import "errors"

// memoryDir reports that there is no memory-backed filesystem steward
// recognises here.
func memoryDir() (string, []string) {
	return "", []string{"no memory-backed filesystem is known on this system (Linux's tmpfs)"}
}

// memoryWorkDir is never reached: memoryDir finds none.
func memoryWorkDir(string) (string, func(), error) {
	return "", nil, errors.New("no memory-backed filesystem")
}
