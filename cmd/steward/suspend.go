package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// newUnitActionCommand makes `steward suspend|resume UNIT`: a POST to the
// running daemon's API.
func newUnitActionCommand(g *globalFlags, action, short string) *cobra.Command {
	var server string
	cmd := &cobra.Command{
		Use:   action + " UNIT",
		Short: short,
		Long: short + ` on the running steward (steward run). The daemon's STEWARD_API_TOKEN, if it has one, is
read from the same variable (or --api-token-file) here. A unit suspended this way stays suspended until
resumed, also across restarts: the suspension is kept with the unit's inventory on its target.
suspend: true in steward.yaml suspends it for good.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			url := strings.TrimSuffix(server, "/") + "/api/units/" + args[0] + "/" + action
			return postControl(cmd, g, url, action+" "+args[0], 30*time.Second)
		},
	}
	cmd.Flags().StringVar(&server, "server", "http://127.0.0.1:8080", "the running steward's HTTP address")
	return cmd
}

// postControl POSTs to a control endpoint of the running daemon with its
// API token, and prints the answer; what names the request in errors.
func postControl(cmd *cobra.Command, g *globalFlags, url, what string, timeout time.Duration) error {
	req, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, url, nil)
	if err != nil {
		return usageError("--server: %v", err)
	}
	if t := g.secrets.get("STEWARD_API_TOKEN"); t != "" {
		req.Header.Set("Authorization", "Bearer "+t)
	}
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("%s: %s: %s", what, resp.Status, strings.TrimSpace(string(body)))
	}
	fmt.Fprint(cmd.OutOrStdout(), string(body))
	return nil
}
