package chatbot_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/chatbot"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/locales"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/worker"
	"github.com/waymark-org/waymark/workspaces"
)

// store stores a message from a sandbox address without handling it.
func (c *convo) store(in channels.Inbound) int64 {
	c.t.Helper()
	if in.Kind == "" {
		in.Kind = channels.KindSandbox
	}
	id, _, err := c.inbox.StoreInbound(c.ctx, c.pool, c.ws.ID, in)
	if err != nil {
		c.t.Fatal(err)
	}
	return id
}

func (c *convo) handle(id int64) error {
	return c.h.Handle(c.ctx, chatbot.HandleArgs{WorkspaceID: c.ws.ID, MessageID: id})
}

// person makes a contact with a sandbox address and a language, without consent.
func (c *convo) person(from, lang string) int64 {
	c.t.Helper()
	p, err := c.cs.Create(c.ctx, c.ws, contacts.NewContact{Fields: contacts.Fields{Language: ptr(lang)},
		Identities: []contacts.IdentityInput{{Kind: "sandbox", Value: from}}}, contacts.SourceAPI, workspaces.SystemActor)
	if err != nil {
		c.t.Fatal(err)
	}
	return p.ID
}

// ledger lists a contact's consent rows as status/source.
func (c *convo) ledger(contactID int64) []string {
	c.t.Helper()
	hist, err := c.cs.ConsentHistory(c.ctx, c.ws.ID, contactID)
	if err != nil {
		c.t.Fatal(err)
	}
	var out []string
	for _, h := range hist {
		out = append(out, h.Status+"/"+h.Source)
	}
	return out
}

// replies lists the stored answers to a message as status:text (provider id when sent).
func (c *convo) replies(messageID int64) []messages.Reply {
	c.t.Helper()
	got, err := c.inbox.Replies(c.ctx, c.ws.ID, messageID)
	if err != nil {
		c.t.Fatal(err)
	}
	return got
}

func (c *convo) handled(messageID int64) bool {
	c.t.Helper()
	m, err := c.inbox.Get(c.ctx, c.ws.ID, messageID)
	if err != nil {
		c.t.Fatal(err)
	}
	return m.HandledAt != nil
}

// TestAnswerRetriedNotRepeated fails an answer temporarily, then permanently, then because the
// person blocked the bot, and checks what a run of the job after each does: the message's effects
// apply once, an answer that went out is never sent again, a temporary failure is an error (River
// runs the job again) and a permanent one is recorded and not retried.
func TestAnswerRetriedNotRepeated(t *testing.T) {
	t.Parallel()
	c := newConvo(t, nil)
	const from = "+254700000300"
	person := c.person(from, "am")

	// START fails to go out for a network error: the job fails, the opt-in is kept.
	var failures int
	c.rep.fail = func(n int, text string) error {
		if failures > 0 {
			failures--
			return &channels.SendError{Class: channels.Temporary, Code: "no-answer", Reason: "connection reset"}
		}
		return nil
	}
	failures = 1
	start := c.store(channels.Inbound{From: from, Text: "ጀምር"}) // START in Amharic
	err := c.handle(start)
	var se *channels.SendError
	if !errors.As(err, &se) || se.Class != channels.Temporary {
		t.Fatalf("a temporary failure of the answer: Handle = %v, want the send error back", err)
	}
	if !c.handled(start) || len(c.rep.sent) != 0 {
		t.Fatalf("after the failed answer: handled %v, sent %v", c.handled(start), c.rep.texts())
	}
	if r := c.replies(start); len(r) != 1 || r[0].Status != messages.ReplyPending || r[0].ContactID != person {
		t.Fatalf("the failed answer is stored as %+v, want pending", r)
	}
	// River's retry sends it; the opt-in stays one ledger row; more runs change nothing.
	for range 3 {
		if err := c.handle(start); err != nil {
			t.Fatalf("retry: %v", err)
		}
	}
	want := localized("am", locales.StartConfirmation)
	if got := c.rep.texts(); !slices.Equal(got, []string{want}) {
		t.Fatalf("sent %q, want the Amharic START confirmation once", got)
	}
	if r := c.replies(start); len(r) != 1 || r[0].Status != messages.ReplySent || r[0].ProviderID != "P1" || r[0].Text != want || r[0].SentAt == nil {
		t.Fatalf("stored answer %+v, want sent as P1", r)
	}
	if got := c.ledger(person); !slices.Equal(got, []string{"opt_in/keyword"}) {
		t.Fatalf("ledger %v, want one opt-in", got)
	}

	// A throttle that outlasts the short waits also fails the job, to be run again later.
	c.rep.fail = func(n int, text string) error {
		return &channels.SendError{Class: channels.Throttled, Code: "429"}
	}
	help := c.store(channels.Inbound{From: from, Text: "HELP"})
	if err := c.handle(help); channels.Classify(err).Class != channels.Throttled {
		t.Fatalf("a throttled answer: Handle = %v", err)
	}
	if r := c.replies(help); len(r) != 1 || r[0].Status != messages.ReplyPending {
		t.Fatalf("the throttled answer is stored as %+v, want pending", r)
	}

	// A permanent failure is recorded with the answer and not retried.
	c.rep.fail = func(n int, text string) error {
		return &channels.SendError{Class: channels.Permanent, Code: "21211", Reason: "invalid number"}
	}
	if err := c.handle(help); err != nil {
		t.Fatalf("a permanent failure: Handle = %v, want nil (nothing to retry)", err)
	}
	calls := c.rep.calls
	if err := c.handle(help); err != nil || c.rep.calls != calls {
		t.Fatalf("a run after the permanent failure tried again (%d calls, %v)", c.rep.calls-calls, err)
	}
	if r := c.replies(help); len(r) != 1 || r[0].Status != messages.ReplyFailed || r[0].Error != "permanent 21211: invalid number" {
		t.Fatalf("the failed answer is stored as %+v", r)
	}

	// A person who blocked the bot is opted out, as when a campaign message learns it.
	c.rep.fail = func(n int, text string) error {
		return &channels.SendError{Class: channels.RecipientStopped, Code: "403", Reason: "Forbidden: bot was blocked by the user"}
	}
	if err := c.handle(c.store(channels.Inbound{From: from, Text: "HELP"})); err != nil {
		t.Fatal(err)
	}
	if got := c.ledger(person); !slices.Equal(got, []string{"opt_in/keyword", "opt_out/provider"}) {
		t.Fatalf("ledger %v, want the provider's opt-out after the opt-in", got)
	}
}

