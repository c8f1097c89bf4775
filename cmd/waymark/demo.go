package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waymark-org/waymark/campaigns"
	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/db"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/migrations"
	"github.com/waymark-org/waymark/workspaces"
)

// demoWorkspace is the workspace the demo seeds and reuses on later runs.
const demoWorkspace = "demo"

// demoPeople are the languages the demo's contacts speak, in turn: Latin, right-to-left and
// Ethiopic scripts, a fallback chain (Dari to Persian) and a language without text (Swahili,
// which falls back to English).
var demoPeople = []struct{ language, country, tz, name string }{
	{"en", "KE", "Africa/Nairobi", "Amina"},
	{"ar", "SA", "Asia/Riyadh", "هدى"},
	{"am", "ET", "Africa/Addis_Ababa", "አበበ"},
	{"fa-AF", "AF", "Asia/Kabul", "فرید"},
	{"ti", "ER", "Africa/Asmara", "ሰላም"},
	{"sw", "KE", "Africa/Nairobi", "Baraka"},
}

var demoContents = campaigns.Contents{
	"en": {Other: "{{if .Name}}{{.Name}}, {{end}}before you accept a job abroad, check the offer with us: {{.Hotline}}."},
	"ar": {Other: "قبل قبول أي عمل في الخارج، تحقق من العرض معنا: {{.Hotline}}."},
	"am": {Other: "ውጭ አገር ሥራ ከመቀበልዎ በፊት ቅናሹን ከእኛ ጋር ያረጋግጡ፦ {{.Hotline}}።"},
	"fa": {Other: "پیش از پذیرفتن کار در خارج، پیشنهاد را با ما بررسی کنید: {{.Hotline}}"},
	"ti": {Other: "ኣብ ወጻኢ ስራሕ ቅድሚ ምቕባልኩም ነቲ ዕድል ምሳና ኣረጋግጹ፦ {{.Hotline}}።"},
}

// languageSummary is one language of the demo's summary.
type languageSummary struct {
	Recipients int64 `json:"recipients"`
	Delivered  int64 `json:"delivered"`
	Failed     int64 `json:"failed"`
}

// demoSummary is what the demo reports; with --json it is the last line of output.
type demoSummary struct {
	Recipients int64                       `json:"recipients"`
	Delivered  int64                       `json:"delivered"`
	Failed     int64                       `json:"failed"`
	DurationMS int64                       `json:"duration_ms"`
	ByLanguage map[string]*languageSummary `json:"by_language"`
	Replies    int                         `json:"replies"`
	// Conversation is the scripted exchange with one person: what they wrote, what came back.
	Conversation []demoTurn `json:"conversation"`
	// SkippedAfterStop says a second campaign left out the person who sent STOP.
	SkippedAfterStop bool   `json:"skipped_after_stop"`
	Workspace        string `json:"workspace"`
	WorkspaceID      int64  `json:"workspace_id"`
	CampaignID       int64  `json:"campaign_id"`
	AdminToken       string `json:"admin_token"`
	Database         string `json:"database"`
	URL              string `json:"url,omitempty"`
}

func cmdDemo(ctx context.Context, c cmdIO, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	once := fs.Bool("once", false, "exit when the demo is done instead of serving")
	asJSON := fs.Bool("json", false, "make the last line of output one JSON summary")
	n := fs.Int("contacts", 12, "how many demo contacts to message (`N`)")
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	if fs.NArg() != 0 || *n < 1 || *n > 10_000_000 {
		return usageErr("usage: waymark demo [--contacts N] [--once] [--json]  (N from 1 to 10000000)")
	}
	start := time.Now()
	e, err := openEnv(ctx, c)
	if err != nil {
		return err
	}
	defer e.close(ctx)
	say := func(format string, args ...any) {
		if !*asJSON {
			fmt.Fprintf(c.stdout, format+"\n", args...)
		}
	}
	say("database: %s", db.Describe(e.url))
	keyFile := pii.DefaultKeyFile(e.cfg.DataDir)
	if e.cfg.SecretKey == "" {
		if _, err := os.Stat(keyFile); errors.Is(err, os.ErrNotExist) {
			if err := pii.WriteNewKeyFile(keyFile); err != nil {
				return err
			}
			say("encryption key: wrote %s (back it up: without it the personal data cannot be read)", keyFile)
		}
	}
	keys, _, err := loadKeys(e.cfg)
	if err != nil {
		return err
	}
	res, err := migrations.Migrate(ctx, e.pool, e.logger)
	if err != nil {
		return err
	}
	say("migrations: %d River and %d Waymark applied", len(res.RiverApplied), len(res.WaymarkApplied))

	a, err := newApp(e, keys)
	if err != nil {
		return err
	}
	ws, err := demoSetup(ctx, a, say)
	if err != nil {
		return err
	}
	token, _, err := a.workspaces.CreateToken(ctx, ws.ID, workspaces.RoleAdmin, "demo-admin", "demo", cliActor())
	if err != nil {
		return err
	}
	say("admin token (shown once): %s", token)
	if err := demoContacts(ctx, a, ws, *n); err != nil {
		return err
	}
	say("contacts: %d in %d languages, each with a sandbox address and an opt-in", *n, min(*n, len(demoPeople)))
	camp, err := a.campaigns.Create(ctx, ws.ID, campaigns.Input{
		Name:     ptr(fmt.Sprintf("Check job offers (demo %s)", time.Now().Format("2006-01-02 15:04:05"))),
		Contents: ptr(demoContents), ChannelOrder: ptr([]string{"sandbox"}),
		Audience: &campaigns.Audience{Tags: []string{"demo"}},
	}, cliActor())
	if err != nil {
		return err
	}
	if _, err := a.campaigns.Schedule(ctx, ws.ID, camp.ID, cliActor()); err != nil {
		return err
	}
	say("campaign %d scheduled to send now over the sandbox channel", camp.ID)

	sum := &demoSummary{Workspace: ws.Name, WorkspaceID: ws.ID, CampaignID: camp.ID, AdminToken: token,
		Database: db.Describe(e.url), ByLanguage: map[string]*languageSummary{}}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var flowErr error
	err = runServicesWith(runCtx, e, a, true, func(addr string) {
		go func() {
			sum.URL = "http://" + addr
			flowErr = demoFinish(runCtx, c, a, ws, camp.ID, *n, start, sum, say)
			if flowErr == nil && *asJSON {
				_ = json.NewEncoder(c.stdout).Encode(sum)
			}
			if flowErr != nil || *once {
				stop()
				return
			}
			say("serving on %s; try:\n  curl -H 'Authorization: Bearer %s' %s/api/v1/campaigns/%d/stats\npress Ctrl-C to stop", sum.URL, token, sum.URL, camp.ID)
		}()
	})
	return errors.Join(flowErr, err)
}

