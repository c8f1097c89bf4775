package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/connections"
	"github.com/waymark-org/waymark/internal/config"
	"github.com/waymark-org/waymark/internal/dbtest"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/workspaces"
)

// fakeBotAPI answers getUpdates from a list, from the offset asked for, and records the offsets.
type fakeBotAPI struct {
	mu      sync.Mutex
	updates []string
	offsets []int64
}

func (f *fakeBotAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/getUpdates") {
		http.Error(w, `{"ok":false,"error_code":404,"description":"Not Found"}`, 404)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req struct{ Offset int64 }
	_ = json.Unmarshal(body, &req)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.offsets = append(f.offsets, req.Offset)
	var out []string
	for i, u := range f.updates {
		if int64(100+i) >= req.Offset {
			out = append(out, u)
		}
	}
	fmt.Fprintf(w, `{"ok":true,"result":[%s]}`, strings.Join(out, ","))
}

func TestPollingStoresBeforeAdvancing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	entry, _ := pii.GenerateKey("k1")
	keys, _ := pii.ParseKeyring(entry)
	e := &env{cfg: &config.Config{PublicURL: "https://waymark.test"}, logger: slog.New(slog.DiscardHandler), pool: pool}
	a, err := newApp(e, keys)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := a.workspaces.Create(ctx, "Polling", "KE")
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeBotAPI{updates: []string{
		`{"update_id":100,"message":{"message_id":1,"date":1764300000,"chat":{"id":5550001,"type":"private"},"from":{"id":5550001,"is_bot":false,"first_name":"A"},"text":"ሰላም"}}`,
		`{"update_id":101,"edited_message":{"message_id":1,"date":1764300000,"chat":{"id":5550001,"type":"private"},"text":"edited"}}`,
		`{"update_id":102,"message":{"message_id":2,"date":1764300001,"chat":{"id":5550002,"type":"private"},"from":{"id":5550002,"is_bot":false,"first_name":"B"},"text":"help"}}`,
	}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	secrets := json.RawMessage(`{"bot_token":"123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"}`)
	ch, err := a.conns.Add(ctx, ws.ID, connections.Input{Provider: "telegram", Telegram: &connections.Telegram{Mode: "polling", APIBaseURL: srv.URL},
		Secrets: &secrets}, workspaces.CLIActor("test"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.channels.provider(ch)
	if err != nil {
		t.Fatal(err)
	}
	n, err := pollOnce(ctx, a, ch, p.tg, 0)
	if err != nil || n != 2 {
		t.Fatalf("first poll stored %d: %v", n, err)
	}
	if off, _ := a.conns.TelegramOffset(ctx, ch.ID); off != 103 {
		t.Fatalf("offset after the first poll is %d, want 103", off)
	}
	if n, err := pollOnce(ctx, a, ch, p.tg, 0); err != nil || n != 0 {
		t.Fatalf("second poll stored %d: %v", n, err)
	}
	// Had the offset not been committed, the same updates would come again: they are stored once.
	if _, err := pool.Exec(ctx, "UPDATE telegram_offsets SET next_offset = 0"); err != nil {
		t.Fatal(err)
	}
	if _, err := pollOnce(ctx, a, ch, p.tg, 0); err != nil {
		t.Fatal(err)
	}
	var rows int
	_ = pool.QueryRow(ctx, "SELECT count(*) FROM inbound_messages WHERE channel_kind = 'telegram'").Scan(&rows)
	if rows != 2 {
		t.Fatalf("%d inbound rows, want 2", rows)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.offsets) != 3 || fake.offsets[0] != 0 || fake.offsets[1] != 103 {
		t.Fatalf("getUpdates offsets %v", fake.offsets)
	}
}
