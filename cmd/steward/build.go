package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/reconcile"
)

func newBuildCommand(g *globalFlags) *cobra.Command {
	var outDir string
	var updateOutputs, showSecrets bool
	live := &liveOutputFlags{}
	cmd := &cobra.Command{
		Use:   "build [UNIT...]",
		Short: "Run the generators and print or write the objects",
		Long: `Run the generators of the named units (all when none are named), run the checks, and print the
objects to stdout as one YAML stream in a stable order, or write one file per object under -o DIR/UNIT/.
--update-outputs rewrites the committed output directory of every unit that declares output:.
Output is never written through a symlink. The Secrets and sensitive Files of a unit that decrypted SOPS
files or has a sensitive input are masked (***), in files always, on stdout unless --show-secrets. Exit 0 ok, 1 generator or check
failure, 2 usage.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			g.inputs = live.inputs(cmd.Context(), slog.New(slog.DiscardHandler))
			g.printsYAML = outDir == "" && !updateOutputs
			run, err := g.generateWorkTree(cmd.Context(), args)
			if err != nil {
				return err
			}
			defer run.close()
			if err := failOnProblems(cmd.ErrOrStderr(), run.gen.Problems); err != nil {
				return err
			}
			for _, e := range run.gen.Examples {
				fmt.Fprintln(cmd.ErrOrStderr(), "example:", e)
			}
			switch {
			case updateOutputs:
				return writeOutputs(run.w.root, run.gen.Units, cmd.ErrOrStderr())
			case outDir != "":
				return writeUnitDirs(outDir, run.gen.Units)
			}
			return printStream(cmd.OutOrStdout(), run.gen.Units, showSecrets)
		},
	}
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "print what SOPS files decrypt to instead of masking it (stdout only)")
	cmd.Flags().StringVarP(&outDir, "output-dir", "o", "", "write one file per object under DIR/UNIT/ instead of printing")
	cmd.Flags().BoolVar(&updateOutputs, "update-outputs", false, "rewrite each unit's committed output: directory")
	live.register(cmd.Flags())
	return cmd
}

// printStream prints the objects as one YAML stream, a sensitive unit's
// Secrets and sensitive Files masked unless show.
func printStream(w io.Writer, rendered []reconcile.Rendered, show bool) error {
	first := true
	for _, r := range rendered {
		objs, ys := r.Objects, r.YAML
		if r.Sensitive() && !show {
			objs, ys = r.OutputObjects(), nil
		}
		for i, o := range objs {
			var b []byte
			if ys != nil {
				b = ys[i]
			} else if y, err := reconcile.MarshalObject(o); err == nil {
				b = y
			} else {
				return err
			}
			if !first {
				fmt.Fprintln(w, "---")
			}
			first = false
			fmt.Fprintf(w, "# unit: %s\n%s", r.Unit.Name, b)
		}
	}
	return nil
}

// writeUnitDirs writes each unit's objects under dir/UNIT/.
func writeUnitDirs(dir string, rendered []reconcile.Rendered) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, r := range rendered {
		files, err := reconcile.OutputFiles(r.OutputObjects())
		if err != nil {
			return err
		}
		if err := reconcile.WriteOutput(root, r.Unit.Name, files); err != nil {
			return fmt.Errorf("write unit %s: %w", r.Unit.Name, err)
		}
	}
	return nil
}

// writeOutputs rewrites the committed output: directory of every unit that
// declares one, inside the repository.
func writeOutputs(repo string, rendered []reconcile.Rendered, log io.Writer) error {
	root, err := os.OpenRoot(repo)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, r := range rendered {
		if r.Unit.Output == "" {
			continue
		}
		files, err := reconcile.OutputFiles(r.OutputObjects())
		if err != nil {
			return err
		}
		if err := reconcile.WriteOutput(root, r.Unit.Output, files); err != nil {
			return fmt.Errorf("write output of unit %s: %w", r.Unit.Name, err)
		}
		fmt.Fprintf(log, "unit %s: wrote %d objects to %s\n", r.Unit.Name, len(files), r.Unit.Output)
	}
	return nil
}
