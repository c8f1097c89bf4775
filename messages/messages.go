// Package messages owns stored messages that are not deliveries: the sandbox channel's outbox
// (what the built-in channel "sent", for people and tests to read back) with the sandbox's
// per-workspace settings, every inbound message, stored before it is acknowledged so that
// nothing a person writes is lost, and the answers sent to them, stored before they are sent so
// that each is sent once. Addresses and texts are personal data: they are stored encrypted and
// found through blind indexes, and deleted once older than their workspace's message retention.
package messages

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/waymark-org/waymark/internal/db"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/messages/internal/dbq"
)

// DBTX is what the writing methods run on: a *pgxpool.Pool, or a pgx.Tx so that the write
// commits or rolls back with the caller's own (a send worker's delivery update, a webhook's
// job insert).
type DBTX = dbq.DBTX

// notFound maps pgx's "no rows" to the project's not-found error, with what was missing.
func notFound(err error, what string) error {
	if errors.Is(db.NotFound(err), db.ErrNotFound) {
		return errcode.Wrap(db.ErrNotFound, errcode.NotFound, "no such %s", what)
	}
	return err
}

// isForeignKeyViolation reports a reference to a row that does not exist, such as a workspace
// deleted meanwhile.
func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}
