package main

import (
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// newReleaseCommand makes `steward release resume|abort UNIT`: a POST to
// the running daemon's release API.
func newReleaseCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "release",
		Short: "Continue or abort a frozen progressive release",
		Long: `A unit with targets: [A, B, C] and progressive: moves each new revision wave by wave; a failed
wave freezes the release and later waves keep the previous revision. These verbs ask the running
steward (steward run) to resume it (the failed waves are applied again and the release goes on) or
abort it (every wave that took the revision is rolled back to the one it ran before). The daemon's
STEWARD_API_TOKEN, if it has one, is read from the same variable (or --api-token-file) here.`,
	}
	cmd.AddCommand(
		newReleaseActionCommand(g, "resume", "Continue a frozen release: apply its failed waves again, then the next ones"),
		newReleaseActionCommand(g, "abort", "Roll the waves that took a release back to the revision they ran before"),
	)
	return cmd
}

func newReleaseActionCommand(g *globalFlags, action, short string) *cobra.Command {
	var server string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   action + " UNIT",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			url := strings.TrimSuffix(server, "/") + "/api/releases/" + args[0] + "/" + action
			return postControl(cmd, g, url, "release "+action+" "+args[0], timeout)
		},
	}
	cmd.Flags().StringVar(&server, "server", "http://127.0.0.1:8080", "the running steward's HTTP address")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "how long to wait for the daemon (an abort generates and applies the earlier revision)")
	return cmd
}
