package main

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/connections"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/workspaces"
)

// byteaColumns returns every bytea column of the schema as "table.column", sorted, split into
// those named *_enc (ciphertexts, by the schema's convention) and the rest.
func byteaColumns(t *testing.T, ctx context.Context, pool *pgxpool.Pool) (enc, other []string) {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT table_name || '.' || column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND data_type = 'bytea' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.HasSuffix(n, "_enc") {
			enc = append(enc, n)
		} else {
			other = append(other, n)
		}
	}
	return enc, other
}

// keyIDs counts the non-null values of column ("table.column") per the key id in their header;
// values without a readable header count under "".
func keyIDs(t *testing.T, ctx context.Context, pool *pgxpool.Pool, column string) map[string]int {
	t.Helper()
	table, col, _ := strings.Cut(column, ".")
	rows, err := pool.Query(ctx, `SELECT `+pgx.Identifier{col}.Sanitize()+` FROM `+pgx.Identifier{table}.Sanitize()+
		` WHERE `+pgx.Identifier{col}.Sanitize()+` IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	values, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, v := range values {
		id, _ := pii.KeyIDOf(v)
		out[id]++
	}
	return out
}

// TestKeysRotateCoversEveryEncryptedColumn stores a value in every encrypted column of the schema
// under the first key, adds a key and runs `waymark keys rotate`: afterwards every value of every
// *_enc column is under the new key and reads back as stored. It fails when a migration adds an
// encrypted column that rotation leaves out, or that this test does not fill; and when a bytea
// column not named *_enc holds a ciphertext, so the naming it relies on is checked too.
func TestKeysRotateCoversEveryEncryptedColumn(t *testing.T) {
	t.Parallel()
	in := installWorkspace(t, "Keys Desk")
	env, dir, pool, oldRing, ws := in.env, in.dir, in.pool, in.keys, in.ws
	ctx := context.Background()

	// The schema's encrypted columns are exactly those rotation walks.
	encCols, otherCols := byteaColumns(t, ctx, pool)
	var rotated []string
	for _, c := range encryptedColumns(pool) {
		rotated = append(rotated, c.Table+"."+c.Name)
	}
	slices.Sort(rotated)
	if !slices.Equal(encCols, rotated) {
		t.Fatalf("the schema's encrypted columns are\n%v\nbut `keys rotate` walks\n%v", encCols, rotated)
	}

	// One value in every encrypted column, under the first key.
	by := workspaces.CLIActor("test")
	person, err := contacts.NewStore(pool, oldRing).Create(ctx, ws, contacts.NewContact{
		Fields:     contacts.Fields{Name: new("Amina Njeri")},
		Identities: []contacts.IdentityInput{{Kind: "sms", Value: "0712345678"}}}, contacts.SourceAPI, by)
	if err != nil {
		t.Fatal(err)
	}
	inbox := messages.NewInbox(pool, oldRing)
	msg, _, err := inbox.Store(ctx, pool, ws.ID, channels.KindSMS, "SM1", "+254712345678", "Is the border open?")
	if err != nil {
		t.Fatal(err)
	}
	buttons := [][]messages.Button{{{Text: "Border crossings", Data: "border"}}}
	if _, err := inbox.AddReply(ctx, pool, ws.ID, messages.Reply{MessageID: msg, ContactID: person.ID, Kind: channels.KindSMS,
		Text: "The border opens at 6.", Buttons: buttons}); err != nil {
		t.Fatal(err)
	}
	if _, err := messages.NewOutbox(pool, oldRing).Record(ctx, pool, ws.ID, nil, channels.Message{To: "tester", Text: "Roads are closed", Language: "en"}); err != nil {
		t.Fatal(err)
	}
	const authToken = "f00dbabe0123456789abcdef01234567"
	raw := json.RawMessage(`{"auth_token":"` + authToken + `"}`)
	ch, err := connections.NewStore(pool, oldRing).Add(ctx, ws.ID, connections.Input{Provider: "twilio",
		Twilio: &connections.Twilio{AccountSID: "AC0123456789abcdef0123456789abcdef", From: "+15005550006"}, Secrets: &raw}, by)
	if err != nil {
		t.Fatal(err)
	}

	total := 0
	for _, c := range encCols {
		ids := keyIDs(t, ctx, pool, c)
		if ids["k1"] == 0 || len(ids) != 1 {
			t.Fatalf("%s holds %v before rotation: want values under k1 only; fill every encrypted column above", c, ids)
		}
		total += ids["k1"]
	}
	for _, c := range otherCols {
		if n := keyIDs(t, ctx, pool, c)["k1"]; n > 0 {
			t.Fatalf("%s, not named *_enc, holds %d ciphertexts: name it *_enc so that rotation and this test see it", c, n)
		}
	}

	if r := waymark(t, env, "", "keys", "generate", "--add"); r.code != 0 {
		t.Fatalf("keys generate --add: %+v", r)
	}
	r := waymark(t, env, "", "keys", "rotate", "--json", "--batch", "1")
	var rep rotation
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rep) != nil {
		t.Fatalf("keys rotate: %+v", r)
	}
	if rep.Key != "k2" || rep.Resealed != int64(total) || rep.Remaining != 0 || len(rep.Columns) != len(encCols) {
		t.Fatalf("keys rotate reported %+v, want %d values in %d columns", rep, total, len(encCols))
	}
	for _, c := range encCols {
		if ids := keyIDs(t, ctx, pool, c); ids["k2"] == 0 || len(ids) != 1 {
			t.Errorf("%s holds %v after rotation, want values under k2 only", c, ids)
		}
	}
	if strings.Contains(r.stdout+r.stderr, authToken) || strings.Contains(r.stdout+r.stderr, "Amina") {
		t.Fatalf("keys rotate printed a secret or personal data: %+v", r)
	}

	// Everything reads back as stored under the new ring, and the old key alone no longer reads it.
	ring, err := pii.LoadKeyFile(pii.DefaultKeyFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	if c, err := contacts.NewStore(pool, ring).Get(ctx, ws.ID, person.ID, true, by); err != nil || c.Name != "Amina Njeri" ||
		len(c.Identities) != 1 || c.Identities[0].Value != "+254712345678" {
		t.Fatalf("contact after rotation: %+v %v", c, err)
	}
	if m, err := messages.NewInbox(pool, ring).Get(ctx, ws.ID, msg); err != nil || m.From != "+254712345678" || m.Text != "Is the border open?" {
		t.Fatalf("inbound message after rotation: %+v %v", m, err)
	}
	if rs, err := messages.NewInbox(pool, ring).Replies(ctx, ws.ID, msg); err != nil || len(rs) != 1 ||
		rs[0].Text != "The border opens at 6." || !reflect.DeepEqual(rs[0].Buttons, buttons) {
		t.Fatalf("answer after rotation: %+v %v", rs, err)
	}
	if out, err := messages.NewOutbox(pool, ring).List(ctx, ws.ID, "tester", 0); err != nil || len(out) != 1 || out[0].Text != "Roads are closed" {
		t.Fatalf("sandbox outbox after rotation: %+v %v", out, err)
	}
	if got, err := connections.NewStore(pool, ring).Get(ctx, ws.ID, ch.ID); err != nil {
		t.Fatal(err)
	} else if sec, err := connections.NewStore(pool, ring).TwilioSecrets(got); err != nil || sec.AuthToken != authToken {
		t.Fatalf("channel secrets after rotation: %v", err)
	}
	if _, err := messages.NewInbox(pool, oldRing).Get(ctx, ws.ID, msg); err == nil {
		t.Fatal("the old key alone still reads a rotated message")
	}

	// A second run, in plain text, finds nothing left and says so per column.
	r = waymark(t, env, "", "keys", "rotate")
	if r.code != 0 || !strings.Contains(r.stdout, "inbound_messages.text_enc: 0 re-encrypted, 0 left under older keys") ||
		!strings.Contains(r.stdout, "re-encrypted 0 values in ") {
		t.Fatalf("second keys rotate: %+v", r)
	}
}
