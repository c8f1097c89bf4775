package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waymark-org/waymark/campaigns"
	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/worker"
	"github.com/waymark-org/waymark/workspaces"
)

// mustJSON writes v as a request body.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// errorOf returns the field and message of an error answer.
func errorOf(body map[string]any) (field, message string) {
	e, _ := body["error"].(map[string]any)
	field, _ = e["field"].(string)
	message, _ = e["message"].(string)
	return field, message
}

// idOf returns the "id" of an answer as the string a path takes.
func idOf(t *testing.T, body map[string]any) string {
	t.Helper()
	id, ok := body["id"].(float64)
	if !ok || id <= 0 {
		t.Fatalf("answer has no id: %v", body)
	}
	return itoa(int64(id))
}

// toQuery escapes a sandbox address for ?to=, where a bare + would read as a space.
func toQuery(addr string) string { return url.QueryEscape(addr) }

// Texts used across the campaign tests, with what the preview and test sends must show.
const (
	enText   = "Check any job offer before you travel. Call {{.Hotline}}."
	enSent   = "Check any job offer before you travel. Call +254800000000.\nReply STOP to stop."
	amText   = "ከመጓዝዎ በፊት ማንኛውንም የሥራ ቅናሽ ያረጋግጡ።"
	amSent   = amText + "\nለማቆም «አቁም» ይላኩ።"
	faAFText = "پیش از سفر هر پیشنهاد کاری را بررسی کنید."
	faAFSent = faAFText + "\nبرای قطع پیام‌ها «توقف» بفرستید."
	arHint   = "\nللإيقاف أرسل «توقف»."
)

// arLong needs four UCS-2 segments once the hint is added (209 + 21 = 230 UTF-16 units).
var arLong = strings.TrimSpace(strings.Repeat("تحقق من أي عرض عمل قبل السفر. ", 7))

func fourLanguages() map[string]any {
	return map[string]any{
		"en":    map[string]string{"other": enText},
		"ar":    map[string]string{"other": arLong},
		"am":    map[string]string{"other": amText},
		"fa-af": map[string]string{"other": faAFText},
	}
}

func TestCampaignCreateRefusesBrokenTemplates(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	author := f.tokens[workspaces.RoleAuthor]
	good := fourLanguages()
	with := func(lang string, body map[string]string) map[string]any {
		c := map[string]any{}
		for k, v := range good {
			c[k] = v
		}
		c[lang] = body
		return c
	}
	cases := []struct {
		name     string
		contents map[string]any
		count    *int
		field    string
		want     []string // each must appear in the message
	}{
		{"syntax error on line 2", with("fa-af", map[string]string{"other": "سلام\nپیش از سفر {{end}}"}),
			nil, "contents.fa-AF", []string{"fa-AF (other) line 2, column 12: unexpected {{end}}"}},
		{"unknown variable", with("am", map[string]string{"other": "ሰላም {{.Nmae}}፣ ከመጓዝዎ በፊት"}),
			nil, "contents.am", []string{"am (other) line 1, column 7: unknown variable .Nmae"}},
		{"missing plural form", with("en", map[string]string{"other": "You have {{.Count}} new messages"}),
			ptrInt(3), "contents.en", []string{"en (one): English needs a 'one' form because the text uses {{.Count}}"}},
		{"Arabic plural forms", with("ar", map[string]string{"other": "لديك {{.Count}} رسائل", "one": "لديك رسالة"}),
			ptrInt(3), "contents.ar", []string{"ar (zero): Arabic needs a 'zero' form", "ar (two): Arabic needs a 'two' form",
				"ar (few): Arabic needs a 'few' form", "ar (many): Arabic needs a 'many' form"}},
		{"two languages broken", map[string]any{
			"en": map[string]string{"other": "Hello\nfriend {{end}}"},
			"am": map[string]string{"other": "ሰላም {{.Nmae}}"},
		}, nil, "contents.am", []string{"am (other) line 1, column 7: unknown variable .Nmae", "en (other) line 2, column 8: unexpected {{end}}"}},
		{"tag that is no language", with("xx-nope", map[string]string{"other": "hi"}), nil, "contents.xx-nope", []string{"xx-nope"}},
	}
	for _, c := range cases {
		in := map[string]any{"name": "Safe routes", "contents": c.contents}
		if c.count != nil {
			in["count"] = *c.count
		}
		status, body := f.do(t, "POST", "/api/v1/campaigns", author, mustJSON(t, in))
		field, msg := errorOf(body)
		if status != http.StatusBadRequest || errorCode(body) != "invalid" || field != c.field {
			t.Errorf("%s: got %d %v; want 400 invalid on %s", c.name, status, body, c.field)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: message %q does not say %q", c.name, msg, w)
			}
		}
	}
	for _, c := range []struct{ body, field string }{
		{`{"contents":{"en":{"other":"Hi"}}}`, "name"},
		{`{"name":"No text"}`, "contents"},
		{`{"name":"Empty","contents":{"en":{"other":"   "}}}`, "contents.en"},
		{`{"name":"x","contents":{"en":{"other":"Hi"}},"colour":"red"}`, "colour"},
		{`{"name":"x","contents":{"en":{"other":"Hi"}},"channel_order":["fax"]}`, "channel_order"},
		{`{"name":"x","contents":{"en":{"other":"Hi"}},"schedule":{"kind":"hourly"}}`, "schedule.kind"},
		{`{"name":"x","contents":{"en":{"other":"Hi"}},"send_window":"9 days"}`, "send_window"},
	} {
		status, body := f.do(t, "POST", "/api/v1/campaigns", author, c.body)
		if field, _ := errorOf(body); status != http.StatusBadRequest || field != c.field {
			t.Errorf("%s: got %d %v; want 400 on %s", c.body, status, body, c.field)
		}
	}
	// Nothing refused was saved.
	_, body := f.do(t, "GET", "/api/v1/campaigns", author, "")
	if list := body["campaigns"].([]any); len(list) != 0 {
		t.Fatalf("refused campaigns were saved: %v", list)
	}
}

