package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestImageRecorder(t *testing.T) {
	r := NewImageRecorder(DefaultOptions())
	reg := prometheus.NewRegistry()
	if err := r.Register(reg); err != nil {
		t.Fatal(err)
	}
	r.RecordScan("app", "chosen", "1.1.0")
	r.RecordScan("app", "chosen", "1.2.0") // the old tag's series goes
	r.RecordScan("web", "error", "")
	r.RecordWriteBack("committed")
	want := `
# HELP steward_image_policy_info The tag each image policy chose at its last successful scan (always 1; the tag is the label).
# TYPE steward_image_policy_info gauge
steward_image_policy_info{policy="app",tag="1.2.0"} 1
# HELP steward_image_scan_total Image policy scans by result (chosen, no-match, error).
# TYPE steward_image_scan_total counter
steward_image_scan_total{policy="app",result="chosen"} 2
steward_image_scan_total{policy="web",result="error"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "steward_image_policy_info", "steward_image_scan_total"); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(r.WriteBacks.WithLabelValues("committed")); got != 1 {
		t.Fatalf("write-backs = %v", got)
	}
}
