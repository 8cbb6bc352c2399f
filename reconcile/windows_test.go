package reconcile

import (
	"strings"
	"testing"
	"time"
)

func TestWindows(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	weekdayNights := Window{Kind: "deny", Schedule: "0 22 * * 1-5", Duration: Duration(10 * time.Hour)}
	businessHours := Window{Kind: "allow", Schedule: "0 9 * * 1-5", Duration: Duration(8 * time.Hour), TimeZone: "Europe/Berlin"}
	tests := []struct {
		name    string
		windows []Window
		unit    string
		t       string
		manual  bool
		want    bool
	}{
		{"no windows", nil, "a", "2026-11-23T12:00:00Z", false, true},
		{"deny open", []Window{weekdayNights}, "a", "2026-11-23T23:30:00Z", false, false},
		{"deny open past midnight", []Window{weekdayNights}, "a", "2026-11-24T07:59:00Z", false, false},
		{"deny closed", []Window{weekdayNights}, "a", "2026-11-24T08:00:00Z", false, true},
		{"deny for other unit", []Window{{Kind: "deny", Schedule: "* * * * *", Duration: Duration(time.Hour), Units: []string{"b"}}}, "a", "2026-11-23T12:00:00Z", false, true},
		{"allow inside (Berlin 10:00)", []Window{businessHours}, "a", "2026-11-23T09:00:00Z", false, true},
		{"allow outside (Berlin 08:00)", []Window{businessHours}, "a", "2026-11-23T07:00:00Z", false, false},
		{"allow outside on Sunday", []Window{businessHours}, "a", "2026-11-22T12:00:00Z", false, false},
		{"deny wins over allow", []Window{businessHours, {Kind: "deny", Schedule: "0 10 * * *", Duration: Duration(time.Hour)}}, "a", "2026-11-23T10:30:00Z", false, false},
		{"manual through deny with manualSync", []Window{{Kind: "deny", Schedule: "* * * * *", Duration: Duration(time.Hour), ManualSync: true}}, "a", "2026-11-23T12:00:00Z", true, true},
		{"manual blocked by deny without manualSync", []Window{weekdayNights}, "a", "2026-11-23T23:00:00Z", true, false},
		{"manual outside allow with manualSync", []Window{{Kind: "allow", Schedule: "0 9 * * 1-5", Duration: Duration(time.Hour), ManualSync: true}}, "a", "2026-11-23T15:00:00Z", true, true},
		{"automatic outside allow with manualSync", []Window{{Kind: "allow", Schedule: "0 9 * * 1-5", Duration: Duration(time.Hour), ManualSync: true}}, "a", "2026-11-23T15:00:00Z", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, err := CompileWindows(tt.windows)
			must(t, err)
			got, why := ws.Allowed(tt.unit, at(tt.t), tt.manual)
			if got != tt.want {
				t.Fatalf("Allowed = %v (%s), want %v", got, why, tt.want)
			}
			if !got && why == "" {
				t.Fatal("blocked without a reason")
			}
		})
	}
}

func TestCompileWindowsErrors(t *testing.T) {
	_, err := CompileWindows([]Window{
		{Kind: "deny", Schedule: "not cron", Duration: Duration(time.Hour)},
		{Kind: "allow", Schedule: "* * * * *", Duration: Duration(time.Hour), TimeZone: "Mars/Olympus"},
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"windows[0].schedule: ", `windows[1].timeZone: unknown time zone "Mars/Olympus"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