func ptrInt(n int) *int { return &n }

func TestCampaignCreateGetAndList(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	author := f.tokens[workspaces.RoleAuthor]
	in := map[string]any{"name": "  Safe routes  ", "contents": fourLanguages(),
		"audience":    map[string]any{"languages": []string{"AR", "prs"}, "countries": []string{"ke"}},
		"quiet_hours": map[string]string{"start": "21:00", "end": "08:00"}, "send_window": "90m"}
	status, created := f.do(t, "POST", "/api/v1/campaigns", author, mustJSON(t, in))
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, created)
	}
	id := idOf(t, created)
	check := func(what string, c map[string]any) {
		t.Helper()
		contents, _ := c["contents"].(map[string]any)
		var langs []string
		for l := range contents {
			langs = append(langs, l)
		}
		slices.Sort(langs)
		audience, _ := c["audience"].(map[string]any)
		schedule, _ := c["schedule"].(map[string]any)
		if c["name"] != "Safe routes" || c["state"] != "draft" || strings.Join(langs, ",") != "am,ar,en,fa-AF" ||
			c["append_opt_out"] != true || c["send_window"] != "1h30m0s" || schedule["kind"] != "now" ||
			mustJSON(t, c["channel_order"]) != `["sandbox"]` ||
			mustJSON(t, audience) != `{"countries":["KE"],"languages":["ar","fa-AF"]}` ||
			mustJSON(t, c["quiet_hours"]) != `{"end":"08:00","start":"21:00"}` {
			t.Fatalf("%s: %v", what, c)
		}
		if got := contents["fa-AF"].(map[string]any)["other"]; got != faAFText {
			t.Fatalf("%s: fa-AF text %q", what, got)
		}
		if _, ok := c["next_run_at"]; ok {
			t.Fatalf("%s: a draft has a next run: %v", what, c)
		}
	}
	check("create", created)
	status, got := f.do(t, "GET", "/api/v1/campaigns/"+id, f.tokens[workspaces.RoleViewer], "")
	if status != http.StatusOK || got["id"] != created["id"] {
		t.Fatalf("get: %d %v", status, got)
	}
	check("get", got)
	if status, body := f.do(t, "GET", "/api/v1/campaigns/99999999", author, ""); status != http.StatusNotFound || errorCode(body) != "not_found" {
		t.Fatalf("get of an unknown id: %d %v", status, body)
	}
	if status, body := f.do(t, "GET", "/api/v1/campaigns/abc", author, ""); status != http.StatusBadRequest {
		t.Fatalf("get of id abc: %d %v", status, body)
	}

	// Five more, two of them cancelled: six campaigns, four drafts.
	ids := []string{id}
	for _, name := range []string{"B", "C", "D", "E", "F"} {
		status, body := f.do(t, "POST", "/api/v1/campaigns", author, mustJSON(t, map[string]any{"name": name,
			"contents": map[string]any{"en": map[string]string{"other": "Hello " + name}}}))
		if status != http.StatusCreated {
			t.Fatalf("create %s: %d %v", name, status, body)
		}
		ids = append(ids, idOf(t, body))
	}
	for _, i := range []string{ids[2], ids[4]} {
		if status, body := f.do(t, "POST", "/api/v1/campaigns/"+i+"/cancel", author, ""); status != 200 || body["state"] != "cancelled" {
			t.Fatalf("cancel %s: %d %v", i, status, body)
		}
	}
	page := func(query string) ([]string, string) {
		t.Helper()
		status, body := f.do(t, "GET", "/api/v1/campaigns"+query, author, "")
		if status != http.StatusOK {
			t.Fatalf("list %s: %d %v", query, status, body)
		}
		var got []string
		for _, c := range body["campaigns"].([]any) {
			got = append(got, idOf(t, c.(map[string]any)))
		}
		next, _ := body["next_cursor"].(string)
		return got, next
	}
	if got, next := page(""); !slices.Equal(got, ids) || next != "" {
		t.Fatalf("list all: %v next %q; want %v", got, next, ids)
	}
	if got, next := page("?state=cancelled"); !slices.Equal(got, []string{ids[2], ids[4]}) || next != "" {
		t.Fatalf("list cancelled: %v next %q", got, next)
	}
	// Drafts two at a time: ids 0, 1, 3, 5.
	drafts, next := page("?state=draft&limit=2")
	if !slices.Equal(drafts, []string{ids[0], ids[1]}) || next != ids[1] {
		t.Fatalf("drafts page 1: %v next %q", drafts, next)
	}
	drafts, next = page("?state=draft&limit=2&cursor=" + next)
	if !slices.Equal(drafts, []string{ids[3], ids[5]}) || next != "" {
		t.Fatalf("drafts page 2: %v next %q (a full last page needs no cursor)", drafts, next)
	}
	var all []string
	for cursor := ""; ; {
		q := "?limit=4"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		got, next := page(q)
		all = append(all, got...)
		if next == "" {
			break
		}
		cursor = next
	}
	if !slices.Equal(all, ids) {
		t.Fatalf("paging by 4 gave %v, want %v", all, ids)
	}
	if got, _ := page("?state=sending"); len(got) != 0 {
		t.Fatalf("list sending: %v", got)
	}
	for _, q := range []struct{ query, field string }{{"?cursor=abc", "cursor"}, {"?limit=0", "limit"}, {"?limit=1001", "limit"}} {
		status, body := f.do(t, "GET", "/api/v1/campaigns"+q.query, author, "")
		if field, _ := errorOf(body); status != http.StatusBadRequest || field != q.field {
			t.Errorf("list %s: %d %v", q.query, status, body)
		}
	}
}

