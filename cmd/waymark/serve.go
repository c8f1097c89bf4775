package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/connections"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/migrations"
	"github.com/waymark-org/waymark/web"
	"github.com/waymark-org/waymark/worker"
)

// cmdServe runs the workers and, with withHTTP, the HTTP server, until ctx ends (SIGTERM or
// SIGINT), then stops gracefully.
func cmdServe(ctx context.Context, c cmdIO, args []string, withHTTP bool) error {
	name := "worker"
	if withHTTP {
		name = "serve"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("%s takes no arguments", name)
	}
	e, err := openMigrated(ctx, c)
	if err != nil {
		return err
	}
	defer e.close(ctx)
	keys, source, err := loadKeys(e.cfg)
	if err != nil {
		return err
	}
	e.logger.Info("personal data keys loaded", "source", source, "keys", keys)
	return runServices(ctx, e, keys, withHTTP, nil)
}

// runServices starts River and, with withHTTP, the HTTP server; ready, when set, is called once
// both are up. It returns after ctx ends and everything has stopped.
func runServices(ctx context.Context, e *env, keys *pii.Keyring, withHTTP bool, ready func(addr string)) error {
	app, err := newApp(e, keys)
	if err != nil {
		return err
	}
	return runServicesWith(ctx, e, app, withHTTP, ready)
}

// runServicesWith is runServices for an app already wired.
func runServicesWith(ctx context.Context, e *env, app *app, withHTTP bool, ready func(addr string)) error {
	client, err := worker.NewClient(e.pool, app.workerDeps(), worker.Options{Logger: e.logger, SendWorkers: e.cfg.SendWorkers,
		RescueStuckJobsAfter: e.cfg.RescueAfter})
	if err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	if err := client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	go runPollers(ctx, e, app)
	stopWorkers := func() error {
		sctx, cancel := context.WithTimeout(context.Background(), e.cfg.ShutdownTimeout+15*time.Second)
		defer cancel()
		return worker.Stop(sctx, client, e.cfg.ShutdownTimeout)
	}
	if !withHTTP {
		e.logger.Info("workers started")
		if ready != nil {
			ready("")
		}
		<-ctx.Done()
		e.logger.Info("stopping workers")
		return stopWorkers()
	}
	srv, addr, errc, err := startHTTP(e, app)
	if err != nil {
		_ = stopWorkers()
		return err
	}
	e.logger.Info("serving", "addr", addr, "public_url", e.cfg.PublicURL)
	if ready != nil {
		ready(addr)
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	e.logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), e.cfg.ShutdownTimeout)
	defer cancel()
	httpErr := srv.Shutdown(sctx)
	return errors.Join(serveErr, httpErr, stopWorkers())
}

func startHTTP(e *env, app *app) (*http.Server, string, <-chan error, error) {
	handler := web.New(web.Deps{
		Pool: e.pool, Workspaces: app.workspaces, Contacts: app.contacts, Campaigns: app.campaigns,
		Senders: app.channels.senderFor, Outbox: app.outbox, Inbox: app.inbox, Logger: e.logger,
		Channels: app.conns, PublicURL: e.cfg.PublicURL, Webhooks: app.channels.webhooks(), Jobs: app.jobs, Chatbot: app.chatbot,
		RegisterChannel: func(r *http.Request, ch connections.Channel) error { return app.channels.register(r.Context(), ch) },
		TestChannel: func(r *http.Request, ch connections.Channel, to, text string) (channels.Result, error) {
			return app.channels.testSend(r.Context(), ch, to, text)
		},
		Ready: func(ctx context.Context) error {
			if err := e.pool.Ping(ctx); err != nil {
				return fmt.Errorf("database unreachable: %w", err)
			}
			return migrations.Check(ctx, e.pool)
		},
	})
	ln, err := net.Listen("tcp", e.cfg.HTTPAddr)
	if err != nil {
		return nil, "", nil, fmt.Errorf("WAYMARK_HTTP_ADDR=%s: %w", e.cfg.HTTPAddr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	return srv, ln.Addr().String(), errc, nil
}
