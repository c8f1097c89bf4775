// Package channeltest is the shared test harness for providers under channels/: a fake provider
// server that speaks whatever wire format a table describes, tables for sending (given this
// message and these canned answers, expect these requests and this result or classified error)
// and for receiving (given this webhook request, expect these events or this rejection), and the
// checks every provider owes, chiefly that no credential reaches an error or a log line.
//
// Fakes exist only for the outside world, and they speak its real wire format: a provider test
// points the real client library at a Server, so what is checked is the HTTP the library
// actually sends, not a mock of the library.
package channeltest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"
)

// Exchange is one request a fake provider expects and the answer it gives. The zero values of
// the answer fields give a 200 with an empty body.
type Exchange struct {
	// Method is the expected HTTP method; "" means POST, which is what provider APIs use.
	Method string
	// Path is the expected URL path, exactly (query excluded).
	Path string
	// Fields are body fields that must be present with exactly these values. Form-encoded and
	// multipart bodies are read as forms; a JSON object body is flattened one level, strings
	// as themselves and anything else as its compact JSON text (so a nested object is compared
	// as JSON text, such as `["message","callback_query"]`).
	Fields map[string]string
	// Absent are body fields that must not be present at all.
	Absent []string
	// BasicAuthUser, when set, is the user name the request must carry in Basic auth.
	BasicAuthUser string
	// Check runs further assertions on the request the fake received.
	Check func(t testing.TB, r *Request)

	// Status is the answer's HTTP status; 0 means 200.
	Status int
	// Header holds answer headers, such as Retry-After; Content-Type defaults to JSON.
	Header map[string]string
	// Body is the answer's body, usually the provider's own JSON.
	Body string
	// Delay holds the answer back, to let a client time out; it ends early when the client
	// gives up, so a timed-out test does not wait for it.
	Delay time.Duration
}

// Request is what the fake provider received.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
	// Fields are the body's fields as Exchange.Fields describes them.
	Fields url.Values
}

// Server is a fake provider API: it answers requests in the order its exchanges list them, fails
// the test on a request it did not expect, and at the end of the test on any exchange left
// unused. It is safe for concurrent use, but expects requests one at a time in order.
type Server struct {
	// URL is the server's base URL (scheme://host:port), for the client under test.
	URL string

	t         testing.TB
	srv       *httptest.Server
	mu        sync.Mutex
	exchanges []Exchange
	next      int
	got       []Request
}

// NewServer starts a fake provider that expects exactly these exchanges, in order. It stops at
// the end of the test, which also checks that every exchange was used.
func NewServer(t testing.TB, exchanges ...Exchange) *Server {
	t.Helper()
	s := &Server{t: t, exchanges: exchanges}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(func() {
		// Close waits for handlers still running, so the count below is final.
		s.srv.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for i := s.next; i < len(s.exchanges); i++ {
			e := s.exchanges[i]
			t.Errorf("fake provider: expected request %d (%s %s) was never made", i+1, method(e), e.Path)
		}
	})
	return s
}

// Requests returns what the server received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

func method(e Exchange) string {
	if e.Method == "" {
		return http.MethodPost
	}
	return e.Method
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	req, err := readRequest(r)
	if err != nil {
		s.t.Errorf("fake provider: reading %s %s: %v", r.Method, r.URL.Path, err)
		http.Error(w, "unreadable request", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.got = append(s.got, req)
	if s.next >= len(s.exchanges) {
		s.mu.Unlock()
		s.t.Errorf("fake provider: unexpected request %s %s (all %d expected requests were made)",
			r.Method, r.URL.Path, len(s.exchanges))
		http.Error(w, "unexpected request", http.StatusTeapot)
		return
	}
	n := s.next
	e := s.exchanges[n]
	s.next++
	s.mu.Unlock()

	if req.Method != method(e) || req.Path != e.Path {
		s.t.Errorf("fake provider: request %d is %s %s, want %s %s", n+1, req.Method, req.Path, method(e), e.Path)
	}
	for k, want := range e.Fields {
		if !req.Fields.Has(k) {
			s.t.Errorf("fake provider: request %d has no field %q (want %q); fields: %v", n+1, k, want, req.Fields)
		} else if got := req.Fields.Get(k); got != want {
			s.t.Errorf("fake provider: request %d field %q = %q, want %q", n+1, k, got, want)
		}
	}
	for _, k := range e.Absent {
		if req.Fields.Has(k) {
			s.t.Errorf("fake provider: request %d has field %q = %q, which must be absent", n+1, k, req.Fields.Get(k))
		}
	}
	if e.BasicAuthUser != "" {
		if user, _, ok := r.BasicAuth(); !ok || user != e.BasicAuthUser {
			s.t.Errorf("fake provider: request %d Basic auth user = %q (present %v), want %q", n+1, user, ok, e.BasicAuthUser)
		}
	}
	if e.Check != nil {
		e.Check(s.t, &req)
	}

	if e.Delay > 0 {
		select {
		case <-time.After(e.Delay):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	for k, v := range e.Header {
		w.Header().Set(k, v)
	}
	status := e.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	io.WriteString(w, e.Body)
}

// readRequest copies what a handler needs before the request ends, and reads the body's fields
// by its content type.
func readRequest(r *http.Request) (Request, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return Request{}, err
	}
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(),
		Body: body, Fields: url.Values{}}
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case len(body) == 0:
	case ct == "application/x-www-form-urlencoded":
		req.Fields, err = url.ParseQuery(string(body))
	case ct == "multipart/form-data":
		req.Fields, err = multipartFields(body, params["boundary"])
	case ct == "application/json":
		req.Fields, err = jsonFields(body)
	}
	return req, err
}

func multipartFields(body []byte, boundary string) (url.Values, error) {
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		return nil, err
	}
	f := url.Values{}
	for k, vs := range r.MultipartForm.Value {
		f[k] = vs
	}
	for k, fhs := range r.MultipartForm.File {
		for _, fh := range fhs {
			f.Add(k, fh.Filename)
		}
	}
	return f, nil
}

func jsonFields(body []byte) (url.Values, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, fmt.Errorf("JSON body is not an object: %w", err)
	}
	f := url.Values{}
	for k, raw := range obj {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			f.Set(k, s)
			continue
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			return nil, err
		}
		f.Set(k, compact.String())
	}
	return f, nil
}

// JSONField decodes a field holding JSON text (a multipart field such as Telegram's
// reply_markup, or a nested value of a JSON body) into a generic value, for Check functions.
func JSONField(t testing.TB, r *Request, name string) any {
	t.Helper()
	raw := r.Fields.Get(name)
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Errorf("field %q is not JSON: %v (%q)", name, err, raw)
	}
	return v
}

// HasKey reports whether a decoded JSON value contains an object key named key at any depth;
// it lets a test say that a field the provider must never receive (such as copy_text) is gone
// wherever it might hide.
func HasKey(v any, key string) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if k == key || HasKey(x, key) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if HasKey(x, key) {
				return true
			}
		}
	}
	return false
}