func ptr[T any](v T) *T { return &v }

// demoSetup finds or creates the demo workspace and gives it a hotline number and a Dari
// fallback chain.
func demoSetup(ctx context.Context, a *app, say func(string, ...any)) (workspaces.Workspace, error) {
	ws, err := a.workspaces.GetByName(ctx, demoWorkspace)
	if errors.Is(err, db.ErrNotFound) {
		if ws, err = a.workspaces.Create(ctx, demoWorkspace, "KE"); err != nil {
			return ws, err
		}
		say("workspace: created %q (id %d)", ws.Name, ws.ID)
	} else if err != nil {
		return ws, err
	} else {
		say("workspace: reusing %q (id %d)", ws.Name, ws.ID)
	}
	st := workspaces.SettingsOf(ws)
	st.HotlineNumber = "+254 800 221 221"
	st.DefaultLanguage = "en"
	st.LanguageFallbacks = map[string][]string{"fa-AF": {"fa", "en"}}
	st.SenderName = "Travel Info"
	// The demo replays its conversation on every run; a real workspace keeps the default cap.
	st.RepliesPerHour = 1000
	ws, err = a.workspaces.UpdateSettings(ctx, ws.ID, st, cliActor())
	if err != nil {
		return ws, err
	}
	if _, err := a.chatbot.Import(ctx, ws.ID, demoTree, cliActor()); err != nil {
		return ws, fmt.Errorf("demo chatbot: %w", err)
	}
	return ws, nil
}

// demoAddress is the sandbox address of the i-th demo contact.
func demoAddress(i int) string { return fmt.Sprintf("+2547%08d", i+1) }

// demoContacts makes sure the first n demo contacts exist with an opt-in on the sandbox; a later
// run updates the same people instead of adding new ones.
func demoContacts(ctx context.Context, a *app, ws workspaces.Workspace, n int) error {
	yes := true
	const chunk = 50_000
	for from := 0; from < n; from += chunk {
		rows := make([]contacts.Row, 0, min(chunk, n-from))
		for i := from; i < min(from+chunk, n); i++ {
			p := demoPeople[i%len(demoPeople)]
			rows = append(rows, contacts.Row{Line: i + 1, Name: fmt.Sprintf("%s %d", p.name, i+1), Language: p.language,
				Country: p.country, TimeZone: p.tz, Tags: []string{"demo"}, Sandbox: demoAddress(i), Consent: &yes})
		}
		if _, err := a.contacts.ImportRows(ctx, ws, rows, contacts.ImportOptions{ConsentSource: "waymark demo", Actor: cliActor()}); err != nil {
			return err
		}
	}
	return nil
}

