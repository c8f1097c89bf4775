package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/campaigns"
	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/channels/sandbox"
	"github.com/waymark-org/waymark/chatbot"
	"github.com/waymark-org/waymark/connections"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/dbtest"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/internal/ratelimit"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/migrations"
	"github.com/waymark-org/waymark/web"
	"github.com/waymark-org/waymark/worker"
	"github.com/waymark-org/waymark/workspaces"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func testKeys(t *testing.T) *pii.Keyring {
	t.Helper()
	entry, err := pii.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := pii.ParseKeyring(entry)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

type fixture struct {
	keys   *pii.Keyring
	pool   *pgxpool.Pool
	store  *workspaces.Store
	srv    *web.Server
	http   *httptest.Server
	logs   *bytes.Buffer
	tokens map[workspaces.Role]string // tokens of workspace A
	wsA    workspaces.Workspace
	wsB    workspaces.Workspace
	adminB string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	store := workspaces.NewStore(pool)
	keys := testKeys(t)
	ins, err := worker.NewInserter(pool)
	if err != nil {
		t.Fatal(err)
	}
	outbox := messages.NewOutbox(pool, keys)
	sb := sandbox.New(nil, sandbox.Settings{})
	senders := func(ctx context.Context, wsID int64, campaignID *int64, kind channels.Kind) (channels.Sender, ratelimit.Limit, error) {
		if kind != channels.KindSandbox {
			return nil, ratelimit.Limit{}, campaigns.ErrNoChannel
		}
		// As the binary wires it: a campaign's sandbox sends are written by the caller's commit.
		return sb.WithRecorder(outbox.BatchRecorder(wsID, campaignID)), ratelimit.Limit{}, nil
	}
	srv := web.New(web.Deps{Pool: pool, Workspaces: store, Contacts: contacts.NewStore(pool, keys),
		Campaigns: campaigns.NewStore(pool, keys, ins), Outbox: outbox, Inbox: messages.NewInbox(pool, keys),
		Senders: senders, Logger: logger, Jobs: ins, Chatbot: chatbot.NewStore(pool), Channels: connections.NewStore(pool, keys), PublicURL: "https://waymark.example.org",
		Ready: func(ctx context.Context) error { return migrations.Check(ctx, pool) }})
	f := &fixture{keys: keys, pool: pool, store: store, srv: srv, http: httptest.NewServer(srv), logs: logs,
		tokens: map[workspaces.Role]string{}}
	t.Cleanup(f.http.Close)
	if f.wsA, err = store.Create(ctx, "Alpha NGO", "KE"); err != nil {
		t.Fatal(err)
	}
	if f.wsB, err = store.Create(ctx, "Beta NGO", "ET"); err != nil {
		t.Fatal(err)
	}
	for _, r := range workspaces.Roles {
		tok, _, err := store.CreateToken(ctx, f.wsA.ID, r, "", "", workspaces.CLIActor("test"))
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[r] = tok
	}
	if f.adminB, _, err = store.CreateToken(ctx, f.wsB.ID, workspaces.RoleAdmin, "", "", workspaces.CLIActor("test")); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) do(t *testing.T, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.http.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return f.send(t, req)
}

func (f *fixture) send(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	method, path := req.Method, req.URL.Path
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: answer is not a JSON object: %q", method, path, raw)
	}
	return resp.StatusCode, out
}

func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// TestEveryRouteChecksRole walks the route table: each role outside a route's list is refused with
// 403, each inside gets past the role check, and no token at all gets 401.
func TestEveryRouteChecksRole(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if len(f.srv.Routes()) < 5 {
		t.Fatalf("route table has %d routes", len(f.srv.Routes()))
	}
	for _, rt := range f.srv.Routes() {
		path := strings.TrimPrefix(strings.ReplaceAll(rt.Pattern, "{id}", "999999"), "")
		path = strings.TrimPrefix(path, "")
		status, body := f.do(t, rt.Method, path, "", "")
		if status != http.StatusUnauthorized || errorCode(body) != "unauthorized" {
			t.Errorf("%s %s without token: %d %v", rt.Method, path, status, body)
		}
		status, _ = f.do(t, rt.Method, path, "wmk_notarealtoken", "")
		if status != http.StatusUnauthorized {
			t.Errorf("%s %s with unknown token: %d", rt.Method, path, status)
		}
		for _, role := range workspaces.Roles {
			status, body := f.do(t, rt.Method, path, f.tokens[role], "{}")
			allowed := role.Allowed(rt.Roles...)
			if !allowed && (status != http.StatusForbidden || errorCode(body) != "forbidden") {
				t.Errorf("%s %s as %s: want 403, got %d %v", rt.Method, path, role, status, body)
			}
			if allowed && (status == http.StatusForbidden || status == http.StatusUnauthorized) {
				t.Errorf("%s %s as %s: allowed role refused with %d", rt.Method, path, role, status)
			}
		}
	}
}

