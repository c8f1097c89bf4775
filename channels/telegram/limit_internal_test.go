package telegram

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 6, 12, 10, 30, 0, 0, time.UTC)
	l := newLimiter(10, time.Second, 2*time.Second) // 100 ms apart globally, 1 s per chat
	steps := []struct {
		chat   int64
		at     time.Duration // after t0
		wait   time.Duration
		ok     bool
		reason string
	}{
		{1, 0, 0, true, "first send goes at once"},
		{2, 0, 100 * time.Millisecond, true, "another chat waits for the global spacing"},
		{3, 0, 200 * time.Millisecond, true, "and the next one after it"},
		{1, 0, time.Second, true, "the same chat waits a second"},
		{1, 0, 2 * time.Second, true, "again: two seconds, still within MaxWait"},
		{1, 0, 3 * time.Second, false, "three seconds is over MaxWait: refused, nothing reserved"},
		{1, 2500 * time.Millisecond, 500 * time.Millisecond, true, "later, the chat's next slot is near"},
		{-100, 3 * time.Second, 100 * time.Millisecond, true, "a group goes after the global spacing"},
		{-100, 3100 * time.Millisecond, 3 * time.Second, false, "then waits GroupInterval: over MaxWait"},
	}
	for _, s := range steps {
		wait, ok := l.reserve(s.chat, t0.Add(s.at))
		if wait != s.wait || ok != s.ok {
			t.Errorf("%s: reserve(%d, +%v) = %v, %v; want %v, %v", s.reason, s.chat, s.at, wait, ok, s.wait, s.ok)
		}
	}

	off := newLimiter(-1, -1, 0)
	for range 100 {
		if wait, ok := off.reserve(1, t0); wait != 0 || !ok {
			t.Fatalf("limits off: %v, %v", wait, ok)
		}
	}
	if d := newLimiter(0, 0, 0); d.global != time.Second/DefaultGlobalRate || d.perChat != DefaultPerChatInterval || d.maxWait != DefaultMaxWait {
		t.Errorf("defaults: %+v", d)
	}
}

func TestLimiterForgetsPastChats(t *testing.T) {
	t.Parallel()
	l := newLimiter(-1, time.Second, time.Second)
	t0 := time.Date(2025, 6, 12, 10, 30, 0, 0, time.UTC)
	for i := range int64(maxChats) {
		l.reserve(i, t0)
	}
	l.reserve(-1, t0.Add(time.Hour))
	if len(l.chats) != 1 {
		t.Errorf("%d chats remembered, want only the last", len(l.chats))
	}
}

func TestDefaultClient(t *testing.T) {
	t.Parallel()
	c, err := New(Config{Token: "7000000001:AAHq3xZ9kLmN4pQ7rS2tUvW8yB1cD5eF6gH"})
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := c.transport.(*captureTransport).base.(*http.Transport)
	if !ok {
		t.Fatalf("transport is %T", c.transport.(*captureTransport).base)
	}
	if tr.Proxy == nil || reflect.ValueOf(tr.Proxy).Pointer() != reflect.ValueOf(http.ProxyFromEnvironment).Pointer() {
		t.Error("the default transport does not take its proxy from HTTPS_PROXY/NO_PROXY")
	}
	// A nil TLS config means the system's roots (SSL_CERT_FILE included) and verification on.
	if tr.TLSClientConfig != nil || tr.TLSHandshakeTimeout != 10*time.Second || c.timeout != DefaultTimeout {
		t.Errorf("TLS config %v, handshake %v, call timeout %v", tr.TLSClientConfig, tr.TLSHandshakeTimeout, c.timeout)
	}
	// A long poll waits for its answer; only the call's own deadline may end it.
	if tr.ResponseHeaderTimeout != 0 {
		t.Errorf("ResponseHeaderTimeout %v would cut long polls short", tr.ResponseHeaderTimeout)
	}
	if c.serverURL != "https://api.telegram.org" {
		t.Errorf("server URL %q", c.serverURL)
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	c := &Client{tokenForms: tokenForms("7000000001:AAHq3xZ9kLmN4pQ7rS2tUvW8yB1cD5eF6gH"), webhookSecret: "wmk_secret_value"}
	for in, want := range map[string]string{
		"Post https://api.telegram.org/bot7000000001:AAHq3xZ9kLmN4pQ7rS2tUvW8yB1cD5eF6gH/sendMessage": "Post https://api.telegram.org/bot<token>/sendMessage",
		"/bot7000000001%3AAAHq3xZ9kLmN4pQ7rS2tUvW8yB1cD5eF6gH/x":                                      "/bot<token>/x",
		"secret part AAHq3xZ9kLmN4pQ7rS2tUvW8yB1cD5eF6gH alone":                                       "secret part <token> alone",
		"header wmk_secret_value": "header <secret>",
		"bot 7000000001":          "bot 7000000001",
	} {
		if got := c.redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}
