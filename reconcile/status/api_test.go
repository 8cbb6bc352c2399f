package status

import (
	"net/http/httptest"
	"testing"
)

func TestAllowed(t *testing.T) {
	tests := []struct {
		name, token, remote, auth string
		want                      bool
	}{
		{"token", "s3cret", "192.0.2.1:4000", "Bearer s3cret", true},
		{"wrong token", "s3cret", "127.0.0.1:4000", "Bearer s3cre", false},
		{"token as basic", "s3cret", "127.0.0.1:4000", "Basic s3cret", false},
		{"no header with a token set", "s3cret", "127.0.0.1:4000", "", false},
		{"loopback without a token", "", "127.0.0.1:4000", "", true},
		{"ipv6 loopback without a token", "", "[::1]:4000", "", true},
		{"remote without a token", "", "192.0.2.1:4000", "Bearer anything", false},
		{"unparsable remote", "", "nonsense", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/api/units/web/sync", nil)
			req.RemoteAddr = tt.remote
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			if got := Allowed(req, tt.token); got != tt.want {
				t.Errorf("Allowed = %v, want %v", got, tt.want)
			}
		})
	}
}