func TestCampaignUpdateFollowsState(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	author := f.tokens[workspaces.RoleAuthor]
	status, body := f.do(t, "POST", "/api/v1/campaigns", author,
		`{"name":"Draft","contents":{"en":{"other":"Hello"}},"audience":{"tags":["nobody-has-this"]}}`)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, body)
	}
	id := idOf(t, body)
	path := "/api/v1/campaigns/" + id

	status, body = f.do(t, "PATCH", path, author, `{"name":"Renamed","segment_cap":10,"contents":{"en":{"other":"Hello again"},"am":{"other":"ሰላም"}}}`)
	if status != http.StatusOK || body["name"] != "Renamed" || body["segment_cap"] != float64(10) || len(body["contents"].(map[string]any)) != 2 {
		t.Fatalf("update of a draft: %d %v", status, body)
	}
	// A broken text is refused and changes nothing.
	status, body = f.do(t, "PATCH", path, author, `{"name":"Broken","contents":{"en":{"other":"Hi {{.Nmae}}"}}}`)
	if field, msg := errorOf(body); status != http.StatusBadRequest || field != "contents.en" || !strings.Contains(msg, "line 1, column 6: unknown variable .Nmae") {
		t.Fatalf("broken update: %d %v", status, body)
	}
	_, body = f.do(t, "GET", path, author, "")
	if body["name"] != "Renamed" || body["contents"].(map[string]any)["en"].(map[string]any)["other"] != "Hello again" {
		t.Fatalf("a refused update changed the campaign: %v", body)
	}
	// Fields left out keep their value; a cap of 0 removes the cap.
	status, body = f.do(t, "PATCH", path, author, `{"segment_cap":0}`)
	if _, capped := body["segment_cap"]; status != http.StatusOK || capped || body["name"] != "Renamed" {
		t.Fatalf("removing the cap: %d %v", status, body)
	}

	status, body = f.do(t, "POST", path+"/schedule", author, "")
	if status != http.StatusOK || body["state"] != "scheduled" {
		t.Fatalf("schedule: %d %v", status, body)
	}
	status, body = f.do(t, "PATCH", path, author, `{"name":"Scheduled and renamed"}`)
	if status != http.StatusOK || body["name"] != "Scheduled and renamed" || body["state"] != "scheduled" {
		t.Fatalf("update of a scheduled campaign: %d %v", status, body)
	}

	// Run the start and the fan-out as the worker would; the audience is empty.
	ins, err := worker.NewInserter(f.pool)
	if err != nil {
		t.Fatal(err)
	}
	store := campaigns.NewStore(f.pool, f.keys, ins)
	cid := int64(body["id"].(float64))
	if err := pgx.BeginFunc(ctx, f.pool, func(tx pgx.Tx) error { return store.StartRun(ctx, tx, cid) }); err != nil {
		t.Fatal(err)
	}
	status, body = f.do(t, "PATCH", path, author, `{"name":"Too late"}`)
	if _, msg := errorOf(body); status != http.StatusConflict || errorCode(body) != "conflict" || msg != "a sending campaign cannot be changed" {
		t.Fatalf("update while sending: %d %v", status, body)
	}
	var runID int64
	if err := f.pool.QueryRow(ctx, `SELECT id FROM campaign_runs WHERE campaign_id = $1`, cid).Scan(&runID); err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, f.pool, func(tx pgx.Tx) error {
		done, n, err := store.FanoutStep(ctx, tx, runID, campaigns.NewRendererCache())
		if err == nil && (!done || n != 0) {
			t.Errorf("fan-out of an empty audience: done %v, %d deliveries", done, n)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := store.Progress(ctx); err != nil || n != 1 {
		t.Fatalf("progress: %d %v", n, err)
	}
	_, body = f.do(t, "GET", path, author, "")
	if body["state"] != "completed" || body["name"] != "Scheduled and renamed" {
		t.Fatalf("after the run: %v", body)
	}
	status, body = f.do(t, "PATCH", path, author, `{"name":"Too late"}`)
	if _, msg := errorOf(body); status != http.StatusConflict || msg != "a completed campaign cannot be changed" {
		t.Fatalf("update of a completed campaign: %d %v", status, body)
	}
	for _, action := range []string{"cancel", "pause", "resume", "schedule"} {
		status, body := f.do(t, "POST", path+"/"+action, author, "")
		if _, msg := errorOf(body); status != http.StatusConflict || msg != "cannot "+action+" a completed campaign" {
			t.Errorf("%s a completed campaign: %d %v", action, status, body)
		}
	}

	// A cancelled draft cannot be changed either.
	_, body = f.do(t, "POST", "/api/v1/campaigns", author, `{"name":"Other","contents":{"en":{"other":"Hi"}}}`)
	other := "/api/v1/campaigns/" + idOf(t, body)
	if status, body := f.do(t, "POST", other+"/cancel", author, ""); status != http.StatusOK || body["state"] != "cancelled" {
		t.Fatalf("cancel a draft: %d %v", status, body)
	}
	status, body = f.do(t, "PATCH", other, author, `{"name":"Revived"}`)
	if _, msg := errorOf(body); status != http.StatusConflict || msg != "a cancelled campaign cannot be changed" {
		t.Fatalf("update of a cancelled campaign: %d %v", status, body)
	}
	if _, body := f.do(t, "GET", other, author, ""); body["name"] != "Other" {
		t.Fatalf("the refused update renamed it: %v", body)
	}
	// Viewers read but do not change.
	if status, _ := f.do(t, "PATCH", other, f.tokens[workspaces.RoleViewer], `{"name":"x"}`); status != http.StatusForbidden {
		t.Fatalf("viewer update: %d", status)
	}
}

// addContact creates a contact of workspace A over the API with one sandbox address.
func (f *fixture) addContact(t *testing.T, name, language, address string, consent bool) {
	t.Helper()
	in := map[string]any{"name": name, "language": language,
		"identities": []map[string]string{{"kind": "sandbox", "value": address}}}
	if consent {
		in["consent"] = []map[string]string{{"channel": "sandbox", "status": "opt_in"}}
	}
	status, body := f.do(t, "POST", "/api/v1/contacts", f.tokens[workspaces.RoleAuthor], mustJSON(t, in))
	if status != http.StatusCreated {
		t.Fatalf("create contact %s: %d %v", name, status, body)
	}
}

type languageLine struct {
	Language   string `json:"language"`
	Recipients int    `json:"recipients"`
	FellBack   int    `json:"fell_back"`
	Text       string `json:"text"`
	Encoding   string `json:"encoding"`
	Segments   int    `json:"segments"`
	Units      int    `json:"units"`
}

type previewAnswer struct {
	Audience      int            `json:"audience"`
	Reachable     int            `json:"reachable"`
	NoChannel     int            `json:"no_channel"`
	NoLanguage    int            `json:"no_language"`
	Languages     []languageLine `json:"languages"`
	Channels      []map[string]any
	TotalSegments int      `json:"total_segments"`
	Seconds       float64  `json:"seconds"`
	Warnings      []string `json:"warnings"`
}

func (f *fixture) preview(t *testing.T, id string) previewAnswer {
	t.Helper()
	status, body := f.do(t, "GET", "/api/v1/campaigns/"+id+"/preview", f.tokens[workspaces.RoleViewer], "")
	if status != http.StatusOK {
		t.Fatalf("preview: %d %v", status, body)
	}
	var p previewAnswer
	if err := json.Unmarshal([]byte(mustJSON(t, body)), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p previewAnswer) byLanguage() map[string]languageLine {
	m := map[string]languageLine{}
	for _, l := range p.Languages {
		m[l.Language] = l
	}
	return m
}

const (
	warnNoChannel  = "1 contact matches the audience but has no consented, unsuppressed address on the campaign's channels and will get nothing"
	warnNoLanguage = "1 contact has no text in their language or its fallbacks and will get nothing"
	warnCap        = "the estimated segments exceed the campaign's segment cap: it will not start"
	warnArabic     = "the ar text needs 4 SMS segments each"
)

func TestCampaignPreviewPerLanguage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin, author := f.tokens[workspaces.RoleAdmin], f.tokens[workspaces.RoleAuthor]
	// Tigrinya readers get Amharic, the other Ethiopic-script language, rather than English.
	status, body := f.do(t, "PATCH", "/api/v1/workspace", admin, `{"language_fallbacks":{"ti":["am"]},"hotline_number":"+254800000000"}`)
	if status != http.StatusOK {
		t.Fatalf("patch workspace: %d %v", status, body)
	}
	f.addContact(t, "Amina", "en", "+254700000001", true)
	f.addContact(t, "Huda", "ar", "+966500000001", true)
	f.addContact(t, "Abebe", "am", "+251900000001", true)
	f.addContact(t, "Selam", "ti", "+291700000001", true)
	f.addContact(t, "Farid", "prs", "+93700000001", true)
	f.addContact(t, "Baraka", "sw", "+255700000001", true)
	f.addContact(t, "Juma", "en", "+254700000009", false)

	status, body = f.do(t, "POST", "/api/v1/campaigns", author, mustJSON(t, map[string]any{"name": "Preview", "contents": fourLanguages()}))
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, body)
	}
	id := idOf(t, body)

	want := map[string]languageLine{
		"en":    {"en", 2, 1, enSent, "GSM-7", 1, 78},
		"ar":    {"ar", 1, 0, arLong + arHint, "UCS-2", 4, 230},
		"am":    {"am", 2, 1, amSent, "UCS-2", 1, 47},
		"fa-AF": {"fa-AF", 1, 0, faAFSent, "UCS-2", 2, 74},
	}
	checkPreview := func(what string, p previewAnswer, audience, reachable, noChannel, noLanguage int, want map[string]languageLine, warnings []string) {
		t.Helper()
		if p.Audience != audience || p.Reachable != reachable || p.NoChannel != noChannel || p.NoLanguage != noLanguage {
			t.Errorf("%s: audience %d, reachable %d, no_channel %d, no_language %d; want %d %d %d %d",
				what, p.Audience, p.Reachable, p.NoChannel, p.NoLanguage, audience, reachable, noChannel, noLanguage)
		}
		got := p.byLanguage()
		if len(got) != len(want) || len(p.Languages) != len(want) {
			t.Errorf("%s: languages %+v; want %d", what, p.Languages, len(want))
		}
		for lang, w := range want {
			if got[lang] != w {
				t.Errorf("%s: %s is\n%+v\nwant\n%+v", what, lang, got[lang], w)
			}
		}
		for i := 1; i < len(p.Languages); i++ {
			if p.Languages[i].Recipients > p.Languages[i-1].Recipients {
				t.Errorf("%s: languages are not sorted by recipients: %+v", what, p.Languages)
			}
		}
		if p.TotalSegments != reachable || len(p.Channels) != 1 || p.Channels[0]["channel"] != "sandbox" ||
			p.Channels[0]["recipients"] != float64(reachable) || p.Channels[0]["segments"] != float64(reachable) || p.Seconds != 0 {
			t.Errorf("%s: total_segments %d, channels %v, seconds %v", what, p.TotalSegments, p.Channels, p.Seconds)
		}
		if !slices.Equal(p.Warnings, warnings) {
			t.Errorf("%s: warnings\n%q\nwant\n%q", what, p.Warnings, warnings)
		}
	}
	// Swahili has no text: with English as the default language Baraka falls back to it.
	checkPreview("default en", f.preview(t, id), 7, 6, 1, 0, want, []string{warnNoChannel, warnArabic})

	// With a default language the campaign lacks, Baraka gets nothing.
	if status, body := f.do(t, "PATCH", "/api/v1/workspace", admin, `{"default_language":"fr"}`); status != http.StatusOK || body["default_language"] != "fr" {
		t.Fatalf("patch default language: %d %v", status, body)
	}
	want["en"] = languageLine{"en", 1, 0, enSent, "GSM-7", 1, 78}
	checkPreview("default fr", f.preview(t, id), 7, 5, 1, 1, want, []string{warnNoChannel, warnNoLanguage, warnArabic})

	// A cap below the estimate: warned in the preview, refused at schedule, nothing enqueued.
	if status, body := f.do(t, "PATCH", "/api/v1/campaigns/"+id, author, `{"segment_cap":4}`); status != http.StatusOK {
		t.Fatalf("set cap: %d %v", status, body)
	}
	checkPreview("capped", f.preview(t, id), 7, 5, 1, 1, want, []string{warnNoChannel, warnNoLanguage, warnCap, warnArabic})
	status, body = f.do(t, "POST", "/api/v1/campaigns/"+id+"/schedule", author, "")
	if _, msg := errorOf(body); status != http.StatusConflict || errorCode(body) != "precondition" ||
		!strings.Contains(msg, "about 5 segments") || !strings.Contains(msg, "cap of 4") {
		t.Fatalf("schedule over the cap: %d %v", status, body)
	}
	startJobs := func() int {
		t.Helper()
		var n int
		if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'campaign_start'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	_, body = f.do(t, "GET", "/api/v1/campaigns/"+id, author, "")
	if _, next := body["next_run_at"]; body["state"] != "draft" || next || startJobs() != 0 {
		t.Fatalf("a refused schedule left state %v, next run %v, %d start jobs", body["state"], body["next_run_at"], startJobs())
	}
	// A cap equal to the estimate is not exceeded.
	if status, body := f.do(t, "PATCH", "/api/v1/campaigns/"+id, author, `{"segment_cap":5}`); status != http.StatusOK {
		t.Fatalf("raise cap: %d %v", status, body)
	}
	status, body = f.do(t, "POST", "/api/v1/campaigns/"+id+"/schedule", author, "")
	if status != http.StatusOK || body["state"] != "scheduled" || startJobs() != 1 {
		t.Fatalf("schedule at the cap: %d %v, %d start jobs", status, body, startJobs())
	}
}

