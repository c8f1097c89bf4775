package pgserver

import (
	"context"
	"log/slog"
)

// DefaultDatabase is the database Ensure provides when Options.Database is empty.
const DefaultDatabase = "waymark"

// Ensure applies the zero-setup rule and returns the URL of database opts.Database (default
// "waymark"), creating it if missing: on a PostgreSQL that already answers on this machine if
// there is one, else on a private server started on opts.DataDir. stop releases what Ensure
// started (see Server.Stop) and does nothing for a local server. It logs, at Info, one line
// saying which PostgreSQL is used.
func Ensure(ctx context.Context, opts Options) (url string, stop func(context.Context) error, err error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
		opts.Logger = logger
	}
	database := opts.Database
	if database == "" {
		database = DefaultDatabase
	}

	var local endpoint
	found := false
	if !opts.SkipLocal {
		local, found = findLocal(ctx)
	}
	if found {
		err := ensureDatabase(ctx, local.url("postgres"), database)
		if err == nil {
			logger.Info("using the local PostgreSQL", "host", local.host, "user", local.user, "database", database)
			return local.url(database), func(context.Context) error { return nil }, nil
		}
		// A role without CREATEDB, say: a private server still gives a working setup.
		logger.Warn("the local PostgreSQL answers but cannot provide the database; starting a private one",
			"host", local.host, "user", local.user, "database", database, "err", err)
	}

	srv, err := Start(ctx, opts)
	if err != nil {
		return "", nil, err
	}
	if err := srv.EnsureDatabase(ctx, database); err != nil {
		_ = srv.Stop(context.WithoutCancel(ctx))
		return "", nil, err
	}
	logger.Info("using a private PostgreSQL", "data_dir", srv.DataDir(), "socket_dir", srv.socketDir,
		"already_running", srv.reused, "database", database)
	return srv.URL(database), srv.Stop, nil
}