// TestRetrySendsOnlyUnsentAnswers runs the job again for a message whose first answer went out
// and whose second did not: only the second is sent.
func TestRetrySendsOnlyUnsentAnswers(t *testing.T) {
	t.Parallel()
	c := newConvo(t, nil)
	person := c.person("+254700000301", "en")
	id := c.store(channels.Inbound{From: "+254700000301", Text: "hello"})
	// The state a run leaves when it dies after sending answer 0 of two.
	if err := pgx.BeginFunc(c.ctx, c.pool, func(tx pgx.Tx) error {
		if ok, err := c.inbox.Claim(c.ctx, tx, c.ws.ID, id); err != nil || !ok {
			t.Fatalf("Claim = %v, %v", ok, err)
		}
		if err := c.inbox.MarkHandled(c.ctx, tx, c.ws.ID, id, &person); err != nil {
			return err
		}
		for seq, text := range []string{"first", "second"} {
			if _, err := c.inbox.AddReply(c.ctx, tx, c.ws.ID, messages.Reply{MessageID: id, ContactID: person, Seq: seq,
				Kind: channels.KindSandbox, Text: text}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.inbox.MarkReplySent(c.ctx, c.pool, c.ws.ID, c.replies(id)[0].ID, "SB1"); err != nil || !ok {
		t.Fatal(ok, err)
	}
	for range 2 {
		if err := c.handle(id); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.rep.texts(); !slices.Equal(got, []string{"second"}) {
		t.Fatalf("sent %q, want only the unsent answer", got)
	}
	if r := c.replies(id); r[0].ProviderID != "SB1" || r[1].Status != messages.ReplySent {
		t.Fatalf("answers %+v", r)
	}
}

// TestButtonPressAnsweredOnce presses a Telegram language button and runs the job again, also
// after a failed answer: the press is answered once, by the run that handled it.
func TestButtonPressAnsweredOnce(t *testing.T) {
	t.Parallel()
	c := newConvo(t, nil)
	tg := channels.KindTelegram
	c.rep.fail = func(n int, text string) error {
		if n == 1 {
			return &channels.SendError{Class: channels.Temporary, Code: "500"}
		}
		return nil
	}
	if err := c.handle(c.store(channels.Inbound{Kind: tg, ProviderID: "u1", From: "5550101", Text: "/start"})); err != nil {
		t.Fatal(err)
	}
	press := c.store(channels.Inbound{Kind: tg, ProviderID: "u2", From: "5550101", Callback: "lang:ti", CallbackQueryID: "4382bfdwdsb323b2d9"})
	if err := c.handle(press); err == nil {
		t.Fatal("the failed answer to the press did not fail the job")
	}
	for range 2 {
		if err := c.handle(press); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(c.rep.presses, []string{"4382bfdwdsb323b2d9"}) {
		t.Fatalf("presses answered: %q, want the one once", c.rep.presses)
	}
	if got := c.rep.texts(); len(got) != 2 || got[1] != localized("ti", locales.LanguageChanged) {
		t.Fatalf("sent %q", got)
	}
	// A message that is no press answers none.
	if err := c.handle(c.store(channels.Inbound{Kind: tg, ProviderID: "u3", From: "5550101", Text: "HELP"})); err != nil || len(c.rep.presses) != 1 {
		t.Fatalf("a text answered a press: %q, %v", c.rep.presses, err)
	}
}

// TestCrashBetweenStoringAndHandling stores a message with its job as a webhook does, lets two
// workers die on it before any worker runs the job (one inside the handling transaction, one
// after it committed but before the answer went out), then starts a River worker: the message
// is handled once, with one answer stored and sent once.
func TestCrashBetweenStoringAndHandling(t *testing.T) {
	t.Parallel()
	c := newConvo(t, nil)
	const from = "+254700000302"
	person := c.person(from, "fr")
	jobs, err := worker.NewInserter(c.pool)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := pgx.BeginFunc(c.ctx, c.pool, func(tx pgx.Tx) error {
		var err error
		id, _, err = c.h.Store.Receive(c.ctx, tx, c.inbox, c.cs, jobs, c.ws, channels.Inbound{Kind: channels.KindSandbox, From: from, Text: "DÉMARRER"})
		return err
	}); err != nil {
		t.Fatal(err)
	}

	// A worker dies inside the handling transaction: it waits on the message's row (another
	// transaction holds it) when its context ends. Nothing it did stays.
	lock, err := c.pool.Begin(c.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec(c.ctx, `SELECT 1 FROM inbound_messages WHERE id = $1 FOR UPDATE`, id); err != nil {
		t.Fatal(err)
	}
	dying, cancel := context.WithTimeout(c.ctx, 300*time.Millisecond)
	err = c.h.Handle(dying, chatbot.HandleArgs{WorkspaceID: c.ws.ID, MessageID: id})
	cancel()
	_ = lock.Rollback(c.ctx)
	if err == nil {
		t.Fatal("the handling outlived its context")
	}
	if c.handled(id) || len(c.replies(id)) != 0 || len(c.ledger(person)) != 0 || len(c.rep.sent) != 0 {
		t.Fatalf("a dead handling left: handled %v, answers %+v, ledger %v, sent %q",
			c.handled(id), c.replies(id), c.ledger(person), c.rep.texts())
	}

	// A worker dies after the handling committed, before its answer reached the provider.
	c.rep.fail = func(n int, text string) error { return context.Canceled }
	if err := c.handle(id); err == nil {
		t.Fatal("a send that never happened did not fail the job")
	}
	c.rep.fail = nil
	if !c.handled(id) || len(c.rep.sent) != 0 {
		t.Fatalf("handled %v, sent %q", c.handled(id), c.rep.texts())
	}

	// The job is still there; a worker starts and runs it.
	workers := river.NewWorkers()
	river.AddWorker(workers, &worker.InboundWorker{Handler: c.h})
	client, err := river.NewClient(riverpgxv5.New(c.pool), &river.Config{
		Logger: slog.New(slog.DiscardHandler), Queues: map[string]river.QueueConfig{chatbot.QueueInbound: {MaxWorkers: 2}},
		Workers: workers, TestOnly: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	events, stop := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	defer stop()
	if err := client.Start(c.ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Stop(ctx)
	}()
	select {
	case ev := <-events:
		if ev.Kind != river.EventKindJobCompleted || ev.Job.Kind != (chatbot.HandleArgs{}).Kind() {
			t.Fatalf("job %s: %s", ev.Job.Kind, ev.Kind)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the worker did not run the job")
	}

	want := localized("fr", locales.StartConfirmation)
	if got := c.rep.texts(); !slices.Equal(got, []string{want}) {
		t.Fatalf("sent %q, want the French START confirmation once", got)
	}
	if r := c.replies(id); len(r) != 1 || r[0].Status != messages.ReplySent || r[0].ProviderID == "" || r[0].Text != want {
		t.Fatalf("stored answers %+v, want one, sent", r)
	}
	if got := c.ledger(person); !slices.Equal(got, []string{"opt_in/keyword"}) {
		t.Fatalf("ledger %v, want one opt-in", got)
	}
	var jobsLeft int
	if err := c.pool.QueryRow(c.ctx, `SELECT count(*) FROM river_job WHERE kind = 'inbound_handle' AND state <> 'completed'`).Scan(&jobsLeft); err != nil || jobsLeft != 0 {
		t.Fatalf("%d handling jobs not completed (%v)", jobsLeft, err)
	}
}
