package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/waymark-org/waymark/campaigns"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/workspaces"
)

// seedChunk is how many contacts one import transaction takes: an import holds its rows in
// memory and its transaction open, so a million go in as many modest imports.
const seedChunk = 20_000

// audience is the mix of languages the contacts speak, with a time zone each: Latin, Arabic,
// Ethiopic and Burmese scripts, and Dari (fa-AF), which has no text of its own and falls back to
// Persian, so rendering covers right-to-left text, non-Latin scripts and a fallback chain.
var audience = []struct{ language, timeZone string }{
	{"en", "Africa/Nairobi"},
	{"ar", "Asia/Riyadh"},
	{"am", "Africa/Addis_Ababa"},
	{"ti", "Africa/Asmara"},
	{"fa-AF", "Asia/Kabul"},
	{"my", "Asia/Yangon"},
}

// contents is the campaign's text per language; every contact's language resolves to one of them.
var contents = campaigns.Contents{
	"en": {Other: "{{if .Name}}{{.Name}}, {{end}}check any job offer before you travel. Call {{.Hotline}}."},
	"ar": {Other: "تحقق من أي عرض عمل قبل السفر. اتصل بـ {{.Hotline}}."},
	"am": {Other: "ከመጓዝዎ በፊት ማንኛውንም የሥራ ቅናሽ ያረጋግጡ። ይደውሉ {{.Hotline}}።"},
	"ti": {Other: "ቅድሚ ምጕዓዝኩም ዝኾነ ናይ ስራሕ ዕድል ኣረጋግጹ። ደውሉ {{.Hotline}}።"},
	"fa": {Other: "پیش از سفر هر پیشنهاد کاری را بررسی کنید. تماس: {{.Hotline}}"},
	"my": {Other: "ခရီးမထွက်မီ အလုပ်ကမ်းလှမ်းချက်တိုင်းကို စစ်ဆေးပါ။ ဖုန်းဆက်ရန် {{.Hotline}}"},
}

// workspaceName names a run's workspace; the time keeps concurrent runs apart and tells a left-over
// workspace (after a crash) from a real one.
func workspaceName(now time.Time) string {
	return "bench-" + now.UTC().Format("20060102-150405.000000")
}

// seed creates the run's workspace and imports its contacts, each with a sandbox address and an
// opt-in, through the same import path a CSV file takes.
func (r *run) seed(ctx context.Context) error {
	wsStore := workspaces.NewStore(r.pool)
	ws, err := wsStore.Create(ctx, workspaceName(time.Now()), "KE")
	if err != nil {
		return err
	}
	r.workspaceID = ws.ID
	st := workspaces.SettingsOf(ws)
	st.HotlineNumber = "+254 800 000 000"
	if ws, err = wsStore.UpdateSettings(ctx, ws.ID, st, actor); err != nil {
		return err
	}
	store := contacts.NewStore(r.pool, r.keys)
	yes := true
	n := r.opts.Recipients
	for from := 0; from < n; from += seedChunk {
		rows := make([]contacts.Row, 0, min(seedChunk, n-from))
		for i := from; i < from+cap(rows); i++ {
			a := audience[i%len(audience)]
			rows = append(rows, contacts.Row{Line: i + 1, Name: fmt.Sprintf("Person %d", i+1), Language: a.language,
				TimeZone: a.timeZone, Sandbox: fmt.Sprintf("+2547%08d", i+1), Consent: &yes})
		}
		rep, err := store.ImportRows(ctx, ws, rows, contacts.ImportOptions{ConsentSource: "waymark bench: synthetic contacts", Actor: actor})
		if err != nil {
			return err
		}
		if rep.Created != len(rows) {
			return fmt.Errorf("import created %d of %d contacts (%d rejected)", rep.Created, len(rows), rep.Rejected)
		}
		if done := from + len(rows); done%progressEvery == 0 && done < n {
			r.log.Info("bench: seeding", "contacts", done, "of", n)
		}
	}
	return nil
}

// createCampaign makes the run's campaign and schedules it to start now: sandbox only, no quiet
// hours, no send window, so nothing but the engine's own speed decides how fast it goes.
func (r *run) createCampaign(ctx context.Context) (int64, error) {
	name, body := "Benchmark", contents
	c, err := r.campaigns.Create(ctx, r.workspaceID, campaigns.Input{Name: &name, Contents: &body}, actor)
	if err != nil {
		return 0, err
	}
	if _, err := r.campaigns.Schedule(ctx, r.workspaceID, c.ID, actor); err != nil {
		return c.ID, err
	}
	return c.ID, nil
}