// outboxMessages lists a sandbox address's outbox with token.
func (f *fixture) outboxMessages(t *testing.T, token, to string) []map[string]any {
	t.Helper()
	status, body := f.do(t, "GET", "/api/v1/sandbox/outbox?to="+toQuery(to), token, "")
	if status != http.StatusOK {
		t.Fatalf("outbox %s: %d %v", to, status, body)
	}
	var out []map[string]any
	for _, m := range body["messages"].([]any) {
		out = append(out, m.(map[string]any))
	}
	return out
}

func TestCampaignTestSendReachesTheOutbox(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin, author := f.tokens[workspaces.RoleAdmin], f.tokens[workspaces.RoleAuthor]
	if status, body := f.do(t, "PATCH", "/api/v1/workspace", admin, `{"language_fallbacks":{"ti":["am"]}}`); status != http.StatusOK {
		t.Fatalf("patch workspace: %d %v", status, body)
	}
	status, body := f.do(t, "POST", "/api/v1/campaigns", author, mustJSON(t, map[string]any{"name": "Test send", "count": 3,
		"contents": map[string]any{
			"en": map[string]string{"one": "You have {{.Count}} new message from the hotline.", "other": "You have {{.Count}} new messages from the hotline."},
			"ar": map[string]string{"other": "تحقق من أي عرض عمل قبل السفر."},
			"am": map[string]string{"other": amText},
		}}))
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, body)
	}
	id := idOf(t, body)
	cid := body["id"].(float64)
	before := time.Now().Add(-time.Minute)

	cases := []struct {
		to, language, wantLang, wantText string
		segments                         float64
	}{
		{" +254711000111 ", "ar", "ar", "تحقق من أي عرض عمل قبل السفر." + arHint, 1},
		{"+254711000222", "en", "en", "You have 3 new messages from the hotline.\nReply STOP to stop.", 1},
		{"+254711000333", "ti", "am", amSent, 1},                                                         // along the workspace's chain
		{"+254711000444", "", "en", "You have 3 new messages from the hotline.\nReply STOP to stop.", 1}, // the default language
	}
	for _, c := range cases {
		status, res := f.do(t, "POST", "/api/v1/campaigns/"+id+"/test-send", author, mustJSON(t, map[string]string{"to": c.to, "language": c.language}))
		if status != http.StatusOK || res["language"] != c.wantLang || res["text"] != c.wantText || res["segments"] != c.segments {
			t.Fatalf("test-send %q in %q: %d %v", c.to, c.language, status, res)
		}
		to := strings.TrimSpace(c.to)
		msgs := f.outboxMessages(t, author, to)
		if len(msgs) != 1 {
			t.Fatalf("outbox of %s holds %d messages, want 1: %v", to, len(msgs), msgs)
		}
		m := msgs[0]
		sentAt, err := time.Parse(time.RFC3339Nano, m["sent_at"].(string))
		if err != nil || sentAt.Before(before) || sentAt.After(time.Now().Add(time.Minute)) {
			t.Fatalf("sent_at %v (%v)", m["sent_at"], err)
		}
		if m["to"] != to || m["text"] != c.wantText || m["language"] != c.wantLang || m["status"] != "sent" ||
			m["campaign_id"] != cid || "SB"+itoa(int64(m["id"].(float64))) != res["provider_id"] {
			t.Fatalf("outbox of %s: %v; test-send answered %v", to, m, res)
		}
		for _, absent := range []string{"alert_id", "referral_id"} {
			if _, ok := m[absent]; ok {
				t.Fatalf("a campaign message names an %s: %v", absent, m)
			}
		}
	}
	// Each address still holds only its own message.
	if msgs := f.outboxMessages(t, author, "+254711000111"); len(msgs) != 1 || msgs[0]["language"] != "ar" {
		t.Fatalf("first address after the others: %v", msgs)
	}
	// Operators read the outbox too; viewers do not.
	if msgs := f.outboxMessages(t, f.tokens[workspaces.RoleOperator], "+254711000222"); len(msgs) != 1 {
		t.Fatalf("operator reads %d messages", len(msgs))
	}
	if status, _ := f.do(t, "GET", "/api/v1/sandbox/outbox?to=x", f.tokens[workspaces.RoleViewer], ""); status != http.StatusForbidden {
		t.Fatalf("viewer reads the outbox: %d", status)
	}
	if msgs := f.outboxMessages(t, author, "+254711000999"); len(msgs) != 0 {
		t.Fatalf("an address nothing was sent to: %v", msgs)
	}
	if status, body := f.do(t, "GET", "/api/v1/sandbox/outbox", author, ""); status != http.StatusBadRequest || body["error"].(map[string]any)["field"] != "to" {
		t.Fatalf("outbox without to: %d %v", status, body)
	}
	// A test send is not a delivery.
	var deliveries int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM deliveries`).Scan(&deliveries); err != nil || deliveries != 0 {
		t.Fatalf("%d deliveries after test sends (%v)", deliveries, err)
	}

	if status, body := f.do(t, "PATCH", "/api/v1/workspace", admin, `{"default_language":"fr"}`); status != http.StatusOK {
		t.Fatalf("patch default language: %d %v", status, body)
	}
	for _, c := range []struct{ body, field string }{
		{`{"to":"+254711000555","language":"sw"}`, "language"},
		{`{"to":"   ","language":"en"}`, "to"},
		{`{"to":"+254711000555","language":"en","channel":"sms"}`, "channel"},
		{`{"to":"+254711000555","language":"en","channel":"pigeon"}`, "channel"},
		{`{"to":"+254711000555","language":"en","from":"x"}`, "from"},
	} {
		status, body := f.do(t, "POST", "/api/v1/campaigns/"+id+"/test-send", author, c.body)
		if field, _ := errorOf(body); status != http.StatusBadRequest || field != c.field {
			t.Errorf("test-send %s: %d %v; want 400 on %s", c.body, status, body, c.field)
		}
	}
	if msgs := f.outboxMessages(t, author, "+254711000555"); len(msgs) != 0 {
		t.Fatalf("refused test sends reached the outbox: %v", msgs)
	}
}

func TestSandboxInbound(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	author := f.tokens[workspaces.RoleAuthor]
	inbox := messages.NewInbox(f.pool, f.keys)
	post := func(token, body string) (int, map[string]any) {
		t.Helper()
		return f.do(t, "POST", "/api/v1/sandbox/inbound", token, body)
	}
	status, first := post(author, `{"from":" +254700000001 ","text":"ሰላም፣ እርዳታ እፈልጋለሁ"}`)
	if status != http.StatusAccepted || first["status"] != "stored" {
		t.Fatalf("inbound: %d %v", status, first)
	}
	status, second := post(author, `{"from":" +254700000001 ","text":"ሰላም፣ እርዳታ እፈልጋለሁ"}`)
	if status != http.StatusAccepted || first["id"] == second["id"] {
		t.Fatalf("the same text again: %d %v after %v; want a second message", status, second, first)
	}
	if status, body := post(f.tokens[workspaces.RoleOperator], `{"from":"tester","text":"HELP"}`); status != http.StatusAccepted {
		t.Fatalf("operator inbound: %d %v", status, body)
	}
	if status, _ := post(f.tokens[workspaces.RoleViewer], `{"from":"tester","text":"HELP"}`); status != http.StatusForbidden {
		t.Fatalf("viewer inbound: %d", status)
	}
	var providerIDs []string
	for _, b := range []map[string]any{first, second} {
		m, err := inbox.Get(ctx, f.wsA.ID, int64(b["id"].(float64)))
		if err != nil {
			t.Fatal(err)
		}
		if m.From != "+254700000001" || m.Text != "ሰላም፣ እርዳታ እፈልጋለሁ" || m.Kind != channels.KindSandbox ||
			!strings.HasPrefix(m.ProviderID, messages.SandboxInboundIDPrefix) || m.ReceivedAt.IsZero() {
			t.Fatalf("stored %+v", m)
		}
		providerIDs = append(providerIDs, m.ProviderID)
	}
	if providerIDs[0] == providerIDs[1] {
		t.Fatalf("two messages share the provider id %s", providerIDs[0])
	}
	if _, err := inbox.Get(ctx, f.wsB.ID, int64(first["id"].(float64))); errcode.CodeOf(err) != errcode.NotFound {
		t.Fatalf("workspace B reads A's inbound message: %v", err)
	}

	long := strings.Repeat("x", 4097)
	for _, c := range []struct{ body, field string }{
		{`{"text":"hi"}`, "from"},
		{`{"from":"  ","text":"hi"}`, "from"},
		{`{"from":7,"text":"hi"}`, "from"},
		{`{"from":"a"}`, "text"},
		{`{"from":"a","text":""}`, "text"},
		{`{"from":"a","text":"` + long + `"}`, "text"},
		{`{"from":"a","text":["hi"]}`, "text"},
		{`{"from":"a","text":"hi","to":"b"}`, "to"},
		{`{"from":"a","text":`, ""},
		{``, ""},
	} {
		status, body := post(author, c.body)
		field, msg := errorOf(body)
		if status != http.StatusBadRequest || errorCode(body) != "invalid" || field != c.field || msg == "" {
			t.Errorf("inbound %.60s: %d %v; want 400 on %q", c.body, status, body, c.field)
		}
	}
	// A text of exactly 4096 bytes is taken.
	if status, body := post(author, `{"from":"a","text":"`+long[:4096]+`"}`); status != http.StatusAccepted {
		t.Fatalf("4096 bytes: %d %v", status, body)
	}
	var stored int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM inbound_messages WHERE workspace_id = $1`, f.wsA.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != 4 {
		t.Fatalf("%d inbound messages stored, want 4 (the refused bodies store nothing)", stored)
	}
}

