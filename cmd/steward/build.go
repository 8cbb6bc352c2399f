package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/reconcile"
)

func newBuildCommand(g *globalFlags) *cobra.Command {
	var outDir string
	var updateOutputs bool
	cmd := &cobra.Command{
		Use:   "build [UNIT...]",
		Short: "Run the generators and print or write the objects",
		Long: `Run the generators of the named units (all when none are named), run the checks, and print the
objects to stdout as one YAML stream in a stable order, or write one file per object under -o DIR/UNIT/.
--update-outputs rewrites the committed output directory of every unit that declares output:.
Exit 0 ok, 1 generator or check failure, 2 usage.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := g.workspace()
			if err != nil {
				return err
			}
			rev, closer, err := w.workTree()
			if err != nil {
				return err
			}
			defer closer.Close()
			res, err := w.generate(cmd.Context(), rev, args)
			if err != nil {
				return err
			}
			if len(res.problems) > 0 {
				printProblems(cmd.ErrOrStderr(), res.problems)
				return silentExit(1)
			}
			switch {
			case updateOutputs:
				return writeOutputs(w.root, res.rendered, cmd.ErrOrStderr())
			case outDir != "":
				return writeUnitDirs(outDir, res.rendered)
			}
			return printStream(cmd.OutOrStdout(), res.rendered)
		},
	}
	cmd.Flags().StringVarP(&outDir, "output-dir", "o", "", "write one file per object under DIR/UNIT/ instead of printing")
	cmd.Flags().BoolVar(&updateOutputs, "update-outputs", false, "rewrite each unit's committed output: directory")
	return cmd
}

func printStream(w io.Writer, rendered []reconcile.Rendered) error {
	first := true
	for _, r := range rendered {
		for i, o := range r.Objects {
			var b []byte
			if r.YAML != nil {
				b = r.YAML[i]
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

func writeUnitDirs(dir string, rendered []reconcile.Rendered) error {
	for _, r := range rendered {
		files, err := renderFiles(r.Objects)
		if err != nil {
			return err
		}
		if err := writeFiles(filepath.Join(dir, r.Unit.Name), files); err != nil {
			return fmt.Errorf("write unit %s: %w", r.Unit.Name, err)
		}
	}
	return nil
}

func writeOutputs(root string, rendered []reconcile.Rendered, log io.Writer) error {
	for _, r := range rendered {
		if r.Unit.Output == "" {
			continue
		}
		files, err := renderFiles(r.Objects)
		if err != nil {
			return err
		}
		if err := writeFiles(filepath.Join(root, filepath.FromSlash(r.Unit.Output)), files); err != nil {
			return fmt.Errorf("write output of unit %s: %w", r.Unit.Name, err)
		}
		fmt.Fprintf(log, "unit %s: wrote %d objects to %s\n", r.Unit.Name, len(files), r.Unit.Output)
	}
	return nil
}

func printProblems(w io.Writer, problems []error) {
	for _, p := range problems {
		fmt.Fprintln(w, p)
	}
	s := "s"
	if len(problems) == 1 {
		s = ""
	}
	fmt.Fprintf(w, "%d problem%s\n", len(problems), s)
}
