package channeltest

import (
	"bytes"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// LogCapture is an slog.Handler that writes every record, at every level, as JSON to a buffer,
// so a test can search what a provider logged (for secrets above all). It is safe for
// concurrent use.
type LogCapture struct {
	slog.Handler
	buf *lockedBuffer
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// NewLogCapture returns an empty capture that records debug records too: a secret logged at
// debug level leaks as surely as one logged as an error.
func NewLogCapture() *LogCapture {
	b := &lockedBuffer{}
	return &LogCapture{Handler: slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}), buf: b}
}

// Logger returns a logger writing to the capture.
func (c *LogCapture) Logger() *slog.Logger { return slog.New(c) }

// String returns everything logged so far.
func (c *LogCapture) String() string {
	c.buf.mu.Lock()
	defer c.buf.mu.Unlock()
	return c.buf.buf.String()
}

// secretWindow is the length of the pieces of a secret that AssertNoSecrets looks for: a log
// line that prints half a token, or a token cut at a colon, leaks it nearly as badly as the
// whole. Ten characters of a random secret never turn up in ordinary text by chance.
const secretWindow = 10

// AssertNoSecrets fails the test if any of texts contains one of secrets, its URL-escaped form,
// or any piece of it secretWindow characters long (the whole of a shorter secret). Empty
// secrets are skipped. The failure names the secret's position in the list, never the secret.
// For a credential with a public part, pass only the secret part: a Telegram bot token's id
// before the colon may be logged, the rest never.
func AssertNoSecrets(t testing.TB, secrets []string, texts ...string) {
	t.Helper()
	for i, s := range secrets {
		if s == "" {
			continue
		}
		for j, text := range texts {
			if leaks(text, s) {
				t.Errorf("text %d contains secret %d (or a %d-character piece of it)", j, i, secretWindow)
			}
		}
	}
}

func leaks(text, secret string) bool {
	for _, form := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret)} {
		if strings.Contains(text, form) {
			return true
		}
	}
	if len(secret) <= secretWindow {
		return false
	}
	for i := 0; i+secretWindow <= len(secret); i++ {
		if strings.Contains(text, secret[i:i+secretWindow]) {
			return true
		}
	}
	return false
}
