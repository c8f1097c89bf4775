package migrations_test

import (
	"context"
	"testing"

	"github.com/waymark-org/waymark/internal/dbtest"
)

// Deliveries carry no per-row foreign keys (fan-out inserts them by the thousand); triggers on
// the parent tables do what the keys' ON DELETE did. A test per parent, since a missing trigger
// would leave deliveries behind silently.
func TestDeliveriesFollowTheirParentsOnDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	one := func(sql string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := pool.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}
	ws := one(`INSERT INTO workspaces (name, default_country) VALUES ('Parents', 'KE') RETURNING id`)
	contact := func() int64 {
		return one(`INSERT INTO contacts (workspace_id, language) VALUES ($1, 'en') RETURNING id`, ws)
	}
	campaign := func() int64 {
		return one(`INSERT INTO campaigns (workspace_id, name) VALUES ($1, 'c') RETURNING id`, ws)
	}
	run := func(campaignID int64) int64 {
		return one(`INSERT INTO campaign_runs (workspace_id, campaign_id, recipients) VALUES ($1, $2, 1) RETURNING id`, ws, campaignID)
	}
	delivery := func(campaignID, runID, contactID int64) int64 {
		return one(`INSERT INTO deliveries (workspace_id, campaign_id, campaign_run_id, contact_id, channel_kind, language)
			VALUES ($1, $2, $3, $4, 'sandbox', 'en') RETURNING id`, ws, campaignID, runID, contactID)
	}
	exists := func(id int64) bool {
		return one(`SELECT count(*) FROM deliveries WHERE id = $1`, id) == 1
	}

	c1, c2 := campaign(), campaign()
	r1, r2 := run(c1), run(c2)
	p1, p2 := contact(), contact()
	d1, d2, d3 := delivery(c1, r1, p1), delivery(c2, r2, p1), delivery(c2, r2, p2)

	exec(`DELETE FROM contacts WHERE id = $1`, p1)
	if one(`SELECT count(*) FROM deliveries WHERE contact_id IS NULL AND id IN ($1, $2)`, d1, d2) != 2 || !exists(d1) || !exists(d2) {
		t.Fatal("deleting a contact did not keep its deliveries with contact_id cleared")
	}
	if one(`SELECT contact_id FROM deliveries WHERE id = $1`, d3) != p2 {
		t.Fatal("deleting one contact touched another's delivery")
	}

	exec(`DELETE FROM campaign_runs WHERE id = $1`, r1)
	if exists(d1) || !exists(d2) {
		t.Fatal("deleting a run did not delete exactly its deliveries")
	}

	c3 := campaign()
	d4 := delivery(c3, run(c3), p2)
	exec(`DELETE FROM campaigns WHERE id = $1`, c3)
	if exists(d4) || !exists(d3) {
		t.Fatal("deleting a campaign did not delete exactly its deliveries")
	}

	exec(`DELETE FROM workspaces WHERE id = $1`, ws)
	if exists(d2) || exists(d3) {
		t.Fatal("deleting a workspace left its deliveries")
	}
}