func TestSandboxSettingsAPI(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin := f.tokens[workspaces.RoleAdmin]
	status, body := f.do(t, "GET", "/api/v1/sandbox/settings", admin, "")
	if _, saved := body["updated_at"]; status != http.StatusOK || saved || body["fail_share"] != float64(0) ||
		body["throttle_share"] != float64(0) || body["undelivered_share"] != float64(0) || body["rate_per_second"] != float64(0) {
		t.Fatalf("defaults: %d %v", status, body)
	}
	status, body = f.do(t, "PUT", "/api/v1/sandbox/settings", admin,
		`{"fail_share":0.1,"throttle_share":0.25,"undelivered_share":1,"rate_per_second":50}`)
	if status != http.StatusOK || body["fail_share"] != 0.1 || body["throttle_share"] != 0.25 ||
		body["undelivered_share"] != float64(1) || body["rate_per_second"] != float64(50) || body["updated_at"] == nil {
		t.Fatalf("put: %d %v", status, body)
	}
	check := func(what string) {
		t.Helper()
		status, body := f.do(t, "GET", "/api/v1/sandbox/settings", admin, "")
		if status != http.StatusOK || body["fail_share"] != 0.1 || body["throttle_share"] != 0.25 ||
			body["undelivered_share"] != float64(1) || body["rate_per_second"] != float64(50) {
			t.Fatalf("%s: %d %v", what, status, body)
		}
	}
	check("after put")
	for _, c := range []struct{ body, field string }{
		{`{"fail_share":1.5}`, "fail_share"},
		{`{"fail_share":-0.01}`, "fail_share"},
		{`{"throttle_share":2}`, "throttle_share"},
		{`{"undelivered_share":-1}`, "undelivered_share"},
		{`{"rate_per_second":-5}`, "rate_per_second"},
		{`{"fail_share":"half"}`, "fail_share"},
		{`{"drop_share":0.5}`, "drop_share"},
	} {
		status, body := f.do(t, "PUT", "/api/v1/sandbox/settings", admin, c.body)
		if field, _ := errorOf(body); status != http.StatusBadRequest || field != c.field {
			t.Errorf("put %s: %d %v; want 400 on %s", c.body, status, body, c.field)
		}
	}
	check("after refused puts")
	for _, role := range []workspaces.Role{workspaces.RoleAuthor, workspaces.RoleOperator, workspaces.RoleViewer} {
		if status, _ := f.do(t, "GET", "/api/v1/sandbox/settings", f.tokens[role], ""); status != http.StatusForbidden {
			t.Errorf("%s reads sandbox settings: %d", role, status)
		}
		if status, _ := f.do(t, "PUT", "/api/v1/sandbox/settings", f.tokens[role], `{"fail_share":0}`); status != http.StatusForbidden {
			t.Errorf("%s writes sandbox settings: %d", role, status)
		}
	}
	check("after other roles tried")
	// Workspace B has its own settings.
	status, body = f.do(t, "GET", "/api/v1/sandbox/settings", f.adminB, "")
	if _, saved := body["updated_at"]; status != http.StatusOK || saved || body["fail_share"] != float64(0) {
		t.Fatalf("B's settings: %d %v", status, body)
	}
}

