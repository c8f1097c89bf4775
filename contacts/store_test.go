package contacts_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/dbtest"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/workspaces"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var actor = workspaces.CLIActor("test")

type env struct {
	ctx   context.Context
	pool  *pgxpool.Pool
	keys  *pii.Keyring
	entry string // the key's textual form, to build a rotated ring
	store *contacts.Store
	ws    workspaces.Workspace
}

func newEnv(t *testing.T) *env { return newBenchEnv(t) }

func newBenchEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	entry, err := pii.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := pii.ParseKeyring(entry)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := workspaces.NewStore(pool).Create(ctx, "Test NGO", "KE")
	if err != nil {
		t.Fatal(err)
	}
	return &env{ctx, pool, keys, entry, contacts.NewStore(pool, keys), ws}
}

func ptr[T any](v T) *T { return &v }

func (e *env) create(t *testing.T, name string, ids ...contacts.IdentityInput) contacts.Contact {
	t.Helper()
	c, err := e.store.Create(e.ctx, e.ws, contacts.NewContact{Fields: contacts.Fields{Name: ptr(name), Language: ptr("am")},
		Identities: ids}, contacts.SourceAPI, actor)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sms(v string) contacts.IdentityInput { return contacts.IdentityInput{Kind: "sms", Value: v} }

// dump returns every row of every table as text, for checks that something is stored nowhere.
func (e *env) dump(t *testing.T) string {
	t.Helper()
	rows, err := e.pool.Query(e.ctx, `SELECT table_schema || '.' || table_name FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`)
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
	var sb strings.Builder
	for _, tbl := range tables {
		rows, err := e.pool.Query(e.ctx, `SELECT x::text FROM `+tbl+` x`)
		if err != nil {
			t.Fatal(tbl, err)
		}
		for rows.Next() {
			var s string
			_ = rows.Scan(&s)
			sb.WriteString(tbl + ": " + s + "\n")
		}
		rows.Close()
	}
	return sb.String()
}

// assertNowhere fails when a plain value, or its bytes in hex as bytea prints them, is stored.
func (e *env) assertNowhere(t *testing.T, values ...string) {
	t.Helper()
	d := e.dump(t)
	if !strings.Contains(d, "contact_identities") {
		t.Fatal("the dump holds no identities; the check proves nothing")
	}
	for _, v := range values {
		if strings.Contains(d, v) || strings.Contains(d, hex.EncodeToString([]byte(v))) {
			t.Fatalf("%q is stored in plain text", v)
		}
	}
}

func TestCreateEncryptsAndLooksUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.create(t, "Amina Njeri", sms("0712 345 678"), contacts.IdentityInput{Kind: "telegram", Value: "123456789"})
	if c.Name != "Amina Njeri" || !slices.Equal(c.Channels, []contacts.Kind{"sms", "telegram"}) || c.Identities != nil {
		t.Fatalf("created %+v", c)
	}
	e.assertNowhere(t, "712345678", "Amina Njeri", "123456789")

	for _, written := range []string{"+254712345678", "0712345678", "00254 712 345 678"} {
		id, err := e.store.Lookup(e.ctx, e.ws, contacts.KindSMS, written)
		if err != nil || id != c.ID {
			t.Fatalf("lookup %q: %d %v", written, id, err)
		}
	}
	if _, err := e.store.Lookup(e.ctx, e.ws, contacts.KindSMS, "+254712345679"); errcode.CodeOf(err) != errcode.NotFound {
		t.Fatalf("lookup of an unknown number: %v", err)
	}
	// The same number in another format is the same person.
	_, err := e.store.Create(e.ctx, e.ws, contacts.NewContact{Identities: []contacts.IdentityInput{sms("+254 712 345678")}}, contacts.SourceAPI, actor)
	if errcode.CodeOf(err) != errcode.Conflict {
		t.Fatalf("second contact with the same number: %v", err)
	}

	full, err := e.store.Get(e.ctx, e.ws.ID, c.ID, true, actor)
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Identities) != 2 || full.Identities[0].Value != "+254712345678" || full.Identities[1].Value != "123456789" {
		t.Fatalf("identities %+v", full.Identities)
	}
	entries, err := workspaces.NewStore(e.pool).ListAudit(e.ctx, e.ws.ID, workspaces.AuditFilter{RecordType: "contact"})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Action != "read_identities" || entries[1].Action != "create" {
		t.Fatalf("audit %+v", entries)
	}
}

