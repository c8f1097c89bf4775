package contacts_test

import (
	"fmt"
	"testing"

	"github.com/waymark-org/waymark/contacts"
)

// A large import leaves the planner statistics on the contact tables (autovacuum may be off or
// minutes away, and a campaign planned on empty-table statistics fans out in quadratic time);
// a small one into a table that already has them does not pay for ANALYZE again.
func TestLargeImportGathersStatistics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	analyzed := func() int64 {
		t.Helper()
		var n int64
		if err := e.pool.QueryRow(e.ctx, `SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'contacts'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	importRows := func(from, n int) {
		t.Helper()
		yes := true
		rows := make([]contacts.Row, n)
		for i := range rows {
			rows[i] = contacts.Row{Line: i + 1, Language: "en", Sandbox: fmt.Sprintf("+25471%07d", from+i), Consent: &yes}
		}
		if rep, err := e.store.ImportRows(e.ctx, e.ws, rows, contacts.ImportOptions{ConsentSource: "test", Actor: actor}); err != nil || rep.Created != n {
			t.Fatalf("import: %+v, %v", rep, err)
		}
	}
	before := analyzed()
	importRows(0, 10_000)
	if analyzed() != before+1 {
		t.Fatal("a 10,000-row import into a table without statistics did not analyze it")
	}
	var tuples float64
	if err := e.pool.QueryRow(e.ctx, `SELECT reltuples FROM pg_class WHERE oid = 'contacts'::regclass`).Scan(&tuples); err != nil || tuples < 10_000 {
		t.Fatalf("contacts statistics after the import: %v rows (%v)", tuples, err)
	}
	importRows(10_000, 100)
	if analyzed() != before+1 {
		t.Fatal("a 100-row import analyzed again")
	}
}
