package contacts_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/pii"
)

// rotate rotates this package's columns to ring's newest key, batch values at a time, and returns
// how many values it re-encrypted per "table.column". Nothing may be left under an older key.
func rotate(t *testing.T, e *env, ring *pii.Keyring, batch int) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, col := range contacts.EncryptedColumns(e.pool) {
		rep, err := pii.RotateColumn(e.ctx, ring, col, batch)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Remaining != 0 {
			t.Fatalf("%+v: values left under an older key", rep)
		}
		out[rep.Table+"."+rep.Column] = rep.Resealed
	}
	return out
}

// TestKeyRotationKeepsConcurrentRenames renames contacts between a rotation's read of a batch and
// its write, as staff at work during a rotation would: both new names are kept, and the one that
// a process still on the old key sealed is counted as remaining and taken by the next run.
func TestKeyRotationKeepsConcurrentRenames(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ids []int64
	for i := range 4 {
		ids = append(ids, e.create(t, fmt.Sprintf("Person %d", i), sms(fmt.Sprintf("+25471234568%d", i))).ID)
	}
	entry2, err := pii.GenerateKey("k2")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := pii.ParseKeyring(e.entry + "," + entry2)
	if err != nil {
		t.Fatal(err)
	}
	current := contacts.NewStore(e.pool, ring)
	names := contacts.EncryptedColumns(e.pool)[0]
	if names.Table != "contacts" || names.Name != "name_enc" {
		t.Fatalf("first column is %s.%s, want contacts.name_enc", names.Table, names.Name)
	}
	stale, renamed := names.Stale, false
	names.Stale = func(ctx context.Context, header []byte, after int64, limit int) ([]pii.Sealed, error) {
		rows, err := stale(ctx, header, after, limit)
		if !renamed && len(rows) == len(ids) {
			renamed = true
			if _, err := e.store.Update(ctx, e.ws.ID, ids[0], contacts.Fields{Name: ptr("Renamed under k1")}, actor); err != nil {
				t.Error(err)
			}
			if _, err := current.Update(ctx, e.ws.ID, ids[1], contacts.Fields{Name: ptr("Renamed under k2")}, actor); err != nil {
				t.Error(err)
			}
		}
		return rows, err
	}
	rep, err := pii.RotateColumn(e.ctx, ring, names, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !renamed || rep.Resealed != 2 || rep.Remaining != 1 {
		t.Fatalf("report %+v (renamed %v): want 2 re-encrypted and the name sealed under k1 remaining", rep, renamed)
	}
	want := []string{"Renamed under k1", "Renamed under k2", "Person 2", "Person 3"}
	for i, id := range ids {
		if c, err := current.Get(e.ctx, e.ws.ID, id, false, actor); err != nil || c.Name != want[i] {
			t.Fatalf("contact %d after rotation: %q %v, want %q", id, c.Name, err, want[i])
		}
	}
	if again := rotate(t, e, ring, 10); again["contacts.name_enc"] != 1 || again["contact_identities.value_enc"] != 4 {
		t.Fatalf("second run: %v", again)
	}
	if c, err := current.Get(e.ctx, e.ws.ID, ids[0], false, actor); err != nil || c.Name != want[0] {
		t.Fatalf("after the second run: %q %v", c.Name, err)
	}
}
