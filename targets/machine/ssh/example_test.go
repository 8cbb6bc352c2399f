package ssh_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/stewardhq/steward/targets/machine"
	"github.com/stewardhq/steward/targets/machine/ssh"
)

// Dial one host with a key file and ~/.ssh/known_hosts, write a file
// atomically and run a command on the same connection.
func ExampleDial() {
	cfg := ssh.DefaultConfig()
	cfg.Addr = "web1.example.com:22"
	cfg.User = "deploy"
	cfg.KeyFile = "/etc/steward/credentials/web-ssh"
	cfg.Sudo = true // commands and file writes as root through sudo -n
	ctx := context.Background()
	tr, err := ssh.Dial(ctx, cfg)
	if err != nil {
		log.Fatal(err) // e.g. a *ssh.HostKeyError with the presented key's SHA256 fingerprint
	}
	defer tr.Close()
	err = tr.WriteFile(ctx, "/etc/motd", strings.NewReader("hello\n"), machine.FileAttrs{Mode: 0o644, UID: 0, GID: 0})
	if err != nil {
		log.Fatal(err)
	}
	res, err := tr.Run(ctx, machine.Cmd{Argv: []string{"systemctl", "is-active", "nginx"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.ExitCode, string(res.Stdout))
}

// Dialer is what the machine target gets for a `machines:` target: the
// credentials name is a key file under the credentials directory.
func ExampleDialer() {
	base := ssh.DefaultConfig()
	base.User = "deploy"
	base.KeyFile = "web-ssh" // credentials: web-ssh
	dial := ssh.Dialer(base, "/etc/steward/credentials", "/etc/steward/known_hosts")
	target := machine.New(machine.DefaultConfig("web1:22", "web2:22"), dial)
	_ = target
}
