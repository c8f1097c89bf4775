package worker_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/waymark-org/waymark/campaigns"
	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/channels/sandbox"
	"github.com/waymark-org/waymark/chatbot"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/dbtest"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/internal/ratelimit"
	"github.com/waymark-org/waymark/locales"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/worker"
	"github.com/waymark-org/waymark/workspaces"
)

var actor = workspaces.CLIActor("test")

// engine is a whole delivery engine on a private database: stores, the sandbox channel and a
// started River client.
type engine struct {
	t         *testing.T
	ctx       context.Context
	pool      *pgxpool.Pool
	keys      *pii.Keyring
	ws        workspaces.Workspace
	contacts  *contacts.Store
	campaigns *campaigns.Store
	outbox    *messages.Outbox
	client    *river.Client[pgx.Tx]

	mu        sync.Mutex
	sandboxes map[int64]*sandbox.Sandbox
	// sendWorkers is River's MaxWorkers per send queue; 0 keeps the default.
	sendWorkers int
}

func newEngine(t *testing.T, fanoutBatch int) *engine {
	t.Helper()
	return newEngineOn(t, dbtest.Pool(t), fanoutBatch)
}

func newEngineOn(t *testing.T, pool *pgxpool.Pool, fanoutBatch int) *engine {
	t.Helper()
	ctx := context.Background()
	entry, err := pii.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := pii.ParseKeyring(entry)
	if err != nil {
		t.Fatal(err)
	}
	wsStore := workspaces.NewStore(pool)
	ws, err := wsStore.Create(ctx, "Engine Test", "KE")
	if err != nil {
		t.Fatal(err)
	}
	st := workspaces.SettingsOf(ws)
	st.LanguageFallbacks = map[string][]string{"fa-AF": {"fa", "en"}}
	st.HotlineNumber = "+254 800 000 000"
	if ws, err = wsStore.UpdateSettings(ctx, ws.ID, st, actor); err != nil {
		t.Fatal(err)
	}
	ins, err := worker.NewInserter(pool)
	if err != nil {
		t.Fatal(err)
	}
	e := &engine{t: t, ctx: ctx, pool: pool, keys: keys, ws: ws, contacts: contacts.NewStore(pool, keys),
		campaigns: campaigns.NewStore(pool, keys, ins), outbox: messages.NewOutbox(pool, keys), sandboxes: map[int64]*sandbox.Sandbox{}}
	e.campaigns.FanoutBatchSize = fanoutBatch
	return e
}

func (e *engine) sandboxFor(ctx context.Context, wsID int64) (*sandbox.Sandbox, float64, error) {
	st, err := e.outbox.SandboxSettings(ctx, wsID)
	if err != nil {
		return nil, 0, err
	}
	set := sandbox.Settings{FailShare: st.FailShare, ThrottleShare: st.ThrottleShare, UndeliveredShare: st.UndeliveredShare}
	e.mu.Lock()
	defer e.mu.Unlock()
	sb := e.sandboxes[wsID]
	if sb == nil || sb.Settings() != set {
		sb = sandbox.New(nil, set)
		e.sandboxes[wsID] = sb
	}
	return sb, st.RatePerSecond, nil
}

