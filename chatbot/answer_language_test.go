package chatbot_test

import (
	"testing"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/chatbot"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/locales"
	"github.com/waymark-org/waymark/workspaces"
)

// TestKeywordAnsweredInPersonsLanguage checks the language STOP, START and HELP are answered in:
// the contact's own when Waymark speaks it, whatever language the keyword was in; through the
// workspace's fallback chain when it does not speak the contact's; the keyword's language for an
// unknown sender and for a contact without a language; and that no answer changes the contact's
// language.
func TestKeywordAnsweredInPersonsLanguage(t *testing.T) {
	t.Parallel()
	c := newConvo(t, func(s *workspaces.Settings) {
		// Pashto is not shipped; its speakers in this workspace read Dari.
		s.LanguageFallbacks = map[string][]string{"ps": {"fa-AF"}}
	})
	language := func(from string) string {
		t.Helper()
		id, err := c.cs.Lookup(c.ctx, c.ws, channels.KindSandbox, from)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.cs.Get(c.ctx, c.ws.ID, id, false, workspaces.SystemActor)
		if err != nil {
			t.Fatal(err)
		}
		return got.Language
	}
	cases := []struct {
		name, from, lang string // lang "" makes the contact without a language; "-" makes none
		text             string
		want             string // the answer's language
		wantID           string
		contactLanguage  string // after the message
	}{
		{"Amharic speaker, English STOP", "+254700000601", "am", "STOP", "am", locales.StopConfirmation, "am"},
		{"Amharic speaker, English START", "+254700000601", "am", "START", "am", locales.StartConfirmation, "am"},
		{"Amharic speaker, English HELP", "+254700000601", "am", "help", "am", locales.HelpReply, "am"},
		{"Arabic speaker, Amharic STOP", "+254700000602", "ar", "አቁም", "ar", locales.StopConfirmation, "ar"},
		{"Pashto speaker through the fallback", "+254700000603", "ps", "STOP", "fa-AF", locales.StopConfirmation, "ps"},
		{"unknown sender, Arabic STOP", "+254700000604", "-", "إيقاف", "ar", locales.StopConfirmation, c.ws.DefaultLanguage},
		{"unknown sender, English STOP", "+254700000605", "-", "STOP", "en", locales.StopConfirmation, c.ws.DefaultLanguage},
		{"no language, Amharic STOP", "+254700000606", "", "አቁም", "am", locales.StopConfirmation, ""},
	}
	made := map[string]bool{}
	for _, tc := range cases {
		if tc.lang != "-" && !made[tc.from] {
			made[tc.from] = true
			f := contacts.Fields{}
			if tc.lang != "" {
				f.Language = ptr(tc.lang)
			}
			if _, err := c.cs.Create(c.ctx, c.ws, contacts.NewContact{Fields: f,
				Identities: []contacts.IdentityInput{{Kind: "sandbox", Value: tc.from}}}, contacts.SourceAPI, workspaces.SystemActor); err != nil {
				t.Fatal(err)
			}
		}
		got := c.say(tc.from, tc.text)
		want := chatbot.Localized(tc.want, tc.wantID, map[string]any{"Sender": c.ws.SenderName})
		if len(got) != 1 || got[0].text != want {
			t.Errorf("%s: answers %+v, want one %q", tc.name, got, want)
			continue
		}
		if l := language(tc.from); l != tc.contactLanguage {
			t.Errorf("%s: the contact's language is now %q, want %q", tc.name, l, tc.contactLanguage)
		}
	}
	// The unknown sender's STOP took effect like any other.
	if got := c.consent("+254700000604"); got != contacts.StatusOptOut {
		t.Fatalf("the unknown sender's Arabic STOP left consent %q", got)
	}
}

// TestLanguagePressWithoutContact presses a Telegram language button in a chat that has no
// contact, because the contact was erased after the picker was sent, and in a chat Waymark never
// saw: each press completes (no error for River to retry 25 times), makes a contact in the
// language pressed, without consent, answers in that language and answers the press.
func TestLanguagePressWithoutContact(t *testing.T) {
	t.Parallel()
	c := newConvo(t, nil)
	tg := channels.KindTelegram
	const erased, stranger = "5550601", "5550602"
	if err := c.handle(c.store(channels.Inbound{Kind: tg, ProviderID: "u1", From: erased, Text: "/start"})); err != nil {
		t.Fatal(err)
	}
	first, err := c.cs.Lookup(c.ctx, c.ws, tg, erased)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cs.Erase(c.ctx, c.ws.ID, first, workspaces.SystemActor); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct{ from, lang string }{{erased, "am"}, {stranger, "ar"}} {
		before := len(c.rep.sent)
		press := c.store(channels.Inbound{Kind: tg, ProviderID: "p" + tc.from, From: tc.from, Callback: "lang:" + tc.lang,
			CallbackQueryID: "q" + tc.from})
		for range 2 { // a second run changes nothing
			if err := c.handle(press); err != nil {
				t.Fatalf("%s: press: %v", tc.from, err)
			}
		}
		id, err := c.cs.Lookup(c.ctx, c.ws, tg, tc.from)
		if err != nil {
			t.Fatalf("%s: no contact after the press: %v", tc.from, err)
		}
		got, err := c.cs.Get(c.ctx, c.ws.ID, id, false, workspaces.SystemActor)
		if err != nil {
			t.Fatal(err)
		}
		if got.Language != tc.lang || id == first {
			t.Errorf("%s: contact %d in %q, want a new one in %q", tc.from, id, got.Language, tc.lang)
		}
		if s, ok := got.Consent[tg]; ok && s != contacts.StatusNone {
			t.Errorf("%s: a language press recorded consent %q", tc.from, s)
		}
		if hist, _ := c.cs.ConsentHistory(c.ctx, c.ws.ID, id); len(hist) != 0 {
			t.Errorf("%s: ledger %+v, want nothing", tc.from, hist)
		}
		sent := c.rep.sent[before:]
		if want := localized(tc.lang, locales.LanguageChanged); len(sent) != 1 || sent[0].text != want || sent[0].to != tc.from {
			t.Errorf("%s: answers %+v, want one %q", tc.from, sent, want)
		}
		if len(c.rep.presses) != i+1 || c.rep.presses[i] != "q"+tc.from {
			t.Errorf("%s: presses answered %q", tc.from, c.rep.presses)
		}
	}
}

// TestHandleMessageGone runs the job of a message deleted before it was handled (erased with its
// sender, or past the workspace's retention while the job waited for a retry): the job completes
// and nothing is sent.
func TestHandleMessageGone(t *testing.T) {
	t.Parallel()
	c := newConvo(t, nil)
	id := c.store(channels.Inbound{From: "+254700000610", Text: "HELP"})
	if _, err := c.pool.Exec(c.ctx, `DELETE FROM inbound_messages WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if err := c.handle(id); err != nil || len(c.rep.sent) != 0 {
		t.Fatalf("handling a deleted message: %v, sent %q", err, c.rep.texts())
	}
}
