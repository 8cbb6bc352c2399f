//go:build !linux

package command

// memoryDir reports that there is no memory-backed filesystem steward
// recognises here.
func memoryDir() (string, []string) {
	return "", []string{"no memory-backed filesystem is known on this system (Linux's tmpfs)"}
}
