package worker_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"

	"github.com/waymark-org/waymark/internal/dbtest"
	"github.com/waymark-org/waymark/worker"
	"github.com/waymark-org/waymark/workspaces"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestAuditPruneKeepsWhatRetentionKeeps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	store := workspaces.NewStore(pool)
	short, err := store.Create(ctx, "short memory", "")
	if err != nil {
		t.Fatal(err)
	}
	forever, err := store.Create(ctx, "keeps everything", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.UpdateSettings(ctx, short.ID, workspaces.Settings{AuditRetentionDays: 30, DefaultLanguage: "en", MessageRetentionDays: 90}, workspaces.SystemActor); err != nil {
		t.Fatal(err)
	}
	for _, ws := range []workspaces.Workspace{short, forever} {
		for _, age := range []string{"1 day", "40 days"} {
			if _, err := pool.Exec(ctx, `INSERT INTO audit_log (workspace_id, at, actor_kind, actor_name, action, record_type)
				VALUES ($1, now() - $2::interval, 'system', 'test', 'read', 'contact')`, ws.ID, age); err != nil {
				t.Fatal(err)
			}
		}
	}
	w := &worker.AuditPruneWorker{Workspaces: store, Logger: slog.New(slog.DiscardHandler)}
	tw := rivertest.NewWorker(t, riverpgxv5.New(pool), &river.Config{}, w)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	res, err := tw.Work(ctx, t, tx, worker.AuditPruneArgs{}, nil)
	if err != nil || res.EventKind != river.EventKindJobCompleted {
		t.Fatalf("work: %v %+v", err, res)
	}
	count := func(ws int64) int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE workspace_id = $1 AND actor_name = 'test'`, ws).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := count(short.ID); got != 1 {
		t.Errorf("30-day workspace keeps %d test entries, want 1 (the 40-day-old one pruned)", got)
	}
	if got := count(forever.ID); got != 2 {
		t.Errorf("keep-for-ever workspace keeps %d test entries, want 2", got)
	}
}