func (e *engine) start() {
	e.t.Helper()
	deps := worker.Deps{Workspaces: workspaces.NewStore(e.pool), Campaigns: e.campaigns,
		Senders: func(ctx context.Context, wsID int64, campaignID *int64, kind channels.Kind) (channels.Sender, ratelimit.Limit, error) {
			if kind != channels.KindSandbox {
				return nil, ratelimit.Limit{}, campaigns.ErrNoChannel
			}
			sb, rate, err := e.sandboxFor(ctx, wsID)
			if err != nil {
				return nil, ratelimit.Limit{}, err
			}
			return sb.WithRecorder(e.outbox.BatchRecorder(wsID, campaignID)), ratelimit.Limit{PerSecond: rate}, nil
		},
		SandboxReceipts: func(ctx context.Context, wsID int64) (func(int64) channels.Status, error) {
			sb, _, err := e.sandboxFor(ctx, wsID)
			if err != nil {
				return nil, err
			}
			return sb.Receipt, nil
		}, Outbox: e.outbox}
	client, err := worker.NewClient(e.pool, deps, worker.Options{Logger: slog.New(slog.DiscardHandler), TestOnly: true,
		SendWorkers: e.sendWorkers, FetchCooldown: 20 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := client.Start(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	e.client = client
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.StopAndCancel(ctx)
	})
}

type person struct {
	name, language, tz string
	addresses          []string
	consent            bool
}

func (e *engine) addPeople(people ...person) map[string]int64 {
	e.t.Helper()
	ids := map[string]int64{}
	for _, p := range people {
		var idents []contacts.IdentityInput
		for _, a := range p.addresses {
			idents = append(idents, contacts.IdentityInput{Kind: "sandbox", Value: a})
		}
		in := contacts.NewContact{Fields: contacts.Fields{Name: &p.name, Language: &p.language}, Identities: idents}
		if p.tz != "" {
			in.TimeZone = &p.tz
		}
		if p.consent {
			in.Consent = []contacts.ConsentInput{{Channel: "sandbox", Status: contacts.StatusOptIn}}
		}
		c, err := e.contacts.Create(e.ctx, e.ws, in, contacts.SourceAPI, actor)
		if err != nil {
			e.t.Fatal(err)
		}
		ids[p.addresses[0]] = c.ID
	}
	return ids
}

func ptr[T any](v T) *T { return &v }

func (e *engine) campaign(in campaigns.Input) campaigns.Campaign {
	e.t.Helper()
	if in.Name == nil {
		in.Name = ptr("Safe routes")
	}
	c, err := e.campaigns.Create(e.ctx, e.ws.ID, in, actor)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// waitFor polls cond until it holds or the deadline passes.
func (e *engine) waitFor(what string, timeout time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *engine) stats(id int64) campaigns.Stats {
	e.t.Helper()
	s, err := e.campaigns.Stats(e.ctx, e.ws.ID, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *engine) outboxFor(to string) []messages.OutboxMessage {
	e.t.Helper()
	list, err := e.outbox.List(e.ctx, e.ws.ID, to, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

var multilingual = campaigns.Contents{
	"en": {Other: "{{if .Name}}{{.Name}}, {{end}}check any job offer before you travel. Call {{.Hotline}}."},
	"ar": {Other: "تحقق من أي عرض عمل قبل السفر. اتصل بـ {{.Hotline}}."},
	"am": {Other: "ከመጓዝዎ በፊት ማንኛውንም የሥራ ቅናሽ ያረጋግጡ። ይደውሉ {{.Hotline}}።"},
	"fa": {Other: "پیش از سفر هر پیشنهاد کاری را بررسی کنید. تماس: {{.Hotline}}"},
}

func TestCampaignReachesEveryoneOnceInTheirLanguage(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 2)
	e.addPeople(
		person{"Amina", "en", "Africa/Nairobi", []string{"+254700000001"}, true},
		person{"Huda", "ar", "Asia/Riyadh", []string{"+966500000001"}, true},
		person{"Abebe", "am", "Africa/Addis_Ababa", []string{"+251900000001"}, true},
		person{"Farid", "fa-AF", "Asia/Kabul", []string{"+93700000001"}, true},
		person{"Kofi", "tw", "", []string{"+233200000001"}, true}, // no text in Twi: falls back to English
		person{"Two Phones", "en", "", []string{"+254700000002", "+254700000003"}, true},
		person{"No Consent", "en", "", []string{"+254700000004"}, false},
	)
	c := e.campaign(campaigns.Input{Contents: &multilingual})
	e.start()
	if _, err := e.campaigns.Schedule(e.ctx, e.ws.ID, c.ID, actor); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the campaign to complete", 30*time.Second, func() bool {
		s := e.stats(c.ID)
		return s.State == campaigns.StateCompleted && s.Delivered == 6
	})
	s := e.stats(c.ID)
	if s.Recipients != 6 || s.Failed != 0 || s.ByLanguage["en"].Recipients != 3 || s.ByLanguage["fa"].Recipients != 1 {
		t.Fatalf("stats %+v", s)
	}
	check := func(to, lang, contains string) {
		t.Helper()
		msgs := e.outboxFor(to)
		if len(msgs) != 1 {
			t.Fatalf("%s got %d messages, want exactly 1", to, len(msgs))
		}
		m := msgs[0]
		if m.Language != lang || !strings.Contains(m.Text, contains) || m.Status != channels.StatusDelivered || m.CampaignID == nil || *m.CampaignID != c.ID {
			t.Fatalf("%s got %+v, want %s containing %q, delivered", to, m, lang, contains)
		}
		// Wholly one language: the opt-out hint is in the message's language too.
		if lang != "en" && strings.Contains(m.Text, "STOP") {
			t.Fatalf("%s message mixes in English: %q", to, m.Text)
		}
	}
	check("+254700000001", "en", "Amina, check any job offer")
	check("+966500000001", "ar", "تحقق من أي عرض عمل")
	check("+251900000001", "am", "ከመጓዝዎ በፊት")
	check("+93700000001", "fa", "پیش از سفر")
	check("+233200000001", "en", "Kofi, check")
	check("+254700000002", "en", "Two Phones")
	if n := len(e.outboxFor("+254700000003")); n != 0 {
		t.Fatalf("the second address of one person got %d messages", n)
	}
	if n := len(e.outboxFor("+254700000004")); n != 0 {
		t.Fatal("a contact without consent was messaged")
	}
}

func TestFanoutTwiceMakesNoSecondDelivery(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 3)
	var people []person
	for i := range 10 {
		people = append(people, person{fmt.Sprint("P", i), "en", "", []string{fmt.Sprintf("+2547000001%02d", i)}, true})
	}
	e.addPeople(people...)
	c := e.campaign(campaigns.Input{Contents: &campaigns.Contents{"en": {Other: "Hello"}}})
	if _, err := e.campaigns.Schedule(e.ctx, e.ws.ID, c.ID, actor); err != nil {
		t.Fatal(err)
	}
	// Work the start job by hand, then fan out step by step, failing once mid-way.
	if err := pgx.BeginFunc(e.ctx, e.pool, func(tx pgx.Tx) error { return e.campaigns.StartRun(e.ctx, tx, c.ID) }); err != nil {
		t.Fatal(err)
	}
	var runID int64
	if err := e.pool.QueryRow(e.ctx, "SELECT id FROM campaign_runs WHERE campaign_id = $1", c.ID).Scan(&runID); err != nil {
		t.Fatal(err)
	}
	rc := campaigns.NewRendererCache()
	step := func(commit bool) (bool, int) {
		tx, err := e.pool.Begin(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(e.ctx)
		done, n, err := e.campaigns.FanoutStep(e.ctx, tx, runID, rc)
		if err != nil {
			t.Fatal(err)
		}
		if commit {
			if err := tx.Commit(e.ctx); err != nil {
				t.Fatal(err)
			}
		}
		return done, n
	}
	if _, n := step(true); n != 3 {
		t.Fatalf("first batch inserted %d", n)
	}
	if _, n := step(false); n != 3 { // a crash: the batch rolls back
		t.Fatalf("second batch inserted %d", n)
	}
	total := 3
	for {
		done, n := step(true)
		total += n
		if done {
			break
		}
	}
	// Running the fan-out again after it finished changes nothing.
	if _, err := e.pool.Exec(e.ctx, "UPDATE campaign_runs SET state = 'fanning_out', fanout_cursor = 0 WHERE id = $1", runID); err != nil {
		t.Fatal(err)
	}
	for {
		done, n := step(true)
		total += n
		if done {
			break
		}
	}
	var deliveries, jobs int
	_ = e.pool.QueryRow(e.ctx, "SELECT count(*) FROM deliveries WHERE campaign_run_id = $1", runID).Scan(&deliveries)
	_ = e.pool.QueryRow(e.ctx, `SELECT coalesce(sum(jsonb_array_length(args->'delivery_ids')), 0) FROM river_job WHERE kind = 'campaign_send'`).Scan(&jobs)
	if total != 10 || deliveries != 10 || jobs != 10 {
		t.Fatalf("inserted %d, %d deliveries, %d deliveries in send jobs; want 10 each", total, deliveries, jobs)
	}
}

func TestPauseResumeAndCancelMidSend(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 100)
	var people []person
	for i := range 30 {
		people = append(people, person{"", "en", "", []string{fmt.Sprintf("+2547000002%02d", i)}, true})
	}
	e.addPeople(people...)
	if _, err := e.outbox.SaveSandboxSettings(e.ctx, e.ws.ID, messages.SandboxSettings{RatePerSecond: 10}); err != nil {
		t.Fatal(err)
	}
	c := e.campaign(campaigns.Input{Contents: &campaigns.Contents{"en": {Other: "Hello"}}})
	e.start()
	if _, err := e.campaigns.Schedule(e.ctx, e.ws.ID, c.ID, actor); err != nil {
		t.Fatal(err)
	}
	e.waitFor("some sends", 20*time.Second, func() bool { return e.stats(c.ID).Sent >= 5 })
	if _, err := e.campaigns.Pause(e.ctx, e.ws.ID, c.ID, actor); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // let in-flight sends land
	paused := e.stats(c.ID)
	time.Sleep(1500 * time.Millisecond)
	if later := e.stats(c.ID); later.Sent+later.Failed != paused.Sent+paused.Failed || later.State != campaigns.StatePaused {
		t.Fatalf("sends went on while paused: %d then %d", paused.Sent, later.Sent)
	}
	if paused.Sent >= 30 {
		t.Fatal("everything was sent before the pause; the test proves nothing")
	}
	if _, err := e.campaigns.Pause(e.ctx, e.ws.ID, c.ID, actor); err == nil {
		t.Fatal("pausing a paused campaign was accepted")
	}
	if _, err := e.campaigns.Resume(e.ctx, e.ws.ID, c.ID, actor); err != nil {
		t.Fatal(err)
	}
	e.waitFor("more sends after resume", 20*time.Second, func() bool { return e.stats(c.ID).Sent > paused.Sent+2 })
	if _, err := e.campaigns.Cancel(e.ctx, e.ws.ID, c.ID, actor); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	s := e.stats(c.ID)
	if s.State != campaigns.StateCancelled || s.ByStatus["cancelled"] == 0 || s.Queued != 0 {
		t.Fatalf("after cancel: %+v", s)
	}
	if _, err := e.campaigns.Resume(e.ctx, e.ws.ID, c.ID, actor); err == nil {
		t.Fatal("resuming a cancelled campaign was accepted")
	}
	var sent int
	_ = e.pool.QueryRow(e.ctx, "SELECT count(*) FROM sandbox_messages WHERE campaign_id = $1", c.ID).Scan(&sent)
	if int64(sent) != s.Sent {
		t.Fatalf("outbox has %d messages, stats say %d sent", sent, s.Sent)
	}
}

func TestFailingAndThrottlingSandbox(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 100)
	var people []person
	for i := range 40 {
		people = append(people, person{"", "en", "", []string{fmt.Sprintf("+2547000003%02d", i)}, true})
	}
	e.addPeople(people...)
	if _, err := e.outbox.SaveSandboxSettings(e.ctx, e.ws.ID, messages.SandboxSettings{FailShare: 0.25, ThrottleShare: 0.5, UndeliveredShare: 0.2}); err != nil {
		t.Fatal(err)
	}
	c := e.campaign(campaigns.Input{Contents: &campaigns.Contents{"en": {Other: "Hello"}}})
	e.start()
	if _, err := e.campaigns.Schedule(e.ctx, e.ws.ID, c.ID, actor); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the campaign to complete", 60*time.Second, func() bool { return e.stats(c.ID).State == campaigns.StateCompleted })
	// Wait for the last receipts.
	e.waitFor("receipts", 10*time.Second, func() bool { s := e.stats(c.ID); return s.ByStatus["sent"] == 0 })
	s := e.stats(c.ID)
	// The sandbox decides by delivery id, so the expected split can be computed.
	sb := sandbox.New(nil, sandbox.Settings{FailShare: 0.25, UndeliveredShare: 0.2})
	rows, err := e.pool.Query(e.ctx, "SELECT id, status FROM deliveries WHERE campaign_id = $1", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var failed, undelivered, delivered int
	for rows.Next() {
		var id int64
		var status string
		_ = rows.Scan(&id, &status)
		res, err := sb.WithRecorder(recorderFunc(func() string { return "x" })).Send(e.ctx, channels.Message{DeliveryID: id, To: "x", Text: "x"})
		want := ""
		switch {
		case err != nil:
			want = "failed"
			failed++
		case sb.Receipt(id) == channels.StatusUndelivered:
			want = "undelivered"
			undelivered++
		default:
			want = "delivered"
			delivered++
			_ = res
		}
		if status != want {
			t.Errorf("delivery %d is %s, want %s", id, status, want)
		}
	}
	if failed == 0 || undelivered == 0 || delivered == 0 {
		t.Fatalf("the shares produced %d failed, %d undelivered, %d delivered: the test proves nothing", failed, undelivered, delivered)
	}
	if s.Recipients != 40 || s.Failed != int64(failed+undelivered) {
		t.Fatalf("stats %+v", s)
	}
	var throttled int
	_ = e.pool.QueryRow(e.ctx, "SELECT count(*) FROM deliveries WHERE campaign_id = $1 AND snoozes > 0", c.ID).Scan(&throttled)
	if throttled == 0 {
		t.Fatal("no delivery was ever throttled")
	}
}

// TestManyWorkersOnASmallPool runs far more send workers than the pool has connections, with a
// rate limit so that every claim takes budget: a send job that held one connection while asking
// for another would starve the pool and nothing would complete.
func TestManyWorkersOnASmallPool(t *testing.T) {
	t.Parallel()
	cfg, err := pgxpool.ParseConfig(dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	e := newEngineOn(t, pool, 500)
	e.sendWorkers = 40
	const n = 40 * campaigns.JobSize
	rows := make([]contacts.Row, n)
	yes := true
	for i := range rows {
		rows[i] = contacts.Row{Line: i + 1, Language: "en", Sandbox: fmt.Sprintf("+25471%07d", i), Consent: &yes}
	}
	if rep, err := e.contacts.ImportRows(e.ctx, e.ws, rows, contacts.ImportOptions{ConsentSource: "test", Actor: actor}); err != nil || rep.Created != n {
		t.Fatalf("import: %+v, %v", rep, err)
	}
	if _, err := e.outbox.SaveSandboxSettings(e.ctx, e.ws.ID, messages.SandboxSettings{RatePerSecond: 100000}); err != nil {
		t.Fatal(err)
	}
	c := e.campaign(campaigns.Input{Contents: &campaigns.Contents{"en": {Other: "Hello"}}})
	e.start()
	if _, err := e.campaigns.Schedule(e.ctx, e.ws.ID, c.ID, actor); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the campaign to complete", 60*time.Second, func() bool {
		s := e.stats(c.ID)
		return s.State == campaigns.StateCompleted && s.Delivered == n
	})
}

