// Package web is Waymark's HTTP edge: the JSON API under /api/v1 with bearer tokens and a role
// declared on every route, health and readiness probes, and the one table that maps domain error
// codes to HTTP statuses.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/campaigns"
	"github.com/waymark-org/waymark/chatbot"
	"github.com/waymark-org/waymark/connections"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/workspaces"
)

// Deps are what the HTTP layer calls.
type Deps struct {
	Pool       *pgxpool.Pool
	Workspaces *workspaces.Store
	Contacts   *contacts.Store
	Campaigns  *campaigns.Store
	// Senders reach the workspace's channels, for test sends.
	Senders campaigns.SenderFor
	Outbox  *messages.Outbox
	Inbox   *messages.Inbox
	// Channels are the workspaces' provider channels; PublicURL is where providers reach us.
	Channels  *connections.Store
	PublicURL string
	// RegisterChannel and TestChannel reach the providers, which only the wiring knows.
	RegisterChannel ChannelHooks
	TestChannel     ChannelTester
	// Webhooks parse and authenticate providers' webhook requests.
	Webhooks Webhooks
	// Jobs enqueues the handling of stored inbound messages in their transaction.
	Jobs campaigns.JobInserter
	// Chatbot keeps the workspaces' chatbot trees and keyword changes.
	Chatbot *chatbot.Store
	Logger  *slog.Logger
	// Ready reports whether the process can serve: database reachable, migrations current.
	Ready func(ctx context.Context) error
}

// Server is the http.Handler for the whole HTTP surface.
type Server struct {
	deps   Deps
	mux    *http.ServeMux
	routes []Route
}

// New builds the handler and registers every route.
func New(deps Deps) *Server {
	s := &Server{deps: deps, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errcode.New(errcode.NotFound, "no API route %s %s", r.Method, r.URL.Path))
	})
	s.registerAPI()
	s.registerHooks()
	return s
}

// Routes lists the API routes with the roles each admits, so tests can check every one.
func (s *Server) Routes() []Route { return s.routes }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		// A bug in one handler answers 500 and is logged; it never takes the server down.
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.deps.Logger.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			if !sw.wrote {
				s.writeError(sw, r, errcode.New(errcode.Internal, "internal error"))
			}
		}
	}()
	s.mux.ServeHTTP(sw, r)
	// The query string is left out on purpose: it can carry phone numbers (?to=...).
	s.deps.Logger.LogAttrs(r.Context(), slog.LevelDebug, "http request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", sw.status), slog.Duration("took", time.Since(start)))
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	w.status, w.wrote = code, true
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := s.deps.Ready(ctx); err != nil {
		s.deps.Logger.Warn("not ready", "err", err)
		s.writeError(w, r, errcode.Wrap(err, errcode.Unavailable, "not ready: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
