package chatbot_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/chatbot"
	"github.com/waymark-org/waymark/locales"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/workspaces"
)

// The first messages of the tests' workspaces: neutral, as the README asks.
const (
	greetingEn = "Hello. This number shares travel and work information. Reply STOP to end."
	greetingAm = "ሰላም። ይህ ቁጥር የጉዞና የሥራ መረጃ ይሰጣል። ለማቆም አቁም ብለው ይላኩ።"
)

// greeted is a workspace with a first message in English (its default language) and Amharic,
// whose Tigrinya speakers read Amharic, and the chatbot tree of testdata/tree.yaml.
func greeted(t *testing.T, configure func(*workspaces.Settings)) *convo {
	t.Helper()
	c := newConvo(t, func(s *workspaces.Settings) {
		s.FirstMessage = map[string]string{"en": greetingEn, "am": greetingAm}
		s.LanguageFallbacks = map[string][]string{"ti": {"am"}}
		if configure != nil {
			configure(s)
		}
	})
	c.importTree()
	return c
}

func texts(s []sent) []string {
	var out []string
	for _, r := range s {
		out = append(out, r.text)
	}
	return out
}

// TestFirstMessageToUnknownSender checks that a sender Waymark has never answered hears the first
// message, then the answer to what they wrote, in the language of that answer or the nearest one
// the workspace wrote a first message in; and that nobody hears it twice, nor a known contact.
func TestFirstMessageToUnknownSender(t *testing.T) {
	t.Parallel()
	c := greeted(t, nil)

	// Free text from an unknown number: the first message, then the top menu, both stored in
	// order as answers to the message.
	const from = "+254700000700"
	id := c.store(channels.Inbound{From: from, Text: "hello"})
	if err := c.handle(id); err != nil {
		t.Fatal(err)
	}
	got := c.rep.texts()
	if len(got) != 2 || got[0] != greetingEn || !strings.Contains(got[1], "1. Before you travel") {
		t.Fatalf("an unknown sender's first message got %q, want the first message then the top menu", got)
	}
	if r := c.replies(id); len(r) != 2 || r[0].Seq != 0 || r[0].Text != greetingEn || r[1].Seq != 1 ||
		r[0].Status != messages.ReplySent || r[1].Status != messages.ReplySent {
		t.Fatalf("stored answers %+v, want the first message as answer 0, sent", r)
	}

	// Their next message is answered alone.
	if got := texts(c.say(from, "1")); len(got) != 1 || !strings.Contains(got[0], "1. Check an agency") {
		t.Fatalf("the second message got %q, want the travel menu alone", got)
	}

	// A contact Waymark already knew (imported, added by an author) is not greeted.
	c.person("+254700000701", "am")
	if got := texts(c.say("+254700000701", "hello")); len(got) != 1 || strings.Contains(got[0], greetingAm) {
		t.Fatalf("a known contact got %q, want the menu alone", got)
	}

	// An unknown sender writing a keyword is answered in the keyword's language, and greeted in it.
	help := func(lang string) string {
		t.Helper()
		words := locales.Keywords(lang, locales.KeywordsHelp)
		if len(words) == 0 {
			t.Fatalf("%s ships no HELP keyword", lang)
		}
		return words[0]
	}
	helpReply := func(lang string) string {
		return chatbot.Localized(lang, locales.HelpReply, map[string]any{"Sender": c.ws.SenderName})
	}
	for _, tc := range []struct{ name, from, lang, greeting string }{
		{"Amharic HELP", "+254700000702", "am", greetingAm},
		// No Tigrinya first message: the workspace's fallback for Tigrinya is Amharic.
		{"Tigrinya HELP", "+254700000703", "ti", greetingAm},
		// No Arabic first message and no fallback: the workspace's default language.
		{"Arabic HELP", "+254700000704", "ar", greetingEn},
	} {
		got := texts(c.say(tc.from, help(tc.lang)))
		if want := []string{tc.greeting, helpReply(tc.lang)}; !slices.Equal(got, want) {
			t.Errorf("%s from an unknown sender: %q, want %q", tc.name, got, want)
		}
	}
}

// TestFirstMessageNotBeforeStop checks that an unknown sender whose first word is STOP hears only
// the confirmation, and nothing more later; and that a workspace with no first message for a
// person's language chain sends nothing extra.
func TestFirstMessageNotBeforeStop(t *testing.T) {
	t.Parallel()
	c := greeted(t, nil)
	const from = "+254700000710"
	if got := texts(c.say(from, "STOP")); !slices.Equal(got, []string{localized("en", locales.StopConfirmation)}) {
		t.Fatalf("STOP from an unknown sender got %q, want the confirmation alone", got)
	}
	if got := texts(c.say(from, "hello")); len(got) != 1 || got[0] == greetingEn {
		t.Fatalf("after the STOP, a message got %q, want the menu alone", got)
	}

	// A workspace that wrote its first message only in Amharic: an English-speaking new sender
	// (the default language) gets the menu alone, an Amharic one the Amharic first message.
	am := greeted(t, func(s *workspaces.Settings) { s.FirstMessage = map[string]string{"am": greetingAm} })
	if got := texts(am.say("+254700000711", "hello")); len(got) != 1 || !strings.Contains(got[0], "1. Before you travel") {
		t.Fatalf("no first message in the sender's chain: %q, want the menu alone", got)
	}
	if got := texts(am.say("+254700000712", locales.Keywords("am", locales.KeywordsHelp)[0])); len(got) != 2 || got[0] != greetingAm {
		t.Fatalf("an Amharic HELP from an unknown sender got %q, want the Amharic first message first", got)
	}
}

