package messages_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/messages"
)

func (e *env) contact(t *testing.T, workspaceID int64) int64 {
	t.Helper()
	var id int64
	if err := e.pool.QueryRow(e.ctx, `INSERT INTO contacts (workspace_id) VALUES ($1) RETURNING id`, workspaceID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *env) inbound(t *testing.T, contactID int64, kind channels.Kind, providerID, from, text string) int64 {
	t.Helper()
	id, _, err := e.inbox.Store(e.ctx, e.pool, e.ws.ID, kind, providerID, from, text)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.inbox.MarkHandled(e.ctx, e.pool, e.ws.ID, id, &contactID); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestRepliesMoveOnceAndAreEncrypted stores answers as the handler does and moves them: pending
// to sent or failed once, never back, never in another workspace.
func TestRepliesMoveOnceAndAreEncrypted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	hana := e.contact(t, e.ws.ID)
	msg := e.inbound(t, hana, channels.KindTelegram, "u1", "5000000001", "ቪዛ")
	buttons := [][]messages.Button{{{Text: "ከጉዞ በፊት", Data: "travel"}}, {{Text: "ሰው ያነጋግሩ", Data: "talk"}}}
	var ids []int64
	for i, r := range []messages.Reply{
		{Text: "ስለ ቪዛ መረጃ", Buttons: buttons},
		{Text: "second answer"},
		{Text: "third answer", Status: messages.ReplyFailed, Error: "not sent: the sender reached the workspace's replies_per_hour"},
	} {
		r.MessageID, r.ContactID, r.Seq, r.Kind = msg, hana, i, channels.KindTelegram
		id, err := e.inbox.AddReply(e.ctx, e.pool, e.ws.ID, r)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := e.inbox.AddReply(e.ctx, e.pool, e.ws.ID, messages.Reply{MessageID: msg, ContactID: hana, Seq: 0,
		Kind: channels.KindTelegram, Text: "again"}); err == nil {
		t.Fatal("a second answer with the same number was stored")
	}
	if _, err := e.inbox.AddReply(e.ctx, e.pool, e.ws.ID, messages.Reply{MessageID: msg, ContactID: hana, Seq: 9,
		Kind: channels.KindTelegram, Text: "x", Status: messages.ReplySent}); err == nil {
		t.Fatal("an answer was stored as sent before it was sent")
	}

	if ok, err := e.inbox.MarkReplySent(e.ctx, e.pool, e.ws.ID, ids[0], "41"); err != nil || !ok {
		t.Fatalf("MarkReplySent: %v, %v", ok, err)
	}
	other := e.otherWorkspace(t)
	for _, mark := range []func() (bool, error){
		func() (bool, error) { return e.inbox.MarkReplySent(e.ctx, e.pool, e.ws.ID, ids[0], "42") },      // already sent
		func() (bool, error) { return e.inbox.MarkReplyFailed(e.ctx, e.pool, e.ws.ID, ids[0], "late") },  // sent stays sent
		func() (bool, error) { return e.inbox.MarkReplySent(e.ctx, e.pool, e.ws.ID, ids[2], "43") },      // failed stays failed
		func() (bool, error) { return e.inbox.MarkReplySent(e.ctx, e.pool, other.ID, ids[1], "44") },     // not its workspace
		func() (bool, error) { return e.inbox.MarkReplyFailed(e.ctx, e.pool, other.ID, ids[1], "nope") }, // not its workspace
	} {
		if ok, err := mark(); err != nil || ok {
			t.Fatalf("a mark changed an answer it must not: %v, %v", ok, err)
		}
	}
	if ok, err := e.inbox.MarkReplyFailed(e.ctx, e.pool, e.ws.ID, ids[1], "permanent 400: chat not found"); err != nil || !ok {
		t.Fatalf("MarkReplyFailed: %v, %v", ok, err)
	}

	got, err := e.inbox.Replies(e.ctx, e.ws.ID, msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Status != messages.ReplySent || got[0].ProviderID != "41" || got[0].SentAt == nil ||
		got[0].Text != "ስለ ቪዛ መረጃ" || len(got[0].Buttons) != 2 || got[0].Buttons[1][0] != buttons[1][0] ||
		got[1].Status != messages.ReplyFailed || got[1].Error != "permanent 400: chat not found" || got[1].SentAt != nil ||
		got[2].Status != messages.ReplyFailed || got[2].Buttons != nil {
		t.Fatalf("answers: %+v", got)
	}
	if list, err := e.inbox.Replies(e.ctx, other.ID, msg); err != nil || len(list) != 0 {
		t.Fatalf("another workspace reads the answers: %+v, %v", list, err)
	}
	e.assertNowhere(t, "replies", "ስለ ቪዛ መረጃ", "ከጉዞ በፊት", "travel", "second answer", "5000000001")
}

// TestConversationInTimeOrder pages through a conversation of inbound messages and answers: each
// answer after the message it answers, the same order whatever the page size.
func TestConversationInTimeOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	hana, someone := e.contact(t, e.ws.ID), e.contact(t, e.ws.ID)
	var want []string
	for i, text := range []string{"hello", "1", "STOP"} {
		m := e.inbound(t, hana, channels.KindSMS, "SM"+text, "+254712345678", text)
		want = append(want, "in "+text)
		// Two answers to the first message, one to the others.
		for seq := range 1 + max(0, 1-i) {
			answer := text + " answered " + string(rune('a'+seq))
			if _, err := e.inbox.AddReply(e.ctx, e.pool, e.ws.ID, messages.Reply{MessageID: m, ContactID: hana, Seq: seq,
				Kind: channels.KindSMS, Text: answer}); err != nil {
				t.Fatal(err)
			}
			want = append(want, "out "+answer)
		}
	}
	// Someone else's conversation does not show.
	m := e.inbound(t, someone, channels.KindSMS, "SMx", "+254712345679", "not Hana's")
	if _, err := e.inbox.AddReply(e.ctx, e.pool, e.ws.ID, messages.Reply{MessageID: m, ContactID: someone, Kind: channels.KindSMS,
		Text: "not to Hana"}); err != nil {
		t.Fatal(err)
	}
	// Rows of one transaction share their time: the order still holds.
	if err := pgx.BeginFunc(e.ctx, e.pool, func(tx pgx.Tx) error {
		id, _, err := e.inbox.Store(e.ctx, tx, e.ws.ID, channels.KindSMS, "SMsame", "+254712345678", "same instant")
		if err != nil {
			return err
		}
		if err := e.inbox.MarkHandled(e.ctx, tx, e.ws.ID, id, &hana); err != nil {
			return err
		}
		_, err = e.inbox.AddReply(e.ctx, tx, e.ws.ID, messages.Reply{MessageID: id, ContactID: hana, Kind: channels.KindSMS, Text: "same instant answered"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want = append(want, "in same instant", "out same instant answered")

	for _, size := range []int{1, 2, 3, 100} {
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > len(want)+1 {
				t.Fatalf("page size %d: the pages never end", size)
			}
			list, next, err := e.inbox.Conversation(e.ctx, e.ws.ID, hana, cursor, size)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) > size {
				t.Fatalf("page size %d: a page of %d", size, len(list))
			}
			for _, c := range list {
				got = append(got, c.Direction+" "+c.Text)
				if c.Direction == messages.DirectionIn && (c.From != "+254712345678" || c.ReceivedAt == nil) ||
					c.Direction == messages.DirectionOut && (c.ReplyTo == 0 || c.Status != messages.ReplyPending || c.From != "") {
					t.Fatalf("entry %+v", c)
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if len(got) != len(want) {
			t.Fatalf("page size %d: %q\nwant %q", size, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("page size %d: %q\nwant %q", size, got, want)
			}
		}
	}
	for _, bad := range []string{"42", "in.x.1", "sideways.1.1", "in.1.0"} {
		if _, _, err := e.inbox.Conversation(e.ctx, e.ws.ID, hana, bad, 10); errcode.CodeOf(err) != errcode.Invalid {
			t.Errorf("cursor %q: %v, want invalid", bad, err)
		}
	}
	if list, _, err := e.inbox.Conversation(e.ctx, e.otherWorkspace(t).ID, hana, "", 10); err != nil || len(list) != 0 {
		t.Fatalf("another workspace reads the conversation: %+v, %v", list, err)
	}
}
