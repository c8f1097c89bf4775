package main

import (
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/waymark-org/waymark/campaigns"
	"github.com/waymark-org/waymark/chatbot"
	"github.com/waymark-org/waymark/connections"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/worker"
	"github.com/waymark-org/waymark/workspaces"
)

// app holds the domain services of a process, wired once.
type app struct {
	workspaces *workspaces.Store
	contacts   *contacts.Store
	campaigns  *campaigns.Store
	outbox     *messages.Outbox
	inbox      *messages.Inbox
	conns      *connections.Store
	channels   *channelSet
	jobs       *river.Client[pgx.Tx]
	chatbot    *chatbot.Store
	keys       *pii.Keyring
	logger     *slog.Logger
}

func newApp(e *env, keys *pii.Keyring) (*app, error) {
	ins, err := worker.NewInserter(e.pool)
	if err != nil {
		return nil, err
	}
	a := &app{
		jobs:       ins,
		chatbot:    chatbot.NewStore(e.pool),
		keys:       keys,
		logger:     e.logger,
		workspaces: workspaces.NewStore(e.pool),
		contacts:   contacts.NewStore(e.pool, keys),
		campaigns:  campaigns.NewStore(e.pool, keys, ins),
		outbox:     messages.NewOutbox(e.pool, keys),
		inbox:      messages.NewInbox(e.pool, keys),
		conns:      connections.NewStore(e.pool, keys),
	}
	a.channels = newChannelSet(e.pool, a.outbox, a.conns, e.cfg.PublicURL, e.logger)
	a.campaigns.Rates = a.channels.rate
	return a, nil
}

func (a *app) workerDeps() worker.Deps {
	return worker.Deps{Workspaces: a.workspaces, Campaigns: a.campaigns, Senders: a.channels.senderFor,
		SandboxReceipts: a.channels.receipts, Outbox: a.outbox,
		Chatbot: &chatbot.Handler{Pool: a.campaigns.Pool(), Inbox: a.inbox, Contacts: a.contacts, Workspaces: a.workspaces,
			Store: a.chatbot, Keys: a.keys, Reply: a.channels, Logger: a.logger, ProviderConfirmsStop: a.channels.confirmsStop}}
}