type recorderFunc func() string

func (f recorderFunc) Record(context.Context, channels.Message) (string, error) { return f(), nil }

func TestOptOutBeforeSendIsHonoured(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 100)
	ids := e.addPeople(
		person{"", "en", "", []string{"+254700000401"}, true},
		person{"", "en", "", []string{"+254700000402"}, true},
	)
	c := e.campaign(campaigns.Input{Contents: &campaigns.Contents{"en": {Other: "Hello"}}})
	if _, err := e.campaigns.Schedule(e.ctx, e.ws.ID, c.ID, actor); err != nil {
		t.Fatal(err)
	}
	// Fan out with no workers running, then the person says STOP before anything is sent.
	if err := pgx.BeginFunc(e.ctx, e.pool, func(tx pgx.Tx) error { return e.campaigns.StartRun(e.ctx, tx, c.ID) }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.contacts.RecordConsent(e.ctx, e.ws.ID, ids["+254700000402"], contacts.ConsentInput{Channel: "sandbox", Status: contacts.StatusOptOut}, contacts.SourceKeyword, actor); err != nil {
		t.Fatal(err)
	}
	e.start()
	e.waitFor("completion", 30*time.Second, func() bool { return e.stats(c.ID).State == campaigns.StateCompleted })
	if n := len(e.outboxFor("+254700000402")); n != 0 {
		t.Fatal("a message went out after the person's STOP")
	}
	if n := len(e.outboxFor("+254700000401")); n != 1 {
		t.Fatalf("the other person got %d messages", n)
	}
}