func TestValidationErrorsNameTheField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		in    contacts.NewContact
		field string
	}{
		{contacts.NewContact{}, "identities"},
		{contacts.NewContact{Identities: []contacts.IdentityInput{sms("12")}}, "identities[0].value"},
		{contacts.NewContact{Identities: []contacts.IdentityInput{{Kind: "fax", Value: "1"}}}, "identities[0].kind"},
		{contacts.NewContact{Fields: contacts.Fields{Language: ptr("klingon-xx")}, Identities: []contacts.IdentityInput{sms("0712345678")}}, "language"},
		{contacts.NewContact{Fields: contacts.Fields{TimeZone: ptr("Mars/Olympus")}, Identities: []contacts.IdentityInput{sms("0712345678")}}, "timezone"},
		{contacts.NewContact{Fields: contacts.Fields{Country: ptr("KE"), AdminArea: ptr("ET-AM")}, Identities: []contacts.IdentityInput{sms("0712345678")}}, "admin_area"},
		{contacts.NewContact{Fields: contacts.Fields{AgeBand: ptr("35")}, Identities: []contacts.IdentityInput{sms("0712345678")}}, "age_band"},
	}
	for _, c := range cases {
		_, err := e.store.Create(e.ctx, e.ws, c.in, contacts.SourceAPI, actor)
		ee, ok := errcode.As(err)
		if !ok || ee.Code != errcode.Invalid || !strings.HasPrefix(ee.Field, strings.Split(c.field, ".")[0]) {
			t.Errorf("%+v: got %v (field %q), want invalid %s", c.in, err, fieldOf(ee), c.field)
		}
		if err != nil && strings.Contains(err.Error(), "712345678") {
			t.Errorf("the error repeats the number: %v", err)
		}
	}
}

func fieldOf(e *errcode.Error) string {
	if e == nil {
		return ""
	}
	return e.Field
}

