package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/waymark-org/waymark/internal/db"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/migrations"
	"github.com/waymark-org/waymark/workspaces"
)

// demoWorkspace is the workspace the demo seeds and reuses on later runs.
const demoWorkspace = "demo"

// demoSummary is what the demo reports; with --json it is the last line of output.
type demoSummary struct {
	Database          string `json:"database"`
	Workspace         string `json:"workspace"`
	WorkspaceID       int64  `json:"workspace_id"`
	AdminToken        string `json:"admin_token"`
	MigrationsApplied int    `json:"migrations_applied"`
	DurationMS        int64  `json:"duration_ms"`
	URL               string `json:"url,omitempty"`
}

func cmdDemo(ctx context.Context, c cmdIO, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	once := fs.Bool("once", false, "exit when the demo is done instead of serving")
	asJSON := fs.Bool("json", false, "make the last line of output one JSON summary")
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErr("usage: waymark demo [--once] [--json]")
	}
	start := time.Now()
	e, err := openEnv(ctx, c)
	if err != nil {
		return err
	}
	defer e.close(ctx)
	say := func(format string, args ...any) {
		if !*asJSON {
			fmt.Fprintf(c.stdout, format+"\n", args...)
		}
	}
	say("database: %s", db.Describe(e.url))
	keyFile := pii.DefaultKeyFile(e.cfg.DataDir)
	if e.cfg.SecretKey == "" {
		if _, err := os.Stat(keyFile); errors.Is(err, os.ErrNotExist) {
			if err := pii.WriteNewKeyFile(keyFile); err != nil {
				return err
			}
			say("encryption key: wrote %s (back it up: without it the personal data cannot be read)", keyFile)
		}
	}
	keys, _, err := loadKeys(e.cfg)
	if err != nil {
		return err
	}
	res, err := migrations.Migrate(ctx, e.pool, e.logger)
	if err != nil {
		return err
	}
	say("migrations: %d River and %d Waymark applied", len(res.RiverApplied), len(res.WaymarkApplied))

	store := workspaces.NewStore(e.pool)
	ws, err := store.GetByName(ctx, demoWorkspace)
	if errors.Is(err, db.ErrNotFound) {
		ws, err = store.Create(ctx, demoWorkspace, "KE")
		if err == nil {
			say("workspace: created %q (id %d)", ws.Name, ws.ID)
		}
	} else if err == nil {
		say("workspace: reusing %q (id %d)", ws.Name, ws.ID)
	}
	if err != nil {
		return err
	}
	token, _, err := store.CreateToken(ctx, ws.ID, workspaces.RoleAdmin, "demo-admin", "demo", cliActor())
	if err != nil {
		return err
	}
	say("admin token (shown once): %s", token)

	sum := demoSummary{Database: db.Describe(e.url), Workspace: ws.Name, WorkspaceID: ws.ID, AdminToken: token,
		MigrationsApplied: len(res.RiverApplied) + len(res.WaymarkApplied)}
	if *once {
		sum.DurationMS = time.Since(start).Milliseconds()
		return finishDemo(c, sum, *asJSON)
	}
	return runServices(ctx, e, keys, true, func(addr string) {
		sum.URL = "http://" + addr
		sum.DurationMS = time.Since(start).Milliseconds()
		say("serving on http://%s; try:\n  curl -H 'Authorization: Bearer %s' http://%s/api/v1/workspace\npress Ctrl-C to stop", addr, token, addr)
		if *asJSON {
			_ = json.NewEncoder(c.stdout).Encode(sum)
		}
	})
}

func finishDemo(c cmdIO, sum demoSummary, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(c.stdout).Encode(sum)
	}
	fmt.Fprintf(c.stdout, "done in %d ms\n", sum.DurationMS)
	return nil
}
