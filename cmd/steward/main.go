// Command steward keeps Kubernetes clusters and machines the way a git
// repository says they should be.
package main

import (
	"errors"
	"fmt"
	"os"
)

func main() {
	err := newRootCommand().Execute()
	os.Exit(exitCode(err))
}

// exitError carries an exit code; its message, if any, was already printed
// or is printed by exitCode.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError marks bad flags or arguments (exit 2).
func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// silentExit exits with code without printing anything more.
func silentExit(code int) error { return &exitError{code: code} }

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "steward:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "steward:", err)
	return 1
}
