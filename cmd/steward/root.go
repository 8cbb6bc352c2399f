package main

import (
	"github.com/spf13/cobra"
)

// globalFlags are the flags every verb shares.
type globalFlags struct {
	dir string // -C: the repository to work on
}

func newRootCommand() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "steward",
		Short:         "Keep clusters and machines the way a git repository says",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&g.dir, "directory", "C", ".", "the git repository to work on")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError("%v", err) })
	root.AddCommand(
		newVersionCommand(),
	)
	return root
}