func TestConsentLedger(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.create(t, "", sms("0712345678"))
	status := func() string {
		got, err := e.store.Get(e.ctx, e.ws.ID, c.ID, false, actor)
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := got.Consent[contacts.KindSMS]; ok {
			return s
		}
		return contacts.StatusNone
	}
	record := func(status, source string) error {
		_, err := e.store.RecordConsent(e.ctx, e.ws.ID, c.ID, contacts.ConsentInput{Channel: "sms", Status: status,
			Evidence: map[string]any{"form": "F-12"}}, source, actor)
		return err
	}
	if status() != contacts.StatusNone {
		t.Fatal("a new contact has consent nobody gave")
	}
	if err := record(contacts.StatusOptIn, contacts.SourceOperator); err != nil {
		t.Fatal(err)
	}
	if status() != contacts.StatusOptIn {
		t.Fatalf("after opt-in: %s", status())
	}
	if err := record(contacts.StatusOptOut, contacts.SourceKeyword); err != nil {
		t.Fatal(err)
	}
	if status() != contacts.StatusOptOut {
		t.Fatalf("after STOP: %s", status())
	}
	for _, src := range []string{contacts.SourceOperator, contacts.SourceAPI, contacts.SourceImport, contacts.SourceProvider} {
		if err := record(contacts.StatusOptIn, src); !errors.Is(err, contacts.ErrSuppressed) {
			t.Fatalf("opt-in by %s after STOP: %v", src, err)
		}
	}
	if status() != contacts.StatusOptOut {
		t.Fatalf("a refused opt-in changed the status: %s", status())
	}
	if err := record(contacts.StatusOptIn, contacts.SourceKeyword); err != nil {
		t.Fatalf("the person's own START: %v", err)
	}
	if status() != contacts.StatusOptIn {
		t.Fatalf("after START: %s", status())
	}
	hist, err := e.store.ConsentHistory(e.ctx, e.ws.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hist {
		got = append(got, h.Status+"/"+h.Source)
	}
	want := []string{"opt_in/operator", "opt_out/keyword", "opt_in/keyword"}
	if !slices.Equal(got, want) || hist[0].Evidence["form"] != "F-12" {
		t.Fatalf("ledger %v, want %v", got, want)
	}
	if err := record("maybe", contacts.SourceAPI); errcode.CodeOf(err) != errcode.Invalid {
		t.Fatalf("unknown status: %v", err)
	}
	if _, err := e.store.RecordConsent(e.ctx, e.ws.ID, c.ID, contacts.ConsentInput{Channel: "telegram", Status: contacts.StatusOptIn}, contacts.SourceAPI, actor); errcode.CodeOf(err) != errcode.Invalid {
		t.Fatalf("opt-in on a channel without an address: %v", err)
	}
}

// personalData lists every table and whether it may hold data about one person, with the
// column that links it to the contact. A new table fails TestEraseLeavesNoPersonalData until it is
// classified here, so erasure cannot silently miss it.
var personalData = map[string]string{
	"contacts":           "id",
	"contact_identities": "contact_id",
	"consent_events":     "contact_id", // kept after erasure with contact_id cleared
	"suppressions":       "",           // blind index only: kept on purpose
	"workspaces":         "",
	"users":              "",
	"api_tokens":         "",
	"audit_log":          "", // record ids and actions, never personal data
	"waymark_migrations": "",
	"river_client":       "", "river_client_queue": "", "river_job": "", "river_leader": "",
	"river_migration": "", "river_queue": "", "river_notification": "",
	"campaigns":         "", // texts and audiences, no one person's data
	"campaign_runs":     "",
	"deliveries":        "contact_id", // kept with contact_id cleared: language, channel and status only
	"sandbox_messages":  "",           // deleted by erasure through the address's blind index
	"inbound_messages":  "contact_id", // deleted by erasure (linked, or from one of the addresses)
	"replies":           "contact_id", // deleted by erasure, and with the inbound messages they answer
	"sandbox_settings":  "",
	"channels":          "", // provider settings and encrypted credentials, no one person's data
	"telegram_offsets":  "",
	"chatbot_trees":     "",
	"keyword_overrides": "",
	"conversations":     "contact_id", // deleted with the contact
	"talk_requests":     "contact_id", // deleted with the contact
	"rate_buckets":      "",           // keys name channels and, for per-chat limits, blind indexes; never addresses
}

func TestEraseLeavesNoPersonalData(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.create(t, "Hana Tesfaye", sms("+251911234567"))
	other := e.create(t, "Someone Else", sms("+251911234568"))
	if _, err := e.store.RecordConsent(e.ctx, e.ws.ID, c.ID, contacts.ConsentInput{Channel: "sms", Status: contacts.StatusOptOut}, contacts.SourceKeyword, actor); err != nil {
		t.Fatal(err)
	}
	rows, err := e.pool.Query(e.ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`)
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
	for _, tbl := range tables {
		if _, ok := personalData[tbl]; !ok {
			t.Errorf("table %s is not classified in personalData: say whether it holds personal data and how erasure removes it", tbl)
		}
	}

	if err := e.store.Erase(e.ctx, e.ws.ID, c.ID, actor); err != nil {
		t.Fatal(err)
	}
	for tbl, col := range personalData {
		if col == "" || !slices.Contains(tables, tbl) {
			continue
		}
		var n int
		if err := e.pool.QueryRow(e.ctx, fmt.Sprintf("SELECT count(*) FROM %s WHERE %s = $1", tbl, col), c.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s still has %d rows of the erased contact", tbl, n)
		}
	}
	e.assertNowhere(t, "Hana Tesfaye", "911234567")
	var ledger, suppressed int
	_ = e.pool.QueryRow(e.ctx, "SELECT count(*) FROM consent_events WHERE contact_id IS NULL AND status = 'opt_out'").Scan(&ledger)
	_ = e.pool.QueryRow(e.ctx, "SELECT count(*) FROM suppressions").Scan(&suppressed)
	if ledger != 1 || suppressed != 1 {
		t.Fatalf("after erasure: %d anonymous ledger rows and %d suppressions, want 1 and 1", ledger, suppressed)
	}
	if _, err := e.store.Get(e.ctx, e.ws.ID, other.ID, false, actor); err != nil {
		t.Fatalf("erasure touched another contact: %v", err)
	}
	if err := e.store.Erase(e.ctx, e.ws.ID, c.ID, actor); errcode.CodeOf(err) != errcode.NotFound {
		t.Fatalf("erasing twice: %v", err)
	}

	// A later import, with consent, cannot subscribe the person again.
	csv := "phone,name,consent\n+251911234567,Hana T,yes\n"
	rep, err := e.store.Import(e.ctx, e.ws, strings.NewReader(csv), contacts.ImportOptions{ConsentSource: "partner list", Actor: actor})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 1 || rep.ConsentRecorded != 0 || rep.ConsentSuppressed != 1 {
		t.Fatalf("re-import: %+v", rep)
	}
	again, err := e.store.Lookup(e.ctx, e.ws, contacts.KindSMS, "+251911234567")
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.store.Get(e.ctx, e.ws.ID, again, false, actor)
	if err != nil {
		t.Fatal(err)
	}
	if got.Consent[contacts.KindSMS] != contacts.StatusOptOut {
		t.Fatalf("the re-imported contact is %q on sms, want opt_out", got.Consent[contacts.KindSMS])
	}
	if s, err := e.store.Suppressed(e.ctx, e.ws, contacts.KindSMS, "00251 911 234 567"); err != nil || !s {
		t.Fatalf("suppression lookup in another format: %v %v", s, err)
	}
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ids []int64
	for i := range 5 {
		ids = append(ids, e.create(t, fmt.Sprintf("Person %d", i), sms(fmt.Sprintf("+25471234567%d", i))).ID)
	}
	entry2, err := pii.GenerateKey("k2")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := pii.ParseKeyring(e.entry + "," + entry2)
	if err != nil {
		t.Fatal(err)
	}
	rotated := contacts.NewStore(e.pool, ring)
	// Before rotation the new ring still reads old values.
	if c, err := rotated.Get(e.ctx, e.ws.ID, ids[0], true, actor); err != nil || c.Name != "Person 0" {
		t.Fatalf("read with the two-key ring before rotation: %v", err)
	}
	if rep := rotate(t, e, ring, 2); rep["contacts.name_enc"] != 5 || rep["contact_identities.value_enc"] != 5 {
		t.Fatalf("rotated %v, want 5 names and 5 identities", rep)
	}
	var stale int
	rows, _ := e.pool.Query(e.ctx, "SELECT value_enc FROM contact_identities UNION ALL SELECT name_enc FROM contacts")
	for rows.Next() {
		var b []byte
		_ = rows.Scan(&b)
		if id, _ := pii.KeyIDOf(b); id != "k2" {
			stale++
		}
	}
	rows.Close()
	if stale != 0 {
		t.Fatalf("%d values are not under k2 after rotation", stale)
	}
	if again := rotate(t, e, ring, 2); again["contacts.name_enc"]+again["contact_identities.value_enc"] != 0 {
		t.Fatalf("second rotation: %v", again)
	}
	for i, id := range ids {
		c, err := rotated.Get(e.ctx, e.ws.ID, id, true, actor)
		if err != nil || c.Name != fmt.Sprintf("Person %d", i) || c.Identities[0].Value != fmt.Sprintf("+25471234567%d", i) {
			t.Fatalf("after rotation contact %d: %+v %v", id, c, err)
		}
		// Blind indexes survive rotation: lookups still find people.
		if got, err := rotated.Lookup(e.ctx, e.ws, contacts.KindSMS, fmt.Sprintf("071234567%d", i)); err != nil || got != id {
			t.Fatalf("lookup after rotation: %d %v", got, err)
		}
	}
	// The old key alone can no longer read the rotated values.
	if _, err := e.store.Get(e.ctx, e.ws.ID, ids[0], true, actor); err == nil {
		t.Fatal("the retired key still decrypts rotated data")
	}
}

func TestImportSampleFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	raw, err := os.ReadFile("testdata/contacts_sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := e.store.Import(e.ctx, e.ws, bytes.NewReader(raw), contacts.ImportOptions{ConsentSource: "paper forms, Nairobi office", Actor: actor})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 23 || rep.Created != 10 || rep.Updated != 1 || rep.Rejected != 12 || !slices.Equal(rep.UnknownColumns, []string{"notes"}) {
		t.Fatalf("report %+v", rep)
	}
	for _, r := range rep.Rejects {
		if r.Line < 2 || r.Reason == "" {
			t.Fatalf("reject without line or reason: %+v", r)
		}
	}
	// Importing the same file again updates everyone and creates no one.
	again, err := e.store.Import(e.ctx, e.ws, bytes.NewReader(raw), contacts.ImportOptions{ConsentSource: "paper forms, Nairobi office", Actor: actor})
	if err != nil {
		t.Fatal(err)
	}
	if again.Created != 0 || again.Updated != 11 {
		t.Fatalf("second import %+v after first %+v", again, rep)
	}
	list, _, err := e.store.List(e.ctx, e.ws.ID, contacts.Filter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != rep.Created {
		t.Fatalf("%d contacts listed, %d created", len(list), rep.Created)
	}
}

func TestImportDuplicatesInTwoFormats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	csv := "phone,name,language,tags\r\n0712345678,Amina,sw,a\r\n+254 712 345 678,Amina N,en,b\r\n+254712000001,Baraka,sw,\r\n"
	rep, err := e.store.Import(e.ctx, e.ws, strings.NewReader(csv), contacts.ImportOptions{Actor: actor})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 2 || rep.Rejected != 0 {
		t.Fatalf("report %+v", rep)
	}
	rep, err = e.store.Import(e.ctx, e.ws, strings.NewReader("phone,tags\n00254712345678,c\n"), contacts.ImportOptions{Actor: actor})
	if err != nil || rep.Created != 0 || rep.Updated != 1 {
		t.Fatalf("second file: %+v %v", rep, err)
	}
	id, err := e.store.Lookup(e.ctx, e.ws, contacts.KindSMS, "0712345678")
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.store.Get(e.ctx, e.ws.ID, id, false, actor)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "Amina N" || c.Language != "en" || !slices.Equal(c.Tags, []string{"a", "b", "c"}) {
		t.Fatalf("merged contact %+v", c)
	}
}

func TestImportConsentNeedsSource(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.store.Import(e.ctx, e.ws, strings.NewReader("phone,consent\n0712345678,yes\n"), contacts.ImportOptions{Actor: actor})
	if ee, ok := errcode.As(err); !ok || ee.Field != "consent_source" {
		t.Fatalf("consent without a source: %v", err)
	}
	rep, err := e.store.Import(e.ctx, e.ws, strings.NewReader("phone,consent\n0712345678,yes\n0712345679,no\n0712345670,\n"),
		contacts.ImportOptions{ConsentSource: "SMS opt-in at event", Actor: actor})
	if err != nil || rep.ConsentRecorded != 2 {
		t.Fatalf("%+v %v", rep, err)
	}
	list, _, err := e.store.List(e.ctx, e.ws.ID, contacts.Filter{Consent: contacts.StatusOptIn, Channel: "sms"})
	if err != nil || len(list) != 1 {
		t.Fatalf("opted-in contacts: %d %v", len(list), err)
	}
	list, _, _ = e.store.List(e.ctx, e.ws.ID, contacts.Filter{Consent: contacts.StatusOptOut})
	if len(list) != 1 {
		t.Fatalf("opted-out contacts: %d", len(list))
	}
	list, _, _ = e.store.List(e.ctx, e.ws.ID, contacts.Filter{Consent: contacts.StatusNone})
	if len(list) != 1 {
		t.Fatalf("contacts without consent: %d", len(list))
	}
}

func TestImportUnreadableFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, csv := range []string{"", "name,language\nAmina,sw\n"} {
		_, err := e.store.Import(e.ctx, e.ws, strings.NewReader(csv), contacts.ImportOptions{Actor: actor})
		if !errors.Is(err, contacts.ErrUnreadable) {
			t.Errorf("%q: %v, want ErrUnreadable", csv, err)
		}
	}
}

func TestListFiltersAndPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	csv := "phone,language,country,admin_area,tags,telegram_chat_id\n" +
		"+254712000001,sw,KE,KE-30,returnee,\n" +
		"+254712000002,en,KE,,returnee;youth,\n" +
		"+251911000001,am,ET,ET-AM,,5550001\n" +
		",ti,ET,ET-TI,youth,5550002\n" +
		"+93701234567,fa-AF,AF,AF-KAB,,\n"
	if rep, err := e.store.Import(e.ctx, e.ws, strings.NewReader(csv), contacts.ImportOptions{Actor: actor}); err != nil || rep.Created != 5 {
		t.Fatalf("%+v %v", rep, err)
	}
	count := func(f contacts.Filter) int {
		t.Helper()
		list, _, err := e.store.List(e.ctx, e.ws.ID, f)
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	cases := []struct {
		f    contacts.Filter
		want int
	}{
		{contacts.Filter{}, 5},
		{contacts.Filter{Country: "ET"}, 2},
		{contacts.Filter{Country: "eth"}, 2},
		{contacts.Filter{Language: "prs"}, 1},
		{contacts.Filter{AdminArea: "ke-30"}, 1},
		{contacts.Filter{Tag: "youth"}, 2},
		{contacts.Filter{Channel: "telegram"}, 2},
		{contacts.Filter{Channel: "sms", Country: "ET"}, 1},
	}
	for _, c := range cases {
		if got := count(c.f); got != c.want {
			t.Errorf("%+v: %d contacts, want %d", c.f, got, c.want)
		}
	}
	var seen []int64
	var cursor int64
	for pages := 0; ; pages++ {
		list, next, err := e.store.List(e.ctx, e.ws.ID, contacts.Filter{Limit: 2, After: cursor})
		if err != nil || pages > 5 {
			t.Fatal(err, pages)
		}
		for _, c := range list {
			seen = append(seen, c.ID)
		}
		if next == 0 {
			break
		}
		cursor = next
	}
	if len(seen) != 5 || !slices.IsSorted(seen) {
		t.Fatalf("paged through %v", seen)
	}
	if _, _, err := e.store.List(e.ctx, e.ws.ID, contacts.Filter{Channel: "pigeon"}); errcode.CodeOf(err) != errcode.Invalid {
		t.Fatalf("unknown channel filter: %v", err)
	}
}

func TestImportHundredThousandRows(t *testing.T) {
	if testing.Short() {
		t.Skip("large import")
	}
	t.Parallel()
	e := newEnv(t)
	var sb strings.Builder
	sb.WriteString("phone,name,language,country,tags\n")
	for i := range 100_000 {
		fmt.Fprintf(&sb, "+2547%08d,Person %d,sw,KE,bulk\n", 10_000_000+i, i)
	}
	rep, err := e.store.Import(e.ctx, e.ws, strings.NewReader(sb.String()), contacts.ImportOptions{Actor: actor})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 100_000 || rep.Rejected != 0 {
		t.Fatalf("report: created %d rejected %d", rep.Created, rep.Rejected)
	}
	var n int
	if err := e.pool.QueryRow(e.ctx, "SELECT count(*) FROM contact_identities WHERE workspace_id = $1", e.ws.ID).Scan(&n); err != nil || n != 100_000 {
		t.Fatalf("%d identities stored: %v", n, err)
	}
}
