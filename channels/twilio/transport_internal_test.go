package twilio

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

func TestDefaultClientHonoursProxyAndSystemRoots(t *testing.T) {
	t.Parallel()
	s, err := New(Config{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "f3a9c1d27b8e4650a1c3e5f7092b4d6e",
		From: "+14155550100"})
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := s.transport.(*http.Transport)
	if !ok {
		t.Fatalf("transport is %T", s.transport)
	}
	if tr.Proxy == nil || reflect.ValueOf(tr.Proxy).Pointer() != reflect.ValueOf(http.ProxyFromEnvironment).Pointer() {
		t.Error("the default transport does not take its proxy from HTTPS_PROXY/NO_PROXY")
	}
	// A nil TLS config means the system's roots (SSL_CERT_FILE included) and verification on.
	if tr.TLSClientConfig != nil {
		t.Error("the default transport has its own TLS config")
	}
	if tr.TLSHandshakeTimeout != 10*time.Second || s.timeout != DefaultTimeout {
		t.Errorf("timeouts: TLS %v, call %v", tr.TLSHandshakeTimeout, s.timeout)
	}

	// A client without a timeout still gets one: an unbounded call could hold a worker forever.
	s, err = New(Config{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "f3a9c1d27b8e4650a1c3e5f7092b4d6e",
		From: "+14155550100", HTTPClient: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	if s.timeout != DefaultTimeout || s.transport != http.DefaultTransport {
		t.Errorf("with an empty client: timeout %v, transport %T", s.timeout, s.transport)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 12, 10, 30, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		"-3":                            0,
		"soon":                          0,
		"Thu, 12 Jun 2025 10:30:20 GMT": 20 * time.Second,
		"Thu, 12 Jun 2025 10:29:00 GMT": 0,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}