// demoFinish waits for the campaign to be delivered, simulates two replies and fills in the
// summary.
func demoFinish(ctx context.Context, c cmdIO, a *app, ws workspaces.Workspace, campaignID int64, n int, start time.Time,
	sum *demoSummary, say func(string, ...any)) error {
	deadline := time.Now().Add(2*time.Minute + time.Duration(n)*time.Millisecond)
	for {
		st, err := a.campaigns.Stats(ctx, ws.ID, campaignID)
		if err != nil {
			return err
		}
		if st.State == campaigns.StateCompleted && st.ByStatus["sent"] == 0 && st.Queued == 0 {
			sum.Recipients, sum.Delivered, sum.Failed = st.Recipients, st.Delivered, st.Failed
			for lang, b := range st.ByLanguage {
				sum.ByLanguage[lang] = &languageSummary{Recipients: b.Recipients, Delivered: b.Delivered, Failed: b.Failed}
			}
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the demo campaign did not finish in time: %d of %d recipients done", st.Sent+st.Failed, st.Recipients)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	// A person writes back and talks to the chatbot, then sends STOP; a second campaign skips them.
	if err := demoConversation(ctx, a, ws, sum, say); err != nil {
		return err
	}
	sum.DurationMS = time.Since(start).Milliseconds()
	say("delivered %d of %d messages (%d failed) in %d ms; %d replies stored", sum.Delivered, sum.Recipients, sum.Failed, sum.DurationMS, sum.Replies)
	langs := make([]string, 0, len(sum.ByLanguage))
	for l := range sum.ByLanguage {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	for _, l := range langs {
		b := sum.ByLanguage[l]
		say("  %-6s %d recipients, %d delivered, %d failed", l, b.Recipients, b.Delivered, b.Failed)
	}
	list, err := a.outbox.List(ctx, ws.ID, demoAddress(min(1, n-1)), 1)
	if err == nil && len(list) > 0 {
		say("sandbox outbox of %s, latest message:\n  %s", demoAddress(min(1, n-1)), list[len(list)-1].Text)
	}
	return nil
}

// demoTree is the demo workspace's chatbot.
//
//go:embed demo_tree.yaml
var demoTree []byte

// demoTurn is one exchange of the demo's conversation.
type demoTurn struct {
	In  string `json:"in"`
	Out string `json:"out"`
}

// demoConversation plays a conversation through the sandbox exactly as a person's messages
// arrive: stored, handled by the workers, answered through the outbox. The person is new on
// every run, because a STOP is permanent until they themselves send START.
func demoConversation(ctx context.Context, a *app, ws workspaces.Workspace, sum *demoSummary, say func(string, ...any)) error {
	who := fmt.Sprintf("+2547%08d", 90_000_000+time.Now().UnixMilli()%10_000_000)
	yes := true
	if _, err := a.contacts.ImportRows(ctx, ws, []contacts.Row{{Line: 1, Name: "Demo Person", Language: "en", Tags: []string{"demo"},
		Sandbox: who, Consent: &yes}}, contacts.ImportOptions{ConsentSource: "waymark demo", Actor: cliActor()}); err != nil {
		return err
	}
	say("conversation with %s over the sandbox:", who)
	for _, text := range []string{"hello", "1", "1", "STOP"} {
		before, err := a.outbox.List(ctx, ws.ID, who, 1000)
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, a.campaigns.Pool(), func(tx pgx.Tx) error {
			_, _, err := a.chatbot.Receive(ctx, tx, a.inbox, a.contacts, a.jobs, ws, channels.Inbound{Kind: channels.KindSandbox, From: who, Text: text})
			return err
		})
		if err != nil {
			return err
		}
		sum.Replies++
		reply, err := demoAwaitReply(ctx, a, ws, who, len(before))
		if err != nil {
			return err
		}
		sum.Conversation = append(sum.Conversation, demoTurn{In: text, Out: reply})
		say("  > %s\n  < %s", text, strings.ReplaceAll(reply, "\n", "\n    "))
	}
	follow, err := a.campaigns.Create(ctx, ws.ID, campaigns.Input{Name: ptr("Follow-up (demo)"),
		Contents:     ptr(campaigns.Contents{"en": {Other: "Reminder: keep copies of your documents."}}),
		ChannelOrder: ptr([]string{"sandbox"}), Audience: &campaigns.Audience{Tags: []string{"demo"}}}, cliActor())
	if err != nil {
		return err
	}
	if _, err := a.campaigns.Schedule(ctx, ws.ID, follow.ID, cliActor()); err != nil {
		return err
	}
	for {
		st, err := a.campaigns.Stats(ctx, ws.ID, follow.ID)
		if err != nil {
			return err
		}
		if st.State == campaigns.StateCompleted {
			break
		}
		if err := demoSleep(ctx); err != nil {
			return err
		}
	}
	got, err := a.outbox.List(ctx, ws.ID, who, 1000)
	if err != nil {
		return err
	}
	sum.SkippedAfterStop = true
	for _, m := range got {
		if m.CampaignID != nil && *m.CampaignID == follow.ID {
			sum.SkippedAfterStop = false
		}
	}
	say("a second campaign went out; the person who sent STOP got nothing: %v", sum.SkippedAfterStop)
	return nil
}

// demoAwaitReply waits for the outbox to hold a message beyond the first `had`.
func demoAwaitReply(ctx context.Context, a *app, ws workspaces.Workspace, who string, had int) (string, error) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		list, err := a.outbox.List(ctx, ws.ID, who, 1000)
		if err != nil {
			return "", err
		}
		if len(list) > had {
			return list[len(list)-1].Text, nil
		}
		if err := demoSleep(ctx); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("no reply to the demo conversation within 30 s")
}

func demoSleep(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(100 * time.Millisecond):
		return nil
	}
}
