package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/chatbot"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/locales"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/workspaces"
)

func TestContactsAPI(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	author := f.tokens[workspaces.RoleAuthor]
	status, body := f.do(t, "POST", "/api/v1/contacts", author,
		`{"name":"فرشته نوری","language":"prs","country":"AF","admin_area":"AF-KAB","timezone":"Asia/Kabul",
		  "identities":[{"kind":"sms","value":"070 123 4567"}],"consent":[{"channel":"sms","status":"opt_in","evidence":{"form":"A7"}}]}`)
	if status != http.StatusCreated || body["language"] != "fa-AF" || body["consent"].(map[string]any)["sms"] != "opt_in" {
		t.Fatalf("create: %d %v", status, body)
	}
	if _, ok := body["identities"]; ok {
		t.Fatal("create answered with the addresses")
	}
	id := itoa(int64(body["id"].(float64)))

	status, body = f.do(t, "GET", "/api/v1/contacts/"+id, author, "")
	ids, _ := body["identities"].([]any)
	if status != 200 || len(ids) != 1 || ids[0].(map[string]any)["value"] != "+93701234567" || body["name"] != "فرشته نوری" {
		t.Fatalf("get: %d %v", status, body)
	}
	_, audit := f.do(t, "GET", "/api/v1/audit?record_type=contact&record_id="+id, f.tokens[workspaces.RoleAdmin], "")
	if e := audit["entries"].([]any); len(e) == 0 || e[0].(map[string]any)["action"] != "read_identities" {
		t.Fatalf("the read of the addresses is not audited: %v", audit)
	}

	// Another workspace sees nothing of it.
	if status, _ := f.do(t, "GET", "/api/v1/contacts/"+id, f.adminB, ""); status != http.StatusNotFound {
		t.Fatalf("B reads A's contact: %d", status)
	}
	if status, _ := f.do(t, "DELETE", "/api/v1/contacts/"+id, f.adminB, ""); status != http.StatusNotFound {
		t.Fatalf("B erases A's contact: %d", status)
	}
	if _, body := f.do(t, "GET", "/api/v1/contacts", f.adminB, ""); len(body["contacts"].([]any)) != 0 {
		t.Fatalf("B lists A's contacts: %v", body)
	}

	// Operators record what the person said; the ledger names them as the source.
	status, body = f.do(t, "POST", "/api/v1/contacts/"+id+"/consent", f.tokens[workspaces.RoleOperator], `{"channel":"sms","status":"opt_out"}`)
	if status != http.StatusCreated || body["source"] != "operator" {
		t.Fatalf("operator opt-out: %d %v", status, body)
	}
	status, body = f.do(t, "POST", "/api/v1/contacts/"+id+"/consent", author, `{"channel":"sms","status":"opt_in"}`)
	if status != http.StatusConflict || errorCode(body) != "precondition" {
		t.Fatalf("opt-in over an opt-out: %d %v", status, body)
	}

	status, body = f.do(t, "PATCH", "/api/v1/contacts/"+id, author, `{"tags":["Returnee","kabul"],"age_band":"30-38"}`)
	if status != 200 || body["age_band"] != "30--38" || len(body["tags"].([]any)) != 2 {
		t.Fatalf("patch: %d %v", status, body)
	}
	status, body = f.do(t, "PATCH", "/api/v1/contacts/"+id, author, `{"country":"XX"}`)
	if status != 400 || body["error"].(map[string]any)["field"] != "country" {
		t.Fatalf("bad country: %d %v", status, body)
	}

	status, body = f.do(t, "DELETE", "/api/v1/contacts/"+id, author, "")
	if status != 200 {
		t.Fatalf("erase: %d %v", status, body)
	}
	if status, _ := f.do(t, "GET", "/api/v1/contacts/"+id, author, ""); status != http.StatusNotFound {
		t.Fatalf("erased contact still readable: %d", status)
	}
}