// TestFirstMessageTakesAReply checks that the first message spends one reply of the sender's
// hourly budget like any answer: with two an hour, the greeting and the menu use both, and the
// next message's answer is stored failed and not sent.
func TestFirstMessageTakesAReply(t *testing.T) {
	t.Parallel()
	c := greeted(t, func(s *workspaces.Settings) { s.RepliesPerHour = 2 })
	const from = "+254700000720"
	if got := c.say(from, "hello"); len(got) != 2 {
		t.Fatalf("first message got %q, want the first message and the menu", texts(got))
	}
	id := c.store(channels.Inbound{From: from, Text: "1"})
	if err := c.handle(id); err != nil {
		t.Fatal(err)
	}
	if len(c.rep.sent) != 2 {
		t.Fatalf("sent %q: the answer over the budget went out", c.rep.texts())
	}
	if r := c.replies(id); len(r) != 1 || r[0].Status != messages.ReplyFailed || !strings.Contains(r[0].Error, "replies_per_hour") {
		t.Fatalf("the answer over the budget is stored as %+v, want failed", r)
	}

	// With one reply an hour, the first message takes it and the menu waits, failed.
	one := greeted(t, func(s *workspaces.Settings) { s.RepliesPerHour = 1 })
	id = one.store(channels.Inbound{From: from, Text: "hello"})
	if err := one.handle(id); err != nil {
		t.Fatal(err)
	}
	r := one.replies(id)
	if got := one.rep.texts(); !slices.Equal(got, []string{greetingEn}) || len(r) != 2 ||
		r[0].Status != messages.ReplySent || r[1].Status != messages.ReplyFailed {
		t.Fatalf("with one reply an hour: sent %q, stored %+v; want the first message sent, the menu failed", got, r)
	}
}

// TestFirstMessageOnTelegram checks the Telegram ways in: a /start that makes the contact hears
// the first message before the language picker (no language in the link) or the confirmation (in
// the link's language, or its fallback); a /start from a known chat, and plain text after it, do
// not; a language button pressed in a chat Waymark never saw is greeted in the language pressed.
func TestFirstMessageOnTelegram(t *testing.T) {
	t.Parallel()
	c := greeted(t, nil)
	tg := channels.KindTelegram
	n := 0
	send := func(in channels.Inbound) []sent {
		t.Helper()
		n++
		before := len(c.rep.sent)
		in.Kind, in.ProviderID = tg, "u"+strconv.Itoa(n)
		if err := c.handle(c.store(in)); err != nil {
			t.Fatal(err)
		}
		return c.rep.sent[before:]
	}

	got := send(channels.Inbound{From: "5550700", Text: "/start"})
	if len(got) != 2 || got[0].text != greetingEn || len(got[0].options) != 0 ||
		got[1].text != localized("en", locales.LanguagePrompt) || len(got[1].options) == 0 {
		t.Fatalf("/start from a new chat: %+v, want the first message, then the picker with its buttons", got)
	}
	if got := send(channels.Inbound{From: "5550700", Text: "/start"}); len(got) != 1 || got[0].text == greetingEn {
		t.Fatalf("a second /start: %+v, want the picker alone", got)
	}
	if got := send(channels.Inbound{From: "5550700", Text: "hello"}); len(got) != 1 || got[0].text == greetingEn {
		t.Fatalf("text after /start: %+v, want the menu alone", got)
	}

	for _, tc := range []struct{ from, payload, lang, greeting string }{
		{"5550701", "lang-am_c7", "am", greetingAm},
		{"5550702", "lang-ti", "ti", greetingAm}, // through the workspace's fallback
	} {
		got := send(channels.Inbound{From: tc.from, Text: "/start " + tc.payload, StartPayload: tc.payload})
		if want := []string{tc.greeting, localized(tc.lang, locales.StartConfirmation)}; !slices.Equal(texts(got), want) {
			t.Errorf("/start %s from a new chat: %q, want %q", tc.payload, texts(got), want)
		}
	}

	got = send(channels.Inbound{From: "5550703", Callback: "lang:am", CallbackQueryID: "q1"})
	if want := []string{greetingAm, localized("am", locales.LanguageChanged)}; !slices.Equal(texts(got), want) {
		t.Fatalf("a language press in a chat never seen: %q, want %q", texts(got), want)
	}
}
