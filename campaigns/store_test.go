package campaigns_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/waymark-org/waymark/campaigns"
	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/channels/sandbox"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/dbtest"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/internal/ratelimit"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/workspaces"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var actor = workspaces.CLIActor("test")

// env is a campaigns store on a private database, with River's inserter and no worker: each test
// works the start, fan-out and send steps itself.
type env struct {
	ctx       context.Context
	pool      *pgxpool.Pool
	keys      *pii.Keyring
	ws        workspaces.Workspace
	wsStore   *workspaces.Store
	contacts  *contacts.Store
	campaigns *campaigns.Store
	outbox    *messages.Outbox
}

func newEnv(t *testing.T) *env {
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
	wsStore := workspaces.NewStore(pool)
	ws, err := wsStore.Create(ctx, "Store Test", "KE")
	if err != nil {
		t.Fatal(err)
	}
	ins, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return &env{ctx: ctx, pool: pool, keys: keys, ws: ws, wsStore: wsStore, contacts: contacts.NewStore(pool, keys),
		campaigns: campaigns.NewStore(pool, keys, ins), outbox: messages.NewOutbox(pool, keys)}
}

func ptr[T any](v T) *T { return &v }

func (e *env) campaign(t *testing.T, in campaigns.Input) campaigns.Campaign {
	t.Helper()
	if in.Name == nil {
		in.Name = ptr("Safe routes")
	}
	if in.Contents == nil {
		in.Contents = &campaigns.Contents{"en": {Other: "Check any job offer before you travel."}}
	}
	c, err := e.campaigns.Create(e.ctx, e.ws.ID, in, actor)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// person adds a contact with one sandbox address, opted in when consent is set.
func (e *env) person(t *testing.T, name, language, address string, consent bool) int64 {
	t.Helper()
	in := contacts.NewContact{Fields: contacts.Fields{Name: &name, Language: &language},
		Identities: []contacts.IdentityInput{{Kind: "sandbox", Value: address}}}
	if consent {
		in.Consent = []contacts.ConsentInput{{Channel: "sandbox", Status: contacts.StatusOptIn}}
	}
	c, err := e.contacts.Create(e.ctx, e.ws, in, contacts.SourceAPI, actor)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

type startJob struct {
	state       string
	queue       string
	scheduledAt time.Time
}

// startJobs returns the campaign_start jobs of a campaign, oldest first.
func (e *env) startJobs(t *testing.T, campaignID int64) []startJob {
	t.Helper()
	rows, err := e.pool.Query(e.ctx, `SELECT state::text, queue, scheduled_at FROM river_job
		WHERE kind = 'campaign_start' AND (args->>'campaign_id')::bigint = $1 ORDER BY id`, campaignID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []startJob
	for rows.Next() {
		var j startJob
		if err := rows.Scan(&j.state, &j.queue, &j.scheduledAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *env) get(t *testing.T, id int64) campaigns.Campaign {
	t.Helper()
	c, err := e.campaigns.Get(e.ctx, e.ws.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startRun works the campaign's start job and returns the run it made, 0 when it made none.
func (e *env) startRun(t *testing.T, campaignID int64) int64 {
	t.Helper()
	if err := pgx.BeginFunc(e.ctx, e.pool, func(tx pgx.Tx) error { return e.campaigns.StartRun(e.ctx, tx, campaignID) }); err != nil {
		t.Fatal(err)
	}
	var runID int64
	err := e.pool.QueryRow(e.ctx, `SELECT id FROM campaign_runs WHERE campaign_id = $1 ORDER BY id DESC LIMIT 1`, campaignID).Scan(&runID)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return runID
}

// fanout works a run's fan-out to the end and returns how many deliveries it wrote.
func (e *env) fanout(t *testing.T, runID int64) int {
	t.Helper()
	rc := campaigns.NewRendererCache()
	total := 0
	for range 100 {
		var done bool
		if err := pgx.BeginFunc(e.ctx, e.pool, func(tx pgx.Tx) error {
			var n int
			var err error
			done, n, err = e.campaigns.FanoutStep(e.ctx, tx, runID, rc)
			total += n
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if done {
			return total
		}
	}
	t.Fatal("the fan-out never finished")
	return 0
}

func (e *env) runState(t *testing.T, runID int64) (state string, completed bool) {
	t.Helper()
	var at *time.Time
	if err := e.pool.QueryRow(e.ctx, `SELECT state, completed_at FROM campaign_runs WHERE id = $1`, runID).Scan(&state, &at); err != nil {
		t.Fatal(err)
	}
	return state, at != nil
}

// nextNine is the first 09:00 in loc strictly after now, on weekday when one is given,
// worked out from the calendar rather than from the schedule code.
func nextNine(now time.Time, loc *time.Location, weekday *time.Weekday) time.Time {
	l := now.In(loc)
	for i := 0; i <= 8; i++ {
		d := time.Date(l.Year(), l.Month(), l.Day()+i, 9, 0, 0, 0, loc)
		if weekday != nil && d.Weekday() != *weekday {
			continue
		}
		if d.After(now) {
			return d
		}
	}
	panic("no 09:00 within eight days")
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestScheduleAtInTheFuture(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	at := time.Now().Add(90 * time.Minute).Truncate(time.Second)
	c := e.campaign(t, campaigns.Input{Schedule: &campaigns.Schedule{Kind: campaigns.ScheduleAt, At: at}})
	if len(e.startJobs(t, c.ID)) != 0 || c.NextRunAt != nil {
		t.Fatalf("a draft has a start: %+v", c)
	}
	got, err := e.campaigns.Schedule(e.ctx, e.ws.ID, c.ID, actor)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != campaigns.StateScheduled || got.NextRunAt == nil || !got.NextRunAt.Equal(at) {
		t.Fatalf("scheduled: state %s, next run %v; want scheduled at %v", got.State, got.NextRunAt, at)
	}
	if again := e.get(t, c.ID); again.NextRunAt == nil || !again.NextRunAt.Equal(at) {
		t.Fatalf("stored next run %v, want %v", again.NextRunAt, at)
	}
	jobs := e.startJobs(t, c.ID)
	if len(jobs) != 1 || jobs[0].state != "scheduled" || jobs[0].queue != campaigns.QueueFanout || !jobs[0].scheduledAt.Equal(at) {
		t.Fatalf("start jobs %+v; want one scheduled on %s at %v", jobs, campaigns.QueueFanout, at)
	}
	// A start job that runs early (a clock skew, a manual retry) starts nothing.
	if run := e.startRun(t, c.ID); run != 0 {
		t.Fatalf("an early start made run %d", run)
	}
	if got := e.get(t, c.ID); got.State != campaigns.StateScheduled {
		t.Fatalf("after an early start: %s", got.State)
	}
}

func TestScheduleAtInThePast(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.campaign(t, campaigns.Input{Schedule: &campaigns.Schedule{Kind: campaigns.ScheduleAt, At: time.Now().Add(-time.Minute)}})
	_, err := e.campaigns.Schedule(e.ctx, e.ws.ID, c.ID, actor)
	ee, ok := errcode.As(err)
	if !ok || ee.Code != errcode.Invalid || ee.Field != "schedule.at" || !strings.Contains(ee.Message, "passed") {
		t.Fatalf("scheduling a time that has passed: %v", err)
	}
	if got := e.get(t, c.ID); got.State != campaigns.StateDraft || got.NextRunAt != nil {
		t.Fatalf("after the refusal: %s, next run %v", got.State, got.NextRunAt)
	}
	if jobs := e.startJobs(t, c.ID); len(jobs) != 0 {
		t.Fatalf("a refused schedule enqueued %+v", jobs)
	}
	// A kind "at" without a time is refused when saved.
	_, err = e.campaigns.Create(e.ctx, e.ws.ID, campaigns.Input{Name: ptr("x"),
		Contents: &campaigns.Contents{"en": {Other: "Hi"}}, Schedule: &campaigns.Schedule{Kind: campaigns.ScheduleAt}}, actor)
	if ee, ok := errcode.As(err); !ok || ee.Field != "schedule.at" {
		t.Fatalf("kind at without a time: %v", err)
	}
}

func TestScheduleDailyAndWeekly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	kabul, bogota := mustZone(t, "Asia/Kabul"), mustZone(t, "America/Bogota")
	monday := time.Monday
	cases := []struct {
		schedule campaigns.Schedule
		want     func(now time.Time) time.Time
	}{
		{campaigns.Schedule{Kind: campaigns.ScheduleDaily, Time: 9 * 60, TimeZone: "Asia/Kabul"},
			func(now time.Time) time.Time { return nextNine(now, kabul, nil) }},
		{campaigns.Schedule{Kind: campaigns.ScheduleWeekly, Time: 9 * 60, Weekday: monday, TimeZone: "America/Bogota"},
			func(now time.Time) time.Time { return nextNine(now, bogota, &monday) }},
	}
	for _, tc := range cases {
		c := e.campaign(t, campaigns.Input{Schedule: &tc.schedule})
		now := time.Now()
		got, err := e.campaigns.Schedule(e.ctx, e.ws.ID, c.ID, actor)
		if err != nil {
			t.Fatal(err)
		}
		want := tc.want(now)
		if got.State != campaigns.StateScheduled || got.NextRunAt == nil || !got.NextRunAt.Equal(want) {
			t.Fatalf("%s: next run %v, want %v", tc.schedule.Kind, got.NextRunAt, want)
		}
		jobs := e.startJobs(t, c.ID)
		if len(jobs) != 1 || jobs[0].state != "scheduled" || !jobs[0].scheduledAt.Equal(want) {
			t.Fatalf("%s: start jobs %+v, want one at %v", tc.schedule.Kind, jobs, want)
		}
	}
}

func TestRecurringRunIsScheduledAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	kabul := mustZone(t, "Asia/Kabul")
	c := e.campaign(t, campaigns.Input{Schedule: &campaigns.Schedule{Kind: campaigns.ScheduleDaily, Time: 9 * 60, TimeZone: "Asia/Kabul"}})
	if _, err := e.campaigns.Schedule(e.ctx, e.ws.ID, c.ID, actor); err != nil {
		t.Fatal(err)
	}
	// Make today's run due, as if 09:00 had come.
	if _, err := e.pool.Exec(e.ctx, `UPDATE campaigns SET next_run_at = now() - interval '1 second' WHERE id = $1`, c.ID); err != nil {
		t.Fatal(err)
	}
	run := e.startRun(t, c.ID)
	if run == 0 {
		t.Fatal("a due start made no run")
	}
	if got := e.get(t, c.ID); got.State != campaigns.StateSending {
		t.Fatalf("after the start: %s", got.State)
	}
	if n := e.fanout(t, run); n != 0 {
		t.Fatalf("an empty audience made %d deliveries", n)
	}
	if state, _ := e.runState(t, run); state != "sending" {
		t.Fatalf("run after fan-out: %s", state)
	}
	now := time.Now()
	if n, err := e.campaigns.Progress(e.ctx); err != nil || n != 1 {
		t.Fatalf("progress: %d runs ended, %v", n, err)
	}
	want := nextNine(now, kabul, nil)
	got := e.get(t, c.ID)
	if got.State != campaigns.StateScheduled || got.NextRunAt == nil || !got.NextRunAt.Equal(want) {
		t.Fatalf("after the run: %s, next run %v; want scheduled at %v", got.State, got.NextRunAt, want)
	}
	if state, completed := e.runState(t, run); state != "completed" || !completed {
		t.Fatalf("run: %s, completed_at set %v", state, completed)
	}
	jobs := e.startJobs(t, c.ID)
	if len(jobs) != 2 || jobs[1].state != "scheduled" || !jobs[1].scheduledAt.Equal(want) {
		t.Fatalf("start jobs %+v; want a second one at %v", jobs, want)
	}
	if n, err := e.campaigns.Progress(e.ctx); err != nil || n != 0 {
		t.Fatalf("second progress: %d runs ended, %v", n, err)
	}
	if jobs := e.startJobs(t, c.ID); len(jobs) != 2 {
		t.Fatalf("a second progress enqueued another start: %+v", jobs)
	}
}

func TestOneOffRunCompletes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.campaign(t, campaigns.Input{})
	got, err := e.campaigns.Schedule(e.ctx, e.ws.ID, c.ID, actor)
	if err != nil {
		t.Fatal(err)
	}
	if jobs := e.startJobs(t, c.ID); len(jobs) != 1 || jobs[0].state != "available" {
		t.Fatalf("a campaign scheduled now has start jobs %+v", jobs)
	}
	if got.NextRunAt == nil || time.Since(*got.NextRunAt) > time.Minute {
		t.Fatalf("next run %v, want now", got.NextRunAt)
	}
	run := e.startRun(t, c.ID)
	if run == 0 {
		t.Fatal("no run")
	}
	// A second start job (River may run one twice) makes no second run.
	if again := e.startRun(t, c.ID); again != run {
		t.Fatalf("a repeated start made run %d after %d", again, run)
	}
	e.fanout(t, run)
	if n, err := e.campaigns.Progress(e.ctx); err != nil || n != 1 {
		t.Fatalf("progress: %d, %v", n, err)
	}
	got = e.get(t, c.ID)
	if got.State != campaigns.StateCompleted || got.NextRunAt != nil {
		t.Fatalf("after the run: %s, next run %v", got.State, got.NextRunAt)
	}
	if jobs := e.startJobs(t, c.ID); len(jobs) != 1 {
		t.Fatalf("a one-off was started again: %+v", jobs)
	}
	st, err := e.campaigns.Stats(e.ctx, e.ws.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != campaigns.StateCompleted || st.Recipients != 0 || st.Run == nil || st.Run.ID != run ||
		st.Run.State != "completed" || st.Run.CompletedAt == nil || st.Run.Recipients != 0 {
		t.Fatalf("stats %+v, run %+v", st, st.Run)
	}
}

type deliveryRow struct {
	status    string
	errorCode *string
	final     bool
}

func (e *env) delivery(t *testing.T, id int64) deliveryRow {
	t.Helper()
	var d deliveryRow
	var finalAt *time.Time
	if err := e.pool.QueryRow(e.ctx, `SELECT status, error_code, final_at FROM deliveries WHERE id = $1`, id).
		Scan(&d.status, &d.errorCode, &finalAt); err != nil {
		t.Fatal(err)
	}
	d.final = finalAt != nil
	return d
}

// TestDeliveryStatusOnlyMovesForward sends a real run through the sandbox, then plays provider
// callbacks in every order against ApplyStatus, and checks Stats after.
func TestDeliveryStatusOnlyMovesForward(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// With French as the default, a Swahili reader finds no text and is skipped.
	st := workspaces.SettingsOf(e.ws)
	st.DefaultLanguage = "fr"
	if _, err := e.wsStore.UpdateSettings(e.ctx, e.ws.ID, st, actor); err != nil {
		t.Fatal(err)
	}
	amina := e.person(t, "Amina", "en", "+254700000001", true)
	huda := e.person(t, "Huda", "ar", "+966500000001", true)
	e.person(t, "Baraka", "sw", "+255700000001", true)
	c := e.campaign(t, campaigns.Input{Contents: &campaigns.Contents{
		"en": {Other: "Check any job offer before you travel."},
		"ar": {Other: "تحقق من أي عرض عمل قبل السفر."},
	}})
	if _, err := e.campaigns.Schedule(e.ctx, e.ws.ID, c.ID, actor); err != nil {
		t.Fatal(err)
	}
	run := e.startRun(t, c.ID)
	if n := e.fanout(t, run); n != 3 {
		t.Fatalf("fan-out wrote %d deliveries, want 3", n)
	}
	// Queued deliveries hold the run open.
	if n, err := e.campaigns.Progress(e.ctx); err != nil || n != 0 {
		t.Fatalf("progress with queued deliveries: %d, %v", n, err)
	}
	idOf := map[int64]int64{}
	rows, err := e.pool.Query(e.ctx, `SELECT contact_id, id FROM deliveries WHERE campaign_run_id = $1 AND status = 'queued'`, run)
	if err != nil {
		t.Fatal(err)
	}
	var queued []int64
	for rows.Next() {
		var contact, id int64
		if err := rows.Scan(&contact, &id); err != nil {
			t.Fatal(err)
		}
		idOf[contact] = id
		queued = append(queued, id)
	}
	rows.Close()
	if len(queued) != 2 || idOf[amina] == 0 || idOf[huda] == 0 {
		t.Fatalf("queued deliveries by contact: %v", idOf)
	}

	sb := sandbox.New(nil, sandbox.Settings{})
	senders := func(ctx context.Context, wsID int64, campaignID *int64, kind channels.Kind) (channels.Sender, ratelimit.Limit, error) {
		if kind != channels.KindSandbox {
			return nil, ratelimit.Limit{}, campaigns.ErrNoChannel
		}
		return sb.WithRecorder(e.outbox.Recorder(e.pool, wsID, campaignID)), ratelimit.Limit{}, nil
	}
	finished := false
	out, err := e.campaigns.Send(e.ctx, campaigns.SendArgs{RunID: run, Channel: channels.KindSandbox, DeliveryIDs: queued}, 1,
		senders, campaigns.NewRendererCache(), func(context.Context, pgx.Tx) error { finished = true; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if out.Sent != 2 || out.Failed != 0 || !out.Completed || !finished || out.Snooze != 0 || out.Retry != nil {
		t.Fatalf("send: %+v, finish called %v", out, finished)
	}
	if n, err := e.campaigns.Progress(e.ctx); err != nil || n != 1 {
		t.Fatalf("progress after sending: %d, %v", n, err)
	}
	if got := e.get(t, c.ID); got.State != campaigns.StateCompleted {
		t.Fatalf("campaign after its run: %s", got.State)
	}
	pids, err := e.campaigns.ProviderIDs(e.ctx, queued)
	if err != nil {
		t.Fatal(err)
	}
	a, h := idOf[amina], idOf[huda]
	if len(pids) != 2 || !strings.HasPrefix(pids[a], "SB") || !strings.HasPrefix(pids[h], "SB") || pids[a] == pids[h] {
		t.Fatalf("provider ids %v", pids)
	}
	if d := e.delivery(t, a); d.status != "sent" || d.final {
		t.Fatalf("Amina's delivery after the send: %+v", d)
	}

	apply := func(deliveryID int64, kind channels.Kind, status channels.Status, code string, want bool, wantStatus string) {
		t.Helper()
		changed, err := e.campaigns.ApplyStatus(e.ctx, e.pool, e.ws.ID, kind, pids[deliveryID], status, code)
		if err != nil || changed != want {
			t.Fatalf("ApplyStatus(%s, %s) = %v, %v; want %v", pids[deliveryID], status, changed, err, want)
		}
		if got := e.delivery(t, deliveryID).status; got != wantStatus {
			t.Fatalf("after %s the delivery is %s, want %s", status, got, wantStatus)
		}
	}
	apply(a, channels.KindSandbox, channels.StatusDelivered, "", true, "delivered")
	if d := e.delivery(t, a); !d.final {
		t.Fatal("a delivered message has no final_at")
	}
	apply(a, channels.KindSandbox, channels.StatusSent, "", false, "delivered") // late "sent"
	apply(a, channels.KindSandbox, channels.StatusDelivered, "", false, "delivered")
	// The final outcomes rank alike: the first one reported stands; only "read" follows.
	apply(a, channels.KindSandbox, channels.StatusUndelivered, "", false, "delivered")
	apply(a, channels.KindSandbox, channels.StatusFailed, "", false, "delivered")
	apply(a, channels.KindSandbox, channels.StatusRead, "", true, "read")
	apply(a, channels.KindSandbox, channels.StatusDelivered, "", false, "read")
	apply(a, channels.KindSandbox, channels.StatusUndelivered, "", false, "read")
	// A callback on another kind of channel does not match the sandbox's id.
	apply(a, channels.KindSMS, channels.StatusFailed, "", false, "read")

	apply(h, channels.KindSandbox, channels.StatusUndelivered, "30003", true, "undelivered")
	apply(h, channels.KindSandbox, channels.StatusDelivered, "", false, "undelivered")
	apply(h, channels.KindSandbox, channels.StatusFailed, "", false, "undelivered")
	if d := e.delivery(t, h); d.errorCode == nil || *d.errorCode != "30003" || !d.final {
		t.Fatalf("the first outcome's code was lost: %+v", d)
	}

	for _, c := range []struct {
		pid    string
		status channels.Status
	}{{"SB999999999", channels.StatusDelivered}, {"", channels.StatusDelivered}, {pids[a], "bogus"}} {
		changed, err := e.campaigns.ApplyStatus(e.ctx, e.pool, e.ws.ID, channels.KindSandbox, c.pid, c.status, "")
		if changed || err != nil {
			t.Fatalf("ApplyStatus(%q, %q) = %v, %v; want false, nil", c.pid, c.status, changed, err)
		}
	}

	s, err := e.campaigns.Stats(e.ctx, e.ws.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s.State != campaigns.StateCompleted || s.Recipients != 3 || s.Queued != 0 || s.Sent != 1 || s.Delivered != 1 ||
		s.Failed != 2 || s.Segments != 2 || len(s.ByStatus) != 3 ||
		s.ByStatus["read"] != 1 || s.ByStatus["undelivered"] != 1 || s.ByStatus["skipped"] != 1 {
		t.Fatalf("stats %+v", s)
	}
	for lang, want := range map[string]campaigns.Breakdown{
		"en": {Recipients: 1, Delivered: 1}, "ar": {Recipients: 1, Failed: 1}, "sw": {Recipients: 1, Failed: 1}} {
		if got := s.ByLanguage[lang]; got == nil || *got != want {
			t.Fatalf("stats for %s: %+v, want %+v", lang, got, want)
		}
	}
	if got := s.ByChannel[channels.KindSandbox]; len(s.ByChannel) != 1 || got == nil || *got != (campaigns.Breakdown{Recipients: 3, Delivered: 1, Failed: 2}) {
		t.Fatalf("stats by channel %v", s.ByChannel)
	}
	if s.Run == nil || s.Run.ID != run || s.Run.State != "completed" || s.Run.Recipients != 3 {
		t.Fatalf("run %+v", s.Run)
	}
	// The outbox holds each sent message once, in its language.
	for _, m := range []struct{ to, lang string }{{"+254700000001", "en"}, {"+966500000001", "ar"}} {
		got, err := e.outbox.List(e.ctx, e.ws.ID, m.to, 0)
		if err != nil || len(got) != 1 || got[0].Language != m.lang || got[0].CampaignID == nil || *got[0].CampaignID != c.ID {
			t.Fatalf("outbox of %s: %+v, %v", m.to, got, err)
		}
	}
	if got, _ := e.outbox.List(e.ctx, e.ws.ID, "+255700000001", 0); len(got) != 0 {
		t.Fatalf("the skipped contact got %+v", got)
	}
}

// TestRescheduleMovesTheStart changes the time of a scheduled campaign: it must then start at
// the new time, not the old one (or the change must be refused).
func TestRescheduleMovesTheStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := time.Now().Add(time.Hour).Truncate(time.Second)
	later := first.Add(24 * time.Hour)
	c := e.campaign(t, campaigns.Input{Schedule: &campaigns.Schedule{Kind: campaigns.ScheduleAt, At: first}})
	if _, err := e.campaigns.Schedule(e.ctx, e.ws.ID, c.ID, actor); err != nil {
		t.Fatal(err)
	}
	got, err := e.campaigns.Update(e.ctx, e.ws.ID, c.ID, campaigns.Input{Schedule: &campaigns.Schedule{Kind: campaigns.ScheduleAt, At: later}}, actor)
	if errcode.CodeOf(err) == errcode.Conflict {
		return // refusing to move a scheduled campaign is a consistent answer too
	}
	if err != nil {
		t.Fatal(err)
	}
	if !got.Schedule.At.Equal(later) || got.NextRunAt == nil || !got.NextRunAt.Equal(later) {
		t.Fatalf("after moving the schedule to %v: schedule.at %v, next_run_at %v", later, got.Schedule.At, got.NextRunAt)
	}
	jobs := e.startJobs(t, c.ID)
	if len(jobs) == 0 || !jobs[len(jobs)-1].scheduledAt.Equal(later) {
		t.Fatalf("start jobs %+v; want one at the new time %v", jobs, later)
	}
	// The old start job, when its time comes, must find the campaign not yet due.
	if run := e.startRun(t, c.ID); run != 0 {
		t.Fatal("the campaign started before its new time")
	}
}

// TestScheduleRefusesTextThatCannotRender schedules texts that need a count or a hotline number
// the campaign and workspace do not have: saving or scheduling must say so, not the fan-out later.
func TestScheduleRefusesTextThatCannotRender(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.person(t, "Amina", "en", "+254700000001", true)
	for _, tc := range []struct {
		field    string
		contents campaigns.Contents
	}{
		{"count", campaigns.Contents{"en": {One: "You have {{.Count}} message", Other: "You have {{.Count}} messages"}}},
		{"hotline", campaigns.Contents{"en": {Other: "Call {{.Hotline}}"}}},
	} {
		c, err := e.campaigns.Create(e.ctx, e.ws.ID, campaigns.Input{Name: ptr(tc.field), Contents: &tc.contents}, actor)
		if ee, ok := errcode.As(err); ok && ee.Field == tc.field {
			continue // refused when saved: fine
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.campaigns.Preview(e.ctx, e.ws.ID, c.ID); errcode.CodeOf(err) != errcode.Invalid {
			t.Fatalf("%s: preview: %v", tc.field, err)
		}
		_, err = e.campaigns.Schedule(e.ctx, e.ws.ID, c.ID, actor)
		if ee, ok := errcode.As(err); ok && ee.Code == errcode.Invalid && ee.Field == tc.field {
			continue
		}
		if err != nil {
			t.Fatalf("%s: schedule: %v", tc.field, err)
		}
		run := e.startRun(t, c.ID)
		fanErr := pgx.BeginFunc(e.ctx, e.pool, func(tx pgx.Tx) error {
			_, _, err := e.campaigns.FanoutStep(e.ctx, tx, run, campaigns.NewRendererCache())
			return err
		})
		t.Errorf("%s: a campaign whose text cannot be rendered was scheduled; its fan-out then fails with %v, leaving it %s",
			tc.field, fanErr, e.get(t, c.ID).State)
	}
}