func TestContactsImportAPI(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	csv := "phone,name,language\n0712345678,Amina,sw\n12,Bad,sw\n0712345679,Baraka,xx-nope\n"
	req, _ := http.NewRequest("POST", f.http.URL+"/api/v1/contacts/import", strings.NewReader(csv))
	req.Header.Set("Authorization", "Bearer "+f.tokens[workspaces.RoleAuthor])
	req.Header.Set("Content-Type", "text/csv")
	status, body := f.send(t, req)
	if status != 200 || body["created"].(float64) != 1 || body["rejected"].(float64) != 2 {
		t.Fatalf("import: %d %v", status, body)
	}
	rejects := body["rejects"].([]any)
	first := rejects[0].(map[string]any)
	if first["line"].(float64) != 3 || first["column"] != "phone" || !strings.Contains(body["rejects_csv"].(string), "reason") {
		t.Fatalf("rejects: %v", body)
	}
	req, _ = http.NewRequest("POST", f.http.URL+"/api/v1/contacts/import", strings.NewReader(""))
	req.Header.Set("Authorization", "Bearer "+f.tokens[workspaces.RoleAuthor])
	if status, body := f.send(t, req); status != 400 || errorCode(body) != "invalid" {
		t.Fatalf("empty import: %d %v", status, body)
	}
}

// answerer is a chatbot.Replier that accepts everything, for handling messages in API tests.
type answerer struct{ n int }

func (a *answerer) Reply(context.Context, int64, channels.Kind, string, string) (channels.Result, error) {
	a.n++
	return channels.Result{ProviderID: "SB" + itoa(int64(a.n)), Status: channels.StatusSent}, nil
}

func (a *answerer) Picker(ctx context.Context, ws int64, k channels.Kind, to, text string, _ [][]chatbot.Option) (channels.Result, error) {
	return a.Reply(ctx, ws, k, to, text)
}

func (a *answerer) AnswerButton(context.Context, int64, channels.Kind, string) error { return nil }

func TestContactMessagesAreAudited(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	author := f.tokens[workspaces.RoleAuthor]
	status, body := f.do(t, "POST", "/api/v1/contacts", author, `{"identities":[{"kind":"sandbox","value":"+254700000900"}]}`)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, body)
	}
	id := itoa(int64(body["id"].(float64)))
	// The person writes; the chatbot handles the message, which links it to the contact, and
	// answers (no menus yet: who is writing and how to stop).
	status, in := f.do(t, "POST", "/api/v1/sandbox/inbound", author, `{"from":"+254700000900","text":"ሰላም"}`)
	if status != http.StatusAccepted {
		t.Fatalf("inbound: %d", status)
	}
	inID := int64(in["id"].(float64))
	h := &chatbot.Handler{Pool: f.pool, Inbox: messages.NewInbox(f.pool, f.keys), Contacts: contacts.NewStore(f.pool, f.keys),
		Workspaces: f.store, Store: chatbot.NewStore(f.pool), Keys: f.keys, Reply: &answerer{},
		ProviderConfirmsStop: func(context.Context, int64, channels.Kind) bool { return false }}
	if err := h.Handle(context.Background(), chatbot.HandleArgs{WorkspaceID: f.wsA.ID, MessageID: inID}); err != nil {
		t.Fatal(err)
	}
	status, body = f.do(t, "GET", "/api/v1/contacts/"+id+"/messages", f.tokens[workspaces.RoleOperator], "")
	msgs, _ := body["messages"].([]any)
	if status != 200 || len(msgs) != 2 {
		t.Fatalf("messages: %d %v", status, body)
	}
	got, answer := msgs[0].(map[string]any), msgs[1].(map[string]any)
	if got["direction"] != "in" || got["text"] != "ሰላም" || got["from"] != "+254700000900" ||
		answer["direction"] != "out" || answer["reply_to"] != float64(inID) || answer["status"] != "sent" ||
		answer["provider_id"] != "SB1" || answer["text"] != chatbot.Localized(f.wsA.DefaultLanguage, locales.HelpReply, map[string]any{"Sender": f.wsA.Name}) {
		t.Fatalf("conversation: %v", msgs)
	}
	if _, more := body["next_cursor"]; more {
		t.Fatalf("a conversation of two messages has a next page: %v", body)
	}
	if status, body := f.do(t, "GET", "/api/v1/contacts/"+id+"/messages?cursor=12", f.tokens[workspaces.RoleOperator], ""); status != http.StatusBadRequest {
		t.Fatalf("a cursor that is none: %d %v", status, body)
	}
	_, audit := f.do(t, "GET", "/api/v1/audit?record_type=contact&record_id="+id, f.tokens[workspaces.RoleAdmin], "")
	if e := audit["entries"].([]any); len(e) == 0 || e[0].(map[string]any)["action"] != "read_messages" {
		t.Fatalf("the read of the messages is not audited: %v", audit)
	}
	if status, _ := f.do(t, "GET", "/api/v1/contacts/"+id+"/messages", f.adminB, ""); status != http.StatusNotFound {
		t.Fatalf("another workspace reads the messages: %d", status)
	}
}
