package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/internal/config"
	"github.com/waymark-org/waymark/internal/db"
	"github.com/waymark-org/waymark/internal/pgserver"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/migrations"
	"github.com/waymark-org/waymark/workspaces"
)

// env is what a command that touches the database works with.
type env struct {
	cfg    *config.Config
	logger *slog.Logger
	pool   *pgxpool.Pool
	url    string
	stopPG func(context.Context) error
}

func loadConfig(stderr io.Writer) (*config.Config, *slog.Logger, error) {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return nil, nil, fmt.Errorf("configuration: %w", err)
	}
	return cfg, cfg.NewLogger(stderr), nil
}

// openEnv loads the configuration and connects to the database: WAYMARK_DATABASE_URL, or in
// zero-setup mode a local server that answers, or a cluster started from the installed binaries
// under WAYMARK_DATA_DIR (stopped again by close).
func openEnv(ctx context.Context, c cmdIO) (*env, error) {
	cfg, logger, err := loadConfig(c.stderr)
	if err != nil {
		return nil, err
	}
	e := &env{cfg: cfg, logger: logger, url: cfg.DatabaseURL, stopPG: func(context.Context) error { return nil }}
	if e.url == "" {
		url, stop, err := pgserver.Ensure(ctx, pgserver.Options{
			DataDir: filepath.Join(cfg.DataDir, "postgres"), Logger: logger, Database: "waymark",
			SkipLocal: cfg.LocalPostgres == "never"})
		if err != nil {
			return nil, err
		}
		e.url, e.stopPG = url, stop
	}
	pool, err := db.Open(ctx, e.url, cfg.DBMaxConns)
	if err != nil {
		_ = e.stopPG(context.WithoutCancel(ctx))
		return nil, err
	}
	e.pool = pool
	return e, nil
}

func (e *env) close(ctx context.Context) {
	if e.pool != nil {
		e.pool.Close()
	}
	if err := e.stopPG(context.WithoutCancel(ctx)); err != nil {
		e.logger.Warn("stopping PostgreSQL", "err", err)
	}
}

// openMigrated is openEnv for commands that need the schema in place.
func openMigrated(ctx context.Context, c cmdIO) (*env, error) {
	e, err := openEnv(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := e.requireMigrated(ctx); err != nil {
		e.close(ctx)
		return nil, err
	}
	return e, nil
}

// openMigratedWorkspace is openMigrated for commands that act on one workspace: it also resolves it.
func openMigratedWorkspace(ctx context.Context, c cmdIO, name string) (*env, workspaces.Workspace, error) {
	e, err := openMigrated(ctx, c)
	if err != nil {
		return nil, workspaces.Workspace{}, err
	}
	ws, err := e.workspace(ctx, name)
	if err != nil {
		e.close(ctx)
		return nil, workspaces.Workspace{}, err
	}
	return e, ws, nil
}

// openWorkspace is openMigrated for commands that act on a workspace's personal data: it also
// loads the encryption keys and resolves the workspace.
func openWorkspace(ctx context.Context, c cmdIO, name string) (*env, *pii.Keyring, workspaces.Workspace, error) {
	e, err := openMigrated(ctx, c)
	if err != nil {
		return nil, nil, workspaces.Workspace{}, err
	}
	keys, _, err := loadKeys(e.cfg)
	if err == nil {
		var ws workspaces.Workspace
		if ws, err = e.workspace(ctx, name); err == nil {
			return e, keys, ws, nil
		}
	}
	e.close(ctx)
	return nil, nil, workspaces.Workspace{}, err
}

// requireMigrated refuses to go on with a database that lacks migrations, saying what to run.
func (e *env) requireMigrated(ctx context.Context) error {
	err := migrations.Check(ctx, e.pool)
	if errors.Is(err, migrations.ErrNotMigrated) {
		return fmt.Errorf("%w (database %s)", err, db.Describe(e.url))
	}
	return err
}

// workspaceFlag adds --workspace to fs, defaulting to WAYMARK_WORKSPACE.
func workspaceFlag(fs *flag.FlagSet) *string {
	return fs.String("workspace", os.Getenv("WAYMARK_WORKSPACE"), "workspace `NAME` to act on (default: WAYMARK_WORKSPACE, or the only one)")
}

func (e *env) workspace(ctx context.Context, name string) (workspaces.Workspace, error) {
	return workspaces.NewStore(e.pool).Resolve(ctx, name)
}

// cliActor names the OS user running a command, for the audit log.
func cliActor() workspaces.Actor {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return workspaces.CLIActor(name)
}

// parseFlags parses args with fs, turning flag errors into usage errors and -h into help.
func parseFlags(fs *flag.FlagSet, c cmdIO, args []string) error {
	fs.SetOutput(c.stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usageErr("%v", err)
	}
	return nil
}