func TestWorkspaceIsolation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	status, body := f.do(t, "GET", "/api/v1/workspace", f.tokens[workspaces.RoleViewer], "")
	if status != 200 || body["name"] != "Alpha NGO" || body["role"] != "viewer" {
		t.Fatalf("viewer of A sees %d %v", status, body)
	}
	status, body = f.do(t, "GET", "/api/v1/workspace", f.adminB, "")
	if status != 200 || body["name"] != "Beta NGO" {
		t.Fatalf("admin of B sees %d %v", status, body)
	}
	// A's tokens are invisible to B's admin and cannot be revoked by it.
	status, body = f.do(t, "GET", "/api/v1/tokens", f.adminB, "")
	if status != 200 {
		t.Fatal(status, body)
	}
	if n := len(body["tokens"].([]any)); n != 1 {
		t.Fatalf("B's admin lists %d tokens, want only its own 1", n)
	}
	aTokens, err := f.store.ListTokens(context.Background(), f.wsA.ID)
	if err != nil {
		t.Fatal(err)
	}
	status, body = f.do(t, "DELETE", "/api/v1/tokens/"+itoa(aTokens[0].ID), f.adminB, "")
	if status != http.StatusNotFound || errorCode(body) != "not_found" {
		t.Fatalf("B revoking A's token: %d %v", status, body)
	}
	status, _ = f.do(t, "GET", "/api/v1/workspace", f.tokens[workspaces.RoleAuthor], "")
	if status != 200 {
		t.Fatalf("A's token stopped working after B's attempt: %d", status)
	}
	// B's audit log holds nothing of A's.
	_, body = f.do(t, "GET", "/api/v1/audit", f.adminB, "")
	for _, e := range body["entries"].([]any) {
		if rid := e.(map[string]any)["record_id"]; rid == itoa(aTokens[0].ID) {
			t.Fatalf("B's audit log shows A's token: %v", e)
		}
	}
}

func TestTokenLifecycleAndAudit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin := f.tokens[workspaces.RoleAdmin]
	status, body := f.do(t, "POST", "/api/v1/tokens", admin, `{"role":"operator","user":"amina","name":"laptop"}`)
	if status != http.StatusCreated {
		t.Fatalf("create token: %d %v", status, body)
	}
	plain := body["token"].(string)
	id := int64(body["details"].(map[string]any)["id"].(float64))
	status, body = f.do(t, "GET", "/api/v1/workspace", plain, "")
	if status != 200 || body["role"] != "operator" {
		t.Fatalf("new token: %d %v", status, body)
	}
	status, _ = f.do(t, "DELETE", "/api/v1/tokens/"+itoa(id), admin, "")
	if status != 200 {
		t.Fatalf("revoke: %d", status)
	}
	status, body = f.do(t, "GET", "/api/v1/workspace", plain, "")
	if status != http.StatusUnauthorized {
		t.Fatalf("revoked token still works: %d %v", status, body)
	}
	status, body = f.do(t, "PATCH", "/api/v1/workspace", admin, `{"audit_retention_days": 400}`)
	if status != 200 || body["audit_retention_days"].(float64) != 400 {
		t.Fatalf("patch workspace: %d %v", status, body)
	}

	_, body = f.do(t, "GET", "/api/v1/audit?limit=1000", admin, "")
	var seen []string
	for _, e := range body["entries"].([]any) {
		m := e.(map[string]any)
		seen = append(seen, m["action"].(string)+" "+m["record_type"].(string)+" by "+m["actor_name"].(string))
	}
	want := []string{"update workspace by admin", "revoke api_token by admin", "create api_token by admin"}
	for i, w := range want {
		if i >= len(seen) || seen[i] != w {
			t.Fatalf("audit entries, newest first: %q; want to start with %q", seen, want)
		}
	}
	// The settings that decide what people read on their phones are in the audit trail too.
	if status, body = f.do(t, "PATCH", "/api/v1/workspace", admin, `{"sender_name": "Travel Info", "replies_per_hour": 4}`); status != 200 {
		t.Fatalf("patch sender name: %d %v", status, body)
	}
	_, body = f.do(t, "GET", "/api/v1/audit?limit=1", admin, "")
	detail, _ := body["entries"].([]any)[0].(map[string]any)["detail"].(map[string]any)
	if detail["sender_name"] != "Travel Info" || detail["replies_per_hour"] != float64(4) || detail["hotline_number"] == nil ||
		detail["conversation_ttl_seconds"] == nil {
		t.Fatalf("settings audit detail: %v", detail)
	}

	// Message retention: 90 days until changed, never "keep for ever", and changing it leaves
	// the other settings as they were.
	if _, body = f.do(t, "GET", "/api/v1/workspace", admin, ""); body["message_retention_days"] != float64(90) {
		t.Fatalf("default message retention: %v", body["message_retention_days"])
	}
	status, body = f.do(t, "PATCH", "/api/v1/workspace", admin, `{"message_retention_days": 30}`)
	if status != 200 || body["message_retention_days"] != float64(30) || body["audit_retention_days"] != float64(400) {
		t.Fatalf("patch message retention: %d %v", status, body)
	}
	for _, bad := range []string{"0", "-1", "36501"} {
		status, body = f.do(t, "PATCH", "/api/v1/workspace", admin, `{"message_retention_days": `+bad+`}`)
		if e, _ := body["error"].(map[string]any); status != http.StatusBadRequest || e["field"] != "message_retention_days" {
			t.Fatalf("message retention %s: %d %v, want 400 naming the field", bad, status, body)
		}
	}
}