func TestQuietHoursDelayDelivery(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 100)
	// Quiet hours that cover now in Kabul but not in Nairobi.
	kabul, _ := time.LoadLocation("Asia/Kabul")
	now := time.Now().In(kabul)
	start := now.Add(-time.Hour).Format("15:04")
	end := now.Add(2 * time.Hour).Format("15:04")
	e.addPeople(
		person{"", "en", "Asia/Kabul", []string{"+93700000501"}, true},
		person{"", "en", "America/Bogota", []string{"+57300000501"}, true},
	)
	nairobiLike := time.Now().In(time.FixedZone("x", 0))
	_ = nairobiLike
	c := e.campaign(campaigns.Input{Contents: &campaigns.Contents{"en": {Other: "Hello"}},
		QuietHours: &campaigns.QuietWindow{Start: start, End: end}})
	if _, err := e.campaigns.Schedule(e.ctx, e.ws.ID, c.ID, actor); err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(e.ctx, e.pool, func(tx pgx.Tx) error { return e.campaigns.StartRun(e.ctx, tx, c.ID) }); err != nil {
		t.Fatal(err)
	}
	var runID int64
	_ = e.pool.QueryRow(e.ctx, "SELECT id FROM campaign_runs WHERE campaign_id = $1", c.ID).Scan(&runID)
	if err := pgx.BeginFunc(e.ctx, e.pool, func(tx pgx.Tx) error {
		_, _, err := e.campaigns.FanoutStep(e.ctx, tx, runID, campaigns.NewRendererCache())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var kabulAt, bogotaAt time.Time
	q := `SELECT d.not_before FROM deliveries d JOIN contacts c ON c.id = d.contact_id WHERE d.campaign_id = $1 AND c.time_zone = $2`
	_ = e.pool.QueryRow(e.ctx, q, c.ID, "Asia/Kabul").Scan(&kabulAt)
	_ = e.pool.QueryRow(e.ctx, q, c.ID, "America/Bogota").Scan(&bogotaAt)
	wantKabul := time.Date(now.Year(), now.Month(), now.Day(), now.Add(2*time.Hour).Hour(), now.Add(2*time.Hour).Minute(), 0, 0, kabul)
	if now.Add(2*time.Hour).Day() != now.Day() {
		wantKabul = wantKabul.AddDate(0, 0, 1)
	}
	if !kabulAt.Equal(wantKabul) {
		t.Fatalf("Kabul delivery not before %v, want the end of quiet hours %v", kabulAt.In(kabul), wantKabul)
	}
	bogota, _ := time.LoadLocation("America/Bogota")
	bogotaNow := time.Now().In(bogota).Format("15:04")
	inQuiet := (start < end && bogotaNow >= start && bogotaNow < end) || (start > end && (bogotaNow >= start || bogotaNow < end))
	if !inQuiet && bogotaAt.After(time.Now().Add(time.Minute)) {
		t.Fatalf("Bogota is outside the quiet hours but waits until %v", bogotaAt)
	}
	var scheduled int
	_ = e.pool.QueryRow(e.ctx, `SELECT count(*) FROM river_job WHERE kind = 'campaign_send' AND state = 'scheduled' AND scheduled_at >= $1`, wantKabul.Add(-time.Second)).Scan(&scheduled)
	if scheduled != 1 {
		t.Fatalf("%d send jobs wait for the end of Kabul's quiet hours, want 1", scheduled)
	}
	_ = slices.Contains[[]int]
}

// TestStoredStopBeatsTheSend stores a STOP (in Amharic) while a campaign's send jobs wait: the
// STOP takes effect when stored, before its handling job runs, so nothing is sent to that person.
func TestStoredStopBeatsTheSend(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 100)
	e.addPeople(
		person{"", "am", "", []string{"+251900000601"}, true},
		person{"", "am", "", []string{"+251900000602"}, true},
	)
	c := e.campaign(campaigns.Input{Contents: &campaigns.Contents{"am": {Other: "ሰላም"}}})
	if _, err := e.campaigns.Schedule(e.ctx, e.ws.ID, c.ID, actor); err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(e.ctx, e.pool, func(tx pgx.Tx) error { return e.campaigns.StartRun(e.ctx, tx, c.ID) }); err != nil {
		t.Fatal(err)
	}
	stop := locales.Keywords("am", locales.KeywordsStop)[0]
	if err := pgx.BeginFunc(e.ctx, e.pool, func(tx pgx.Tx) error {
		_, _, err := chatbot.NewStore(e.pool).Receive(e.ctx, tx, messages.NewInbox(e.pool, e.keys), e.contacts, nil, e.ws,
			channels.Inbound{Kind: channels.KindSandbox, From: "+251900000602", Text: stop + "።"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	e.start()
	e.waitFor("completion", 30*time.Second, func() bool { return e.stats(c.ID).State == campaigns.StateCompleted })
	if n := len(e.outboxFor("+251900000602")); n != 0 {
		t.Fatal("a message went out after the person's STOP was stored")
	}
	if n := len(e.outboxFor("+251900000601")); n != 1 {
		t.Fatalf("the other person got %d messages", n)
	}
}
