package reconcile

import (
	"fmt"
	"io"
	"strings"
)

// MaxMarkdownDiffLines truncates each unit's diff in a pull-request comment.
const MaxMarkdownDiffLines = 300

func diffSummary(d UnitDiff) string {
	return fmt.Sprintf("%d created, %d changed, %d deleted", d.Count(Created), d.Count(Configured), d.Count(Deleted))
}

// MarkdownDiff writes diffs as a pull-request comment (`steward diff --base
// --format markdown`, and the body of write-back pull requests): a table of
// the changed units, then each unit's object diffs in a collapsed block,
// truncated at MaxMarkdownDiffLines lines. head "" is the uncommitted
// change.
func MarkdownDiff(out io.Writer, base, head string, diffs []UnitDiff) {
	headName := "working copy"
	if head != "" {
		headName = ShortRevision(head, RevisionWidth)
	}
	fmt.Fprintf(out, "### steward diff `%s` → `%s`\n\n", ShortRevision(base, RevisionWidth), headName)
	var touched []UnitDiff
	for _, d := range diffs {
		if d.Changed() {
			touched = append(touched, d)
		}
	}
	if len(touched) == 0 {
		fmt.Fprintf(out, "No changes in %d units.\n", len(diffs))
		return
	}
	fmt.Fprintln(out, "| unit | target | created | changed | deleted |")
	fmt.Fprintln(out, "|---|---|--:|--:|--:|")
	for _, d := range touched {
		if d.Err != nil {
			fmt.Fprintf(out, "| %s | %s | ⚠️ failed | | |\n", mdEscape(d.Unit), mdEscape(d.Target))
			continue
		}
		if len(d.NotCompared) > 0 {
			fmt.Fprintf(out, "| %s | %s | 🔒 not compared | | |\n", mdEscape(d.Unit), mdEscape(d.Target))
			continue
		}
		fmt.Fprintf(out, "| %s | %s | %d | %d | %d |\n", mdEscape(d.Unit), mdEscape(d.Target), d.Count(Created), d.Count(Configured), d.Count(Deleted))
	}
	fmt.Fprintf(out, "\n%d of %d units changed.\n", len(touched), len(diffs))
	for _, d := range touched {
		if d.Err != nil {
			fmt.Fprintf(out, "\n<details><summary><b>%s</b>: failed</summary>\n\n```\n%s\n```\n</details>\n", mdEscape(d.Unit), fence(d.Err.Error()))
			continue
		}
		if len(d.NotCompared) > 0 {
			fmt.Fprintf(out, "\n<details><summary><b>%s</b>: not compared, its SOPS files need a key</summary>\n\n```\n%s\n```\n</details>\n", mdEscape(d.Unit), fence(strings.Join(d.NotCompared, "\n")))
			continue
		}
		var body strings.Builder
		for _, c := range d.Changes {
			body.WriteString(c.Diff)
		}
		text, cut := truncateLines(body.String(), MaxMarkdownDiffLines)
		fmt.Fprintf(out, "\n<details><summary><b>%s</b>: %s</summary>\n\n```diff\n%s```\n", mdEscape(d.Unit), diffSummary(d), fence(text))
		if cut > 0 {
			fmt.Fprintf(out, "\n… %d more lines not shown\n", cut)
		}
		fmt.Fprintln(out, "</details>")
	}
}

// truncateLines keeps the first n lines of s and says how many it dropped.
func truncateLines(s string, n int) (string, int) {
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) <= n {
		return s, 0
	}
	return strings.Join(lines[:n], ""), len(lines) - n
}

// fence keeps text from closing a markdown code block.
func fence(s string) string { return strings.ReplaceAll(s, "```", "`\u200b``") }

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
}
