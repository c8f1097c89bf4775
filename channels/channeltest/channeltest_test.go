package channeltest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTB records failures instead of failing, so the harness's own checks can be tested.
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	errs     []string
	cleanups []func()
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }

func (f *fakeTB) finish() []string {
	for _, fn := range slices.Backward(f.cleanups) {
		fn()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.errs
}

func post(t *testing.T, u, contentType string, body []byte) *http.Response {
	t.Helper()
	resp, err := http.Post(u, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestServerAnswersAndRecords(t *testing.T) {
	t.Parallel()
	f := &fakeTB{}
	srv := NewServer(f,
		Exchange{Path: "/form", Fields: map[string]string{"To": "+1", "Body": "ሰላም"}, Absent: []string{"From"},
			BasicAuthUser: "AC1", Status: 201, Header: map[string]string{"Retry-After": "3"}, Body: `{"sid":"SM1"}`},
		Exchange{Path: "/multipart", Fields: map[string]string{"chat_id": "5", "reply_markup": `{"a":1}`, "doc": "a.txt"}},
		Exchange{Path: "/json", Fields: map[string]string{"offset": "7", "name": "x", "list": `["a","b"]`}},
	)

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/form", strings.NewReader(url.Values{"To": {"+1"}, "Body": {"ሰላም"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("AC1", "token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || resp.Header.Get("Retry-After") != "3" || string(b) != `{"sid":"SM1"}` ||
		resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("answer: %d %v %s", resp.StatusCode, resp.Header, b)
	}

	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	w.WriteField("chat_id", "5")
	w.WriteField("reply_markup", `{"a":1}`)
	fw, _ := w.CreateFormFile("doc", "a.txt")
	fw.Write([]byte("content"))
	w.Close()
	post(t, srv.URL+"/multipart", w.FormDataContentType(), mp.Bytes())

	post(t, srv.URL+"/json", "application/json", []byte(`{"offset": 7, "name": "x", "list": ["a", "b"]}`))

	if errs := f.finish(); len(errs) != 0 {
		t.Fatalf("a matching conversation failed: %q", errs)
	}
	got := srv.Requests()
	if len(got) != 3 || got[0].Fields.Get("Body") != "ሰላም" || got[1].Path != "/multipart" || got[2].Fields.Get("offset") != "7" {
		t.Fatalf("recorded %+v", got)
	}
	var v any
	json.Unmarshal([]byte(got[1].Fields.Get("reply_markup")), &v)
	if !HasKey(v, "a") || HasKey(v, "copy_text") {
		t.Errorf("HasKey on %v", v)
	}
}

func TestServerFailsOnMismatches(t *testing.T) {
	t.Parallel()
	f := &fakeTB{}
	srv := NewServer(f, Exchange{Path: "/m", Fields: map[string]string{"To": "+1", "Missing": "x"}, Absent: []string{"From"},
		BasicAuthUser: "AC1", Check: func(t testing.TB, r *Request) { t.Errorf("check ran") }})
	post(t, srv.URL+"/other", "application/x-www-form-urlencoded", []byte("To=%2B2&From=x"))
	errs := strings.Join(f.finish(), "\n")
	for _, want := range []string{"/other", `"To" = "+2"`, `no field "Missing"`, `"From"`, "Basic auth", "check ran"} {
		if !strings.Contains(errs, want) {
			t.Errorf("failures do not mention %s:\n%s", want, errs)
		}
	}
}

func TestServerFailsOnUnexpectedAndUnusedExchanges(t *testing.T) {
	t.Parallel()
	f := &fakeTB{}
	srv := NewServer(f)
	if resp := post(t, srv.URL+"/x", "application/json", []byte(`{}`)); resp.StatusCode != http.StatusTeapot {
		t.Errorf("unexpected request answered %d", resp.StatusCode)
	}
	if errs := f.finish(); len(errs) != 1 || !strings.Contains(errs[0], "unexpected request") {
		t.Errorf("failures: %q", errs)
	}

	f = &fakeTB{}
	NewServer(f, Exchange{Path: "/never"})
	if errs := f.finish(); len(errs) != 1 || !strings.Contains(errs[0], "/never") {
		t.Errorf("failures: %q", errs)
	}
}

func TestServerDelayEndsWithTheClient(t *testing.T) {
	t.Parallel()
	f := &fakeTB{}
	srv := NewServer(f, Exchange{Path: "/slow", Delay: 1 << 62})
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/slow", nil)
	go func() {
		for len(srv.Requests()) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	// finish closes the server, which waits for the handler: this returns only if the delay ended.
	if errs := f.finish(); len(errs) != 0 {
		t.Errorf("failures: %q", errs)
	}
}

func TestAssertNoSecrets(t *testing.T) {
	t.Parallel()
	// A bot token's id before the colon is public, so only the part after it is passed.
	const secret = "AAHq3xZ9kLmN4pQ7rS2tUvW8yB1cD5eF6gH"
	const token = "7000000001:" + secret
	for text, leaks := range map[string]bool{
		"all clear":                          false,
		"Post /bot<token>/sendMessage":       false,
		"bot 7000000001 said no":             false,
		"Post /bot" + token + "/sendMessage": true,
		"…" + token[11:25] + "…":             true, // a piece is a leak
		url.QueryEscape(token):               true,
		"key=" + token[len(token)-10:]:       true,
	} {
		f := &fakeTB{}
		AssertNoSecrets(f, []string{"", secret}, "first text", text)
		errs := f.finish()
		if (len(errs) > 0) != leaks {
			t.Errorf("%q: failures %q, want leak %v", text, errs, leaks)
		}
		for _, e := range errs {
			if strings.Contains(e, token[11:21]) {
				t.Errorf("the failure message quotes the secret: %q", e)
			}
		}
	}

	// A secret shorter than the window is only found whole.
	f := &fakeTB{}
	AssertNoSecrets(f, []string{"12345"}, "1234 and 2345")
	if errs := f.finish(); len(errs) != 0 {
		t.Errorf("short secret: %q", errs)
	}
	AssertNoSecrets(f, []string{"12345"}, "x12345y")
	if errs := f.finish(); len(errs) != 1 {
		t.Errorf("short secret whole: %q", errs)
	}
}

func TestLogCapture(t *testing.T) {
	t.Parallel()
	c := NewLogCapture()
	c.Logger().With("channel", 5).Debug("quiet", "k", "v")
	c.Logger().Error("loud")
	s := c.String()
	if !strings.Contains(s, `"msg":"quiet"`) || !strings.Contains(s, `"channel":5`) || !strings.Contains(s, `"msg":"loud"`) {
		t.Errorf("captured %q", s)
	}
}