func TestCampaignIllegalTransitions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	author := f.tokens[workspaces.RoleAuthor]
	_, body := f.do(t, "POST", "/api/v1/campaigns", author, `{"name":"Moves","contents":{"en":{"other":"Hello"}}}`)
	id := idOf(t, body)
	steps := []struct {
		action string
		status int
		state  string // the state after a move, or the state named in the refusal
	}{
		{"pause", 409, "draft"},
		{"resume", 409, "draft"},
		{"schedule", 200, "scheduled"},
		{"schedule", 409, "scheduled"},
		{"resume", 409, "scheduled"},
		{"pause", 200, "paused"},
		{"pause", 409, "paused"},
		{"schedule", 409, "paused"},
		{"resume", 200, "scheduled"},
		{"cancel", 200, "cancelled"},
		{"cancel", 409, "cancelled"},
		{"resume", 409, "cancelled"},
		{"pause", 409, "cancelled"},
		{"schedule", 409, "cancelled"},
	}
	for i, s := range steps {
		status, body := f.do(t, "POST", "/api/v1/campaigns/"+id+"/"+s.action, author, "")
		if status != s.status {
			t.Fatalf("step %d, %s: %d %v; want %d", i, s.action, status, body, s.status)
		}
		if status == http.StatusOK {
			if body["state"] != s.state {
				t.Fatalf("step %d, %s: state %v, want %s", i, s.action, body["state"], s.state)
			}
			continue
		}
		if _, msg := errorOf(body); errorCode(body) != "conflict" || msg != "cannot "+s.action+" a "+s.state+" campaign" {
			t.Fatalf("step %d, %s: %v", i, s.action, body)
		}
	}
	// Scheduling and resuming a campaign paused before its run each enqueued a start.
	var starts int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'campaign_start' AND (args->>'campaign_id')::bigint = $1`,
		int64(body["id"].(float64))).Scan(&starts); err != nil || starts != 2 {
		t.Fatalf("%d start jobs (%v), want 2", starts, err)
	}
	for _, action := range []string{"schedule", "pause", "resume", "cancel"} {
		if status, body := f.do(t, "POST", "/api/v1/campaigns/424242/"+action, author, ""); status != http.StatusNotFound || errorCode(body) != "not_found" {
			t.Errorf("%s of an unknown campaign: %d %v", action, status, body)
		}
		if status, _ := f.do(t, "POST", "/api/v1/campaigns/"+id+"/"+action, f.tokens[workspaces.RoleViewer], ""); status != http.StatusForbidden {
			t.Errorf("viewer may %s: %d", action, status)
		}
	}
}

func TestCampaignWorkspaceIsolation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	author := f.tokens[workspaces.RoleAuthor]
	f.addContact(t, "Amina", "en", "+254700000001", true)
	_, body := f.do(t, "POST", "/api/v1/campaigns", author, `{"name":"Alpha only","contents":{"en":{"other":"Hello from Alpha"}}}`)
	id := idOf(t, body)
	if status, body := f.do(t, "POST", "/api/v1/campaigns/"+id+"/test-send", author, `{"to":"+254700000777"}`); status != http.StatusOK {
		t.Fatalf("A's test send: %d %v", status, body)
	}
	path := "/api/v1/campaigns/" + id
	for _, r := range []struct{ method, path, body string }{
		{"GET", path, ""},
		{"GET", path + "/preview", ""},
		{"GET", path + "/stats", ""},
		{"POST", path + "/schedule", ""},
		{"POST", path + "/test-send", `{"to":"+254700000888"}`},
		{"PATCH", path, `{"name":"Taken over"}`},
		{"POST", path + "/pause", ""},
		{"POST", path + "/resume", ""},
		{"POST", path + "/cancel", ""},
	} {
		status, body := f.do(t, r.method, r.path, f.adminB, r.body)
		if status != http.StatusNotFound || errorCode(body) != "not_found" {
			t.Errorf("B: %s %s: %d %v", r.method, r.path, status, body)
		}
		if _, msg := errorOf(body); strings.Contains(msg, "Alpha") {
			t.Errorf("B: %s %s: the error tells of A's campaign: %q", r.method, r.path, msg)
		}
	}
	if _, body := f.do(t, "GET", "/api/v1/campaigns", f.adminB, ""); len(body["campaigns"].([]any)) != 0 {
		t.Fatalf("B lists A's campaigns: %v", body)
	}
	if msgs := f.outboxMessages(t, f.adminB, "+254700000777"); len(msgs) != 0 {
		t.Fatalf("B's outbox shows A's message: %v", msgs)
	}
	if msgs := f.outboxMessages(t, f.adminB, "+254700000888"); len(msgs) != 0 {
		t.Fatalf("B's refused test send reached an outbox: %v", msgs)
	}
	if msgs := f.outboxMessages(t, author, "+254700000888"); len(msgs) != 0 {
		t.Fatalf("B's refused test send reached A's outbox: %v", msgs)
	}
	// A's campaign is as A left it.
	status, body := f.do(t, "GET", path, author, "")
	if status != http.StatusOK || body["state"] != "draft" || body["name"] != "Alpha only" {
		t.Fatalf("A's campaign after B's attempts: %d %v", status, body)
	}
	status, body = f.do(t, "GET", path+"/stats", author, "")
	if status != http.StatusOK || body["state"] != "draft" || body["recipients"] != float64(0) || len(body["by_status"].(map[string]any)) != 0 {
		t.Fatalf("A's stats: %d %v", status, body)
	}
	p := f.preview(t, id)
	if p.Audience != 1 || p.Reachable != 1 || len(p.Languages) != 1 || p.Languages[0].Text != "Hello from Alpha\nReply STOP to stop." {
		t.Fatalf("A's preview: %+v", p)
	}
	var starts int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'campaign_start'`).Scan(&starts); err != nil || starts != 0 {
		t.Fatalf("%d start jobs after B's schedule (%v)", starts, err)
	}
	if msgs := f.outboxMessages(t, author, "+254700000777"); len(msgs) != 1 || msgs[0]["text"] != "Hello from Alpha\nReply STOP to stop." {
		t.Fatalf("A's outbox: %v", msgs)
	}
}

func TestCampaignListRefusesUnknownState(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	author := f.tokens[workspaces.RoleAuthor]
	if status, body := f.do(t, "POST", "/api/v1/campaigns", author, `{"name":"One","contents":{"en":{"other":"Hi"}}}`); status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, body)
	}
	status, body := f.do(t, "GET", "/api/v1/campaigns?state=schedueld", author, "")
	if field, _ := errorOf(body); status != http.StatusBadRequest || field != "state" {
		t.Fatalf("list with an unknown state: %d %v; want 400 on state", status, body)
	}
}