// TestFirstMessageSetting sets the workspace's first message through the API: tags are stored in
// canonical form, texts trimmed, an empty text drops its language, length counts characters (an
// Amharic text of 320 characters is three times as many bytes), other settings are left alone,
// and every bad input is refused with 400 naming the field.
func TestFirstMessageSetting(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin := f.tokens[workspaces.RoleAdmin]
	if _, body := f.do(t, "GET", "/api/v1/workspace", admin, ""); !reflect.DeepEqual(body["first_message"], map[string]any{}) {
		t.Fatalf("a new workspace's first message: %v, want {}", body["first_message"])
	}
	amharic := strings.Repeat("ሰ", workspaces.MaxFirstMessageChars)
	status, body := f.do(t, "PATCH", "/api/v1/workspace", admin,
		`{"first_message": {"EN": "  Hello. Reply STOP to end.  ", "fa-af": "", "am": "`+amharic+`"}}`)
	want := map[string]any{"en": "Hello. Reply STOP to end.", "am": amharic}
	if status != 200 || !reflect.DeepEqual(body["first_message"], want) {
		t.Fatalf("set first message: %d %v, want %v", status, body["first_message"], want)
	}
	// Limits count characters, not bytes: 40 Ethiopic letters are 120 bytes.
	if status, body := f.do(t, "PATCH", "/api/v1/workspace", admin, `{"sender_name": "`+strings.Repeat("ሰ", 40)+`"}`); status != 200 {
		t.Fatalf("a 40-character Amharic sender name: %d %v", status, body)
	}
	if status, body := f.do(t, "PATCH", "/api/v1/workspace", admin, `{"sender_name": "`+strings.Repeat("ሰ", 41)+`"}`); status != http.StatusBadRequest {
		t.Fatalf("a 41-character sender name: %d %v", status, body)
	}
	status, body = f.do(t, "PATCH", "/api/v1/workspace", admin, `{"sender_name": "Travel Info"}`)
	if status != 200 || !reflect.DeepEqual(body["first_message"], want) {
		t.Fatalf("changing another setting changed the first message: %d %v", status, body["first_message"])
	}
	if _, body = f.do(t, "GET", "/api/v1/workspace", f.tokens[workspaces.RoleViewer], ""); !reflect.DeepEqual(body["first_message"], want) {
		t.Fatalf("read back: %v", body["first_message"])
	}
	for _, tc := range []struct{ body, field string }{
		{`{"first_message": {"xx": "Hello"}}`, "first_message"},
		{`{"first_message": {"not a tag": "Hello"}}`, "first_message"},
		{`{"first_message": {"en": "` + strings.Repeat("a", workspaces.MaxFirstMessageChars+1) + `"}}`, "first_message.en"},
		{`{"first_message": {"am": "` + amharic + `ሰ"}}`, "first_message.am"},
		{`{"first_message": {"en": "Call {{.Hotline}}"}}`, "first_message.en"},
		{`{"first_message": {"fa-AF": "سلام", "fa-af": "سلام"}}`, "first_message.fa-af"},
		{`{"first_message": {"en": 5}}`, "first_message"},
		{`{"first_message": ["Hello"]}`, "first_message"},
	} {
		status, body := f.do(t, "PATCH", "/api/v1/workspace", admin, tc.body)
		if e, _ := body["error"].(map[string]any); status != http.StatusBadRequest || e["field"] != tc.field {
			t.Errorf("%s: %d %v, want 400 naming %s", tc.body, status, body, tc.field)
		}
	}
	// Refused changes left the first message as it was; {} removes it.
	if _, body = f.do(t, "GET", "/api/v1/workspace", admin, ""); !reflect.DeepEqual(body["first_message"], want) {
		t.Fatalf("after refused changes: %v", body["first_message"])
	}
	status, body = f.do(t, "PATCH", "/api/v1/workspace", admin, `{"first_message": {}}`)
	if status != 200 || !reflect.DeepEqual(body["first_message"], map[string]any{}) {
		t.Fatalf("clear first message: %d %v", status, body["first_message"])
	}
	// Only an admin may change it.
	status, _ = f.do(t, "PATCH", "/api/v1/workspace", f.tokens[workspaces.RoleAuthor], `{"first_message": {"en": "Hi"}}`)
	if status != http.StatusForbidden {
		t.Fatalf("an author changed the first message: %d", status)
	}
}

