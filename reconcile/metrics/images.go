package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// ImageRecorder owns image automation's collectors; cmd registers them
// beside the Recorder's. Its methods are safe for concurrent use.
type ImageRecorder struct {
	ScanTotal  *prometheus.CounterVec // policy, result
	PolicyInfo *prometheus.GaugeVec   // policy, tag
	WriteBacks *prometheus.CounterVec // result

	mu   sync.Mutex
	tags map[string]string // the one tag series kept per policy
}

// NewImageRecorder returns collectors not yet registered anywhere.
func NewImageRecorder(opts Options) *ImageRecorder {
	ns := opts.Namespace
	return &ImageRecorder{
		ScanTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "image_scan_total",
			Help: "Image policy scans by result (chosen, no-match, error).",
		}, []string{"policy", "result"}),
		PolicyInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Name: "image_policy_info",
			Help: "The tag each image policy chose at its last successful scan (always 1; the tag is the label).",
		}, []string{"policy", "tag"}),
		WriteBacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "image_writeback_total",
			Help: "Image write-backs by result (committed, nothing, dropped, failed).",
		}, []string{"result"}),
		tags: map[string]string{},
	}
}

// Register registers the collectors on reg.
func (r *ImageRecorder) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{r.ScanTotal, r.PolicyInfo, r.WriteBacks} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// RecordScan records one policy's scan: result is chosen, no-match or
// error; tag is what it chose (only for chosen).
func (r *ImageRecorder) RecordScan(policy, result, tag string) {
	r.ScanTotal.WithLabelValues(policy, result).Inc()
	if result != "chosen" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.tags[policy]; ok && old != tag {
		r.PolicyInfo.DeleteLabelValues(policy, old)
	}
	r.tags[policy] = tag
	r.PolicyInfo.WithLabelValues(policy, tag).Set(1)
}

// RecordWriteBack counts one write-back by result.
func (r *ImageRecorder) RecordWriteBack(result string) {
	r.WriteBacks.WithLabelValues(result).Inc()
}
