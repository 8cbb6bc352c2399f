// Command realhost boots real Debian test hosts (see package realhost) for a
// demo or a manual session, and stops them when its standard input closes
// or it is signalled:
//
//	realhost -n 2 -dir DIR
//
// It writes DIR/hosts (one "NAME IP ADDR" line per host), DIR/known_hosts
// and DIR/client_key (authorized for root on every host), prints "ready",
// and waits.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/stewardhq/steward/deploy/testenv/realhost"
)

func main() {
	n := flag.Int("n", 2, "hosts to boot")
	dir := flag.String("dir", "", "directory for hosts, known_hosts and client_key (required)")
	flag.Parse()
	if *dir == "" || *n < 1 {
		fmt.Fprintln(os.Stderr, "usage: realhost -n N -dir DIR")
		os.Exit(2)
	}
	if err := run(*n, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "realhost:", err)
		os.Exit(1)
	}
}

func run(n int, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := realhost.DefaultOptions()
	opts.Dir = dir
	begin := time.Now()
	hosts, err := realhost.StartN(ctx, n, opts)
	if err != nil {
		return err
	}
	defer func() {
		for _, h := range hosts {
			h.Stop()
		}
	}()
	var lines strings.Builder
	for _, h := range hosts {
		fmt.Fprintf(&lines, "%s %s %s\n", h.Name, h.IP, h.Addr)
	}
	kh, err := os.ReadFile(hosts[0].KnownHostsPath)
	if err != nil {
		return err
	}
	key, err := os.ReadFile(hosts[0].ClientKeyPath)
	if err != nil {
		return err
	}
	for name, b := range map[string][]byte{"hosts": []byte(lines.String()), "known_hosts": kh, "client_key": key} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return err
		}
	}
	fmt.Printf("ready: %d hosts booted in %s\n", n, time.Since(begin).Round(time.Millisecond))
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(done) }()
	select {
	case <-ctx.Done():
	case <-done:
	}
	return nil
}
