// Command hello stands in for steward in the image builder's fast tests.
package main

import (
	"fmt"
	"os"
)

var version, commit = "dev", ""

func main() {
	fmt.Printf("hello %s %s uid=%d\n", version, commit, os.Getuid())
}
