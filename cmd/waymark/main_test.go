package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/waymark-org/waymark/internal/dbtest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "waymark-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "waymark")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build waymark: %v\n%s", err, out)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	dbtest.Main(m)
}

type result struct {
	code           int
	stdout, stderr string
}

// waymark runs the built binary with only the given environment (plus PATH and HOME).
func waymark(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	// A small pool per process: tests run several binaries at once against one server.
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "WAYMARK_DB_MAX_CONNS=12"}, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, so.String(), se.String()}
}

func TestMigrateFromTwoProcessesAtOnce(t *testing.T) {
	t.Parallel()
	env := []string{"WAYMARK_DATABASE_URL=" + dbtest.EmptyDatabase(t)}
	var wg sync.WaitGroup
	results := make([]result, 2)
	for i := range results {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = waymark(t, env, "", "migrate", "--json") }()
	}
	wg.Wait()
	applied := 0
	for _, r := range results {
		if r.code != 0 {
			t.Fatalf("migrate: exit %d: %s", r.code, r.stderr)
		}
		var res struct {
			WaymarkApplied []int `json:"waymark_applied"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			t.Fatalf("migrate --json: %q", r.stdout)
		}
		applied += len(res.WaymarkApplied)
	}
	if applied == 0 {
		t.Fatal("neither process applied the migrations")
	}
	again := waymark(t, env, "", "migrate")
	if again.code != 0 || !strings.Contains(again.stdout, "up to date") {
		t.Fatalf("third run: %+v", again)
	}
}

func TestServeAndWorkerRefuseUnmigratedDatabase(t *testing.T) {
	t.Parallel()
	env := []string{"WAYMARK_DATABASE_URL=" + dbtest.EmptyDatabase(t), "WAYMARK_HTTP_ADDR=127.0.0.1:0"}
	for _, cmd := range []string{"serve", "worker"} {
		r := waymark(t, env, "", cmd)
		if r.code != 1 || !strings.Contains(r.stderr, "run `waymark migrate`") {
			t.Errorf("%s on an unmigrated database: exit %d, stderr %q", cmd, r.code, r.stderr)
		}
	}
}

func TestConfigErrorNamesVariable(t *testing.T) {
	t.Parallel()
	r := waymark(t, []string{"WAYMARK_LOG_LEVEL=chatty"}, "", "migrate")
	if r.code != 1 || !strings.Contains(r.stderr, "WAYMARK_LOG_LEVEL") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	r = waymark(t, []string{"WAYMARK_DATABASE_URL=postgres://u:hunter2@[bad"}, "", "migrate")
	if r.code != 1 || !strings.Contains(r.stderr, "WAYMARK_DATABASE_URL") || strings.Contains(r.stderr, "hunter2") {
		t.Fatalf("bad URL: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{}, {"frobnicate"}, {"tokens", "create"}, {"tokens", "create", "--role", "king"}, {"workspaces", "create"}} {
		r := waymark(t, nil, "", args...)
		if r.code != 2 || !strings.Contains(r.stderr, "waymark") {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
}

func TestSMSSegmentsCommand(t *testing.T) {
	t.Parallel()
	cases := []struct {
		stdin string
		args  []string
		want  string
	}{
		{"Reply STOP to stop", nil, `{"encoding":"GSM-7","segments":1,"units":18}`},
		{"Reply STOP to stop\n", nil, `{"encoding":"GSM-7","segments":1,"units":19}`},
		{strings.Repeat("a", 161), nil, `{"encoding":"GSM-7","segments":2,"units":161}`},
		{"", []string{"--text", "ሰላም"}, `{"encoding":"UCS-2","segments":1,"units":3}`},
		{"", []string{"--text", strings.Repeat("€", 81)}, `{"encoding":"GSM-7","segments":2,"units":162}`},
	}
	for _, c := range cases {
		r := waymark(t, nil, c.stdin, append([]string{"sms", "segments"}, c.args...)...)
		if r.code != 0 || strings.TrimSpace(r.stdout) != c.want {
			t.Errorf("%q %v: exit %d, got %s, want %s", c.stdin, c.args, r.code, r.stdout, c.want)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestBootstrapAndServe follows the README: migrate, create a workspace, issue a token, serve, call
// the API, then stop with SIGTERM and expect a clean exit.
func TestBootstrapAndServe(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	env := []string{"WAYMARK_DATABASE_URL=" + dbtest.EmptyDatabase(t), "WAYMARK_HTTP_ADDR=" + addr,
		"WAYMARK_DATA_DIR=" + t.TempDir()}
	if r := waymark(t, env, "", "migrate"); r.code != 0 {
		t.Fatalf("migrate: %+v", r)
	}
	if r := waymark(t, env, "", "tokens", "create", "--role", "admin"); r.code != 1 || !strings.Contains(r.stderr, "workspaces create") {
		t.Fatalf("token before any workspace: %+v", r)
	}
	if r := waymark(t, env, "", "workspaces", "create", "Horn Response", "--default-country", "ET"); r.code != 2 {
		t.Fatalf("flags after the name are not parsed, so this is a usage error: %+v", r)
	}
	if r := waymark(t, env, "", "workspaces", "create", "--default-country", "ET", "Horn Response"); r.code != 0 {
		t.Fatalf("workspaces create: %+v", r)
	}
	if r := waymark(t, env, "", "workspaces", "create", "Second"); r.code != 0 {
		t.Fatalf("workspaces create: %+v", r)
	}
	if r := waymark(t, env, "", "tokens", "create", "--role", "admin"); r.code != 1 || !strings.Contains(r.stderr, "--workspace") {
		t.Fatalf("token with two workspaces and none named: %+v", r)
	}
	tok := waymark(t, append(env, "WAYMARK_WORKSPACE=Horn Response"), "", "tokens", "create", "--role", "author")
	token := strings.TrimSpace(tok.stdout)
	if tok.code != 0 || !strings.HasPrefix(token, "wmk_") || strings.Contains(tok.stderr, token) {
		t.Fatalf("tokens create: %+v", tok)
	}

	if r := waymark(t, env, "", "serve"); r.code != 1 || !strings.Contains(r.stderr, "waymark keys generate") {
		t.Fatalf("serve without a key: %+v", r)
	}
	if r := waymark(t, env, "", "keys", "generate"); r.code != 0 {
		t.Fatalf("keys generate: %+v", r)
	}
	if r := waymark(t, env, "", "keys", "generate"); r.code != 1 {
		t.Fatalf("a second keys generate must not overwrite the key: %+v", r)
	}

	cmd := exec.Command(binary, "serve")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "WAYMARK_LOG_LEVEL=debug", "WAYMARK_DB_MAX_CONNS=12"}, env...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logged := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
		}
		close(logged)
	}()
	var body map[string]any
	deadline := time.Now().Add(30 * time.Second)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for {
		select {
		case err := <-exited:
			<-logged
			t.Fatalf("serve exited early: %v\n%s", err, logs.String())
		default:
		}
		req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/workspace", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("serve never answered: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if body["name"] != "Horn Response" || body["role"] != "author" {
		t.Fatalf("GET /api/v1/workspace: %v", body)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(45 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("serve did not stop after SIGTERM")
	}
	<-logged
	if !strings.Contains(logs.String(), "shutting down") {
		t.Fatalf("no graceful shutdown in the log:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), token[4:]) {
		t.Fatal("the log shows the token")
	}
}

// TestDemoZeroSetup runs the demo with no database configured and no local server allowed, so it
// starts a private cluster from the installed binaries; on these machines tests run as root, so
// this also covers running the cluster as an unprivileged user.
func TestDemoZeroSetup(t *testing.T) {
	t.Parallel()
	// The cluster's unprivileged user must be able to reach the folder, so it sits right in the
	// temp dir rather than in t.TempDir's private parent.
	dataDir, err := os.MkdirTemp("", "waymark-demo-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dataDir) })
	if err := os.Chmod(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"WAYMARK_DATA_DIR=" + dataDir, "WAYMARK_LOCAL_POSTGRES=never"}
	r := waymark(t, env, "", "demo", "--once", "--json")
	if r.code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var sum map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatalf("last line is not JSON: %q", lines[len(lines)-1])
	}
	byLang, _ := sum["by_language"].(map[string]any)
	if sum["workspace"] != "demo" || !strings.HasPrefix(sum["admin_token"].(string), "wmk_") ||
		sum["recipients"].(float64) != 12 || sum["delivered"].(float64) != 12 || sum["failed"].(float64) != 0 ||
		sum["duration_ms"].(float64) <= 0 || len(byLang) < 3 {
		t.Fatalf("summary: %v", sum)
	}
	// The scripted conversation: a reply, a menu choice, an answer, STOP and its confirmation,
	// and a second campaign that skips the person.
	conv, _ := sum["conversation"].([]any)
	if len(conv) != 4 || sum["skipped_after_stop"] != true {
		t.Fatalf("conversation %v, skipped_after_stop %v", conv, sum["skipped_after_stop"])
	}
	outs := make([]string, len(conv))
	for i, turn := range conv {
		outs[i] = turn.(map[string]any)["out"].(string)
	}
	if !strings.Contains(outs[0], "1. Before you travel") || !strings.Contains(outs[1], "1. Check an agency") ||
		!strings.Contains(outs[2], "licence number") || !strings.Contains(outs[3], "no more messages") {
		t.Fatalf("conversation replies %q", outs)
	}
	for _, lang := range []string{"en", "ar", "am"} {
		b, _ := byLang[lang].(map[string]any)
		if b == nil || b["recipients"].(float64) == 0 || b["delivered"] != b["recipients"] {
			t.Fatalf("by_language[%s] = %v", lang, b)
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, "postgres", "PG_VERSION")); err != nil {
		t.Fatalf("no private cluster in the data dir: %v\n%s", err, r.stderr)
	}
	// A second run reuses the cluster, the workspace and the contacts, with more of them.
	r = waymark(t, env, "", "demo", "--once", "--json", "--contacts", "20")
	lines = strings.Split(strings.TrimSpace(r.stdout), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil || r.code != 0 {
		t.Fatalf("second demo: %+v", r)
	}
	if sum["workspace_id"].(float64) != 1 || sum["recipients"].(float64) != 20 || sum["delivered"].(float64) != 20 {
		t.Fatalf("second summary: %v", sum)
	}
	// The cluster was stopped on exit: no postgres process holds the data dir.
	if pid, err := os.ReadFile(filepath.Join(dataDir, "postgres", "postmaster.pid")); err == nil {
		t.Fatalf("the private PostgreSQL still runs after the demo exited: %s", strings.SplitN(string(pid), "\n", 2)[0])
	}
}

func TestContactsImportAndKeyRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"WAYMARK_DATABASE_URL=" + dbtest.EmptyDatabase(t), "WAYMARK_DATA_DIR=" + dir}
	for _, args := range [][]string{{"migrate"}, {"workspaces", "create", "--default-country", "KE", "Nairobi Desk"}, {"keys", "generate"}} {
		if r := waymark(t, env, "", args...); r.code != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	file := filepath.Join(dir, "people.csv")
	csv := "\ufeffphone,name,language,country,tags,colour\r\n" +
		"0712345678,Amina,sw,KE,returnee,blue\r\n" +
		"12,Baraka,sw,KE,,\r\n" +
		"+251911234567,አበበ,am,ET,,\r\n" +
		"+254 712 345 678,Amina N,sw,KE,,\r\n"
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	r := waymark(t, env, "", "contacts", "import", file, "--json")
	if r.code != 0 {
		t.Fatalf("import: %+v", r)
	}
	var rep struct {
		Rows, Created, Updated, Rejected int
		Unknown                          []string `json:"unknown_columns"`
		RejectsFile                      string   `json:"rejects_file"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("--json output %q: %v", r.stdout, err)
	}
	if rep.Rows != 4 || rep.Created != 2 || rep.Updated != 1 || rep.Rejected != 1 || len(rep.Unknown) != 1 ||
		rep.RejectsFile != filepath.Join(dir, "people.rejected.csv") {
		t.Fatalf("report %+v", rep)
	}
	rejected, err := os.ReadFile(rep.RejectsFile)
	if err != nil || !strings.Contains(string(rejected), "reason") || !strings.Contains(string(rejected), "Baraka") {
		t.Fatalf("rejects file: %v %q", err, rejected)
	}
	if strings.Contains(r.stderr, "712345678") {
		t.Fatalf("the numbers reached the log: %s", r.stderr)
	}
	// Plain output lists each reject with its line.
	os.Remove(rep.RejectsFile)
	r = waymark(t, env, "", "contacts", "import", file)
	if r.code != 0 || !strings.Contains(r.stdout, "line 3, phone:") || !strings.Contains(r.stdout, "people.rejected.csv") {
		t.Fatalf("plain import: %+v", r)
	}

	empty := filepath.Join(dir, "empty.csv")
	_ = os.WriteFile(empty, nil, 0o600)
	consent := filepath.Join(dir, "consent.csv")
	_ = os.WriteFile(consent, []byte("phone,consent\n0712000000,yes\n"), 0o600)
	for _, args := range [][]string{
		{"contacts", "import", filepath.Join(dir, "missing.csv")},
		{"contacts", "import", empty},
		{"contacts", "import", consent},
	} {
		if r := waymark(t, env, "", args...); r.code != 2 || r.stderr == "" {
			t.Errorf("%v: want exit 2 with a message, got %+v", args, r)
		}
	}
	if r := waymark(t, env, "", "contacts", "import", consent, "--consent-source", "signed forms"); r.code != 0 {
		t.Fatalf("with a consent source: %+v", r)
	}

	if r := waymark(t, env, "", "keys", "generate", "--add"); r.code != 0 {
		t.Fatalf("keys generate --add: %+v", r)
	}
	r = waymark(t, env, "", "keys", "rotate", "--json")
	var rot rotation
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rot) != nil || rot.Key != "k2" || rot.Remaining != 0 {
		t.Fatalf("keys rotate: %+v %+v", r, rot)
	}
	resealed := map[string]int64{}
	for _, c := range rot.Columns {
		resealed[c.Table+"."+c.Column] = c.Resealed
	}
	if resealed["contact_identities.value_enc"] != 3 || resealed["contacts.name_enc"] != 2 || rot.Resealed != 5 {
		t.Fatalf("keys rotate: %+v", rot)
	}
}
