package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/dbtest"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/workspaces"
)

// installation is a migrated database with one workspace and a key, as installWorkspace made it.
type installation struct {
	env  []string // the environment for the binary
	dir  string   // WAYMARK_DATA_DIR, which holds the key file
	pool *pgxpool.Pool
	keys *pii.Keyring
	ws   workspaces.Workspace
}

// installWorkspace sets up a migrated database with a workspace of that name (default country
// KE) and a key.
func installWorkspace(t *testing.T, name string, extra ...string) installation {
	t.Helper()
	dir := t.TempDir()
	url := dbtest.EmptyDatabase(t)
	env := append([]string{"WAYMARK_DATABASE_URL=" + url, "WAYMARK_DATA_DIR=" + dir}, extra...)
	for _, args := range [][]string{{"migrate"}, {"workspaces", "create", "--default-country", "KE", name}, {"keys", "generate"}} {
		if r := waymark(t, env, "", args...); r.code != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	keys, err := pii.LoadKeyFile(pii.DefaultKeyFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := workspaces.NewStore(pool).GetByName(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return installation{env: env, dir: dir, pool: pool, keys: keys, ws: ws}
}

// install sets up a migrated database with a workspace, a key and n sandbox contacts with an
// opt-in, and returns the environment for the binary and a pool on the database.
func install(t *testing.T, n int, extra ...string) ([]string, *pgxpool.Pool) {
	t.Helper()
	in := installWorkspace(t, "Field Team", extra...)
	env, pool, keys, ws := in.env, in.pool, in.keys, in.ws
	ctx := context.Background()
	yes := true
	langs := []string{"en", "ar", "am"}
	rows := make([]contacts.Row, n)
	for i := range rows {
		rows[i] = contacts.Row{Line: i + 1, Language: langs[i%3], Sandbox: fmt.Sprintf("+2547%08d", i), Consent: &yes}
	}
	if _, err := contacts.NewStore(pool, keys).ImportRows(ctx, ws, rows, contacts.ImportOptions{ConsentSource: "test", Actor: workspaces.CLIActor("test")}); err != nil {
		t.Fatal(err)
	}
	return env, pool
}

func createCampaign(t *testing.T, env []string) int64 {
	t.Helper()
	r := waymark(t, env, "", "campaign", "create", "--name", "Roads", "--text", "en=Check the road before you go",
		"--text", "ar=تحقق من الطريق قبل أن تذهب", "--text", "am=ከመሄድዎ በፊት መንገዱን ያረጋግጡ", "--channel", "sandbox", "--json")
	var c struct {
		ID    int64
		State string
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &c) != nil || c.State != "draft" {
		t.Fatalf("campaign create: %+v", r)
	}
	return c.ID
}

// startWorker runs `waymark worker` until the test ends or it is killed.
func startWorker(t *testing.T, env []string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binary, "worker")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "WAYMARK_DB_MAX_CONNS=12"}, env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	return cmd
}

func waitCompleted(t *testing.T, env []string, id int64, timeout time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r := waymark(t, env, "", "campaign", "status", fmt.Sprint(id), "--json")
		var st map[string]any
		if r.code == 0 && json.Unmarshal([]byte(r.stdout), &st) == nil && st["state"] == "completed" {
			// Completed means nothing is left to send; receipts may still be on their way.
			if byStatus, _ := st["by_status"].(map[string]any); byStatus["sent"] == nil {
				return st
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign %d not completed in %v: %+v", id, timeout, r)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func TestCampaignCommands(t *testing.T) {
	t.Parallel()
	env, _ := install(t, 9)
	id := createCampaign(t, env)
	r := waymark(t, env, "", "campaign", "show", fmt.Sprint(id))
	for _, want := range []string{"9 reachable", "[ar] 3 recipients", "UCS-2", "[en] 3 recipients", "GSM-7", "channel sandbox: 9 recipients"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Fatalf("campaign show lacks %q:\n%s%s", want, r.stdout, r.stderr)
		}
	}
	if r := waymark(t, env, "", "campaign", "pause", fmt.Sprint(id)); r.code != 1 || !strings.Contains(r.stderr, "cannot pause a draft campaign") {
		t.Fatalf("pause a draft: %+v", r)
	}
	bad := waymark(t, env, "", "campaign", "create", "--name", "Bad", "--text", "en=Hello {{.Nmae}}")
	if bad.code != 1 || !strings.Contains(bad.stderr, "en") || !strings.Contains(bad.stderr, "column") {
		t.Fatalf("broken template: %+v", bad)
	}
	startWorker(t, env)
	if r := waymark(t, env, "", "campaign", "schedule", fmt.Sprint(id)); r.code != 0 || !strings.Contains(r.stdout, "scheduled") {
		t.Fatalf("schedule: %+v", r)
	}
	// status --follow draws progress and returns when the campaign ends.
	r = waymark(t, env, "", "campaign", "status", fmt.Sprint(id), "--follow")
	if r.code != 0 || !strings.Contains(r.stdout, "completed") || !strings.Contains(r.stdout, "[##############################] 100%") {
		t.Fatalf("status --follow: %+v", r)
	}
	st := waitCompleted(t, env, id, 30*time.Second)
	if st["recipients"].(float64) != 9 {
		t.Fatalf("status: %v", st)
	}
	r = waymark(t, env, "", "campaign", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "completed") || !strings.Contains(r.stdout, "am,ar,en") {
		t.Fatalf("list: %+v", r)
	}
}

// TestTwoWorkersShareACampaign runs two `waymark worker` processes on one campaign: both work,
// and every recipient gets exactly one message.
func TestTwoWorkersShareACampaign(t *testing.T) {
	t.Parallel()
	const n = 3000
	env, pool := install(t, n, "WAYMARK_SEND_WORKERS=4")
	id := createCampaign(t, env)
	startWorker(t, env)
	startWorker(t, env)
	if r := waymark(t, env, "", "campaign", "schedule", fmt.Sprint(id)); r.code != 0 {
		t.Fatalf("schedule: %+v", r)
	}
	waitCompleted(t, env, id, 2*time.Minute)
	checkExactlyOnce(t, pool, id, n, 0)
	var workers int
	if err := pool.QueryRow(context.Background(), `SELECT count(DISTINCT a) FROM river_job, unnest(attempted_by) a WHERE kind = 'campaign_send'`).Scan(&workers); err != nil {
		t.Fatal(err)
	}
	if workers < 2 {
		t.Fatalf("send jobs were worked by %d process(es), want both", workers)
	}
}

// checkExactlyOnce asserts one delivery per recipient, each in a final state, and at most
// maxDup duplicate sends in the sandbox's outbox.
func checkExactlyOnce(t *testing.T, pool *pgxpool.Pool, id int64, n, maxDup int) {
	t.Helper()
	ctx := context.Background()
	var deliveries, contactsWith, final, sent, addresses int
	q := `SELECT count(*), count(DISTINCT contact_id), count(*) FILTER (WHERE status IN ('delivered', 'undelivered', 'failed', 'skipped'))
	      FROM deliveries WHERE campaign_id = $1`
	if err := pool.QueryRow(ctx, q, id).Scan(&deliveries, &contactsWith, &final); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT to_index) FROM sandbox_messages WHERE campaign_id = $1`, id).Scan(&sent, &addresses); err != nil {
		t.Fatal(err)
	}
	if deliveries != n || contactsWith != n || final != n || addresses != n {
		t.Fatalf("%d deliveries for %d contacts, %d final, %d addresses reached; want %d each", deliveries, contactsWith, final, addresses, n)
	}
	if sent-n > maxDup {
		t.Fatalf("%d messages recorded for %d recipients: %d duplicates, more than the bound %d", sent, n, sent-n, maxDup)
	}
	t.Logf("%d recipients, %d duplicate sends", n, sent-n)
}

// TestCrashMidCampaign kills a worker with SIGKILL in the middle of a campaign, starts it again,
// and checks that every recipient ends with exactly one delivery in a final state, and that only
// messages in flight at the crash were sent twice. It takes a while, so it runs only with
// WAYMARK_CRASH_TEST=1.
func TestCrashMidCampaign(t *testing.T) {
	if os.Getenv("WAYMARK_CRASH_TEST") != "1" {
		t.Skip("set WAYMARK_CRASH_TEST=1 to run the crash test")
	}
	t.Parallel()
	const n, sendWorkers = 6000, 4
	env, pool := install(t, n, fmt.Sprint("WAYMARK_SEND_WORKERS=", sendWorkers), "WAYMARK_RESCUE_AFTER=5s")
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO sandbox_settings (workspace_id, rate_per_second) SELECT id, 1000 FROM workspaces`); err != nil {
		t.Fatal(err)
	}
	id := createCampaign(t, env)
	victim := startWorker(t, env)
	if r := waymark(t, env, "", "campaign", "schedule", fmt.Sprint(id)); r.code != 0 {
		t.Fatalf("schedule: %+v", r)
	}
	var once sync.Once
	for i := 0; ; i++ {
		var sent int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM sandbox_messages WHERE campaign_id = $1`, id).Scan(&sent)
		if sent > n/4 {
			once.Do(func() { _ = victim.Process.Kill() })
			break
		}
		if i > 600 {
			t.Fatal("the campaign never got going")
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = victim.Wait()
	startWorker(t, env)
	waitCompleted(t, env, id, 3*time.Minute)
	// At most the messages in flight at the crash go twice: one job of up to 50 per send worker.
	checkExactlyOnce(t, pool, id, n, sendWorkers*50)
}

var _ = bufio.NewScanner
var _ = filepath.Join

func TestChatbotImportCommand(t *testing.T) {
	t.Parallel()
	env, pool := install(t, 0)
	if r := waymark(t, env, "", "chatbot", "import", "../../chatbot/testdata/tree.yaml"); r.code != 0 || !strings.Contains(r.stdout, "imported a chatbot") {
		t.Fatalf("import: %+v", r)
	}
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM chatbot_trees").Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d trees stored: %v", n, err)
	}
	r := waymark(t, env, "", "chatbot", "import", "../../chatbot/testdata/missing_translation.yaml")
	if r.code != 2 || !strings.Contains(r.stderr, "nodes.") {
		t.Fatalf("invalid tree: %+v", r)
	}
}