// TestTokenNeverStored checks that no table holds the plain token and no log line shows it.
func TestTokenNeverStored(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin := f.tokens[workspaces.RoleAdmin]
	_, body := f.do(t, "POST", "/api/v1/tokens", admin, `{"role":"viewer"}`)
	plain := body["token"].(string)
	f.do(t, "GET", "/api/v1/workspace", plain, "")
	secret := strings.TrimPrefix(plain, "wmk_")
	for _, tok := range append([]string{plain}, admin) {
		rows, err := f.pool.Query(context.Background(),
			`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`)
		if err != nil {
			t.Fatal(err)
		}
		var tables []string
		for rows.Next() {
			var n string
			_ = rows.Scan(&n)
			tables = append(tables, n)
		}
		rows.Close()
		if len(tables) < 4 {
			t.Fatalf("found only tables %v", tables)
		}
		for _, tbl := range tables {
			var hits int
			err := f.pool.QueryRow(context.Background(),
				`SELECT count(*) FROM `+tbl+` x WHERE x::text LIKE '%' || $1 || '%'`, secret[:20]).Scan(&hits)
			if err != nil {
				t.Fatal(tbl, err)
			}
			if hits > 0 {
				t.Fatalf("table %s holds the plain token", tbl)
			}
		}
		if strings.Contains(f.logs.String(), tok[4:20]) {
			t.Fatal("the logs show a token")
		}
	}
	if f.logs.Len() == 0 {
		t.Fatal("no request was logged at all; the log check proves nothing")
	}
}

func TestErrorsAreJSON(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin := f.tokens[workspaces.RoleAdmin]
	cases := []struct {
		method, path, body string
		status             int
		code, field        string
	}{
		{"POST", "/api/v1/tokens", `{"role":"superuser"}`, 400, "invalid", "role"},
		{"POST", "/api/v1/tokens", `{"role":"viewer","colour":"red"}`, 400, "invalid", "colour"},
		{"POST", "/api/v1/tokens", `{"role":`, 400, "invalid", ""},
		{"POST", "/api/v1/tokens", `{"role": 7}`, 400, "invalid", "role"},
		{"PATCH", "/api/v1/workspace", `{"default_country":"Kenya"}`, 400, "invalid", "default_country"},
		{"DELETE", "/api/v1/tokens/abc", "", 400, "invalid", "id"},
		{"DELETE", "/api/v1/tokens/424242", "", 404, "not_found", ""},
		{"GET", "/api/v1/nothing-here", "", 404, "not_found", ""},
		{"GET", "/api/v1/audit?limit=0", "", 400, "invalid", "limit"},
	}
	for _, c := range cases {
		status, body := f.do(t, c.method, c.path, admin, c.body)
		e, _ := body["error"].(map[string]any)
		if status != c.status || errorCode(body) != c.code || (c.field != "" && e["field"] != c.field) || e["message"] == "" {
			t.Errorf("%s %s %s: got %d %v; want %d %s field %q", c.method, c.path, c.body, status, body, c.status, c.code, c.field)
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if status, body := f.do(t, "GET", "/healthz", "", ""); status != 200 || body["status"] != "ok" {
		t.Fatalf("healthz: %d %v", status, body)
	}
	if status, body := f.do(t, "GET", "/readyz", "", ""); status != 200 || body["status"] != "ready" {
		t.Fatalf("readyz: %d %v", status, body)
	}
	// A server whose database lacks migrations is not ready.
	empty, err := pgxpool.New(context.Background(), dbtest.EmptyDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	srv := httptest.NewServer(web.New(web.Deps{Pool: empty, Workspaces: workspaces.NewStore(empty),
		Logger: slog.New(slog.DiscardHandler), Ready: func(ctx context.Context) error { return migrations.Check(ctx, empty) }}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(raw), "waymark migrate") {
		t.Fatalf("readyz on an unmigrated database: %d %s", resp.StatusCode, raw)
	}
}

func itoa(n int64) string { return strings.TrimSpace(strings.Replace(jsonNum(n), "\n", "", 1)) }

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }
