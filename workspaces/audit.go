package workspaces

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/waymark-org/waymark/workspaces/internal/dbq"
)

// ActorKind says whether an audited action came from a user's token, the CLI or Waymark itself.
type ActorKind string

// The actor kinds.
const (
	ActorUser   ActorKind = "user"
	ActorCLI    ActorKind = "cli"
	ActorSystem ActorKind = "system"
)

// Actor is who did an audited thing.
type Actor struct {
	Kind ActorKind
	ID   int64 // the user id for ActorUser
	Name string
}

// CLIActor is the actor of commands run on the server with database access; the OS user is
// recorded because that is who ran it.
func CLIActor(osUser string) Actor { return Actor{Kind: ActorCLI, Name: osUser} }

// SystemActor is Waymark acting on its own (jobs, schedules).
var SystemActor = Actor{Kind: ActorSystem, Name: "waymark"}

// AuditEntry is one audited action.
type AuditEntry struct {
	ID         int64          `json:"id"`
	At         time.Time      `json:"at"`
	ActorKind  ActorKind      `json:"actor_kind"`
	ActorID    *int64         `json:"actor_id,omitempty"`
	ActorName  string         `json:"actor_name"`
	Action     string         `json:"action"`
	RecordType string         `json:"record_type"`
	RecordID   string         `json:"record_id"`
	Detail     map[string]any `json:"detail,omitempty"`
}

// Auditor writes audit entries inside the caller's transaction, so that an action and its record
// commit together. Detail must never hold personal data or secrets.
type Auditor struct{}

// Record writes one audit entry using db, which may be a pool or a transaction.
func (Auditor) Record(ctx context.Context, db dbq.DBTX, workspaceID int64, by Actor, action, recordType string, recordID int64, detail map[string]any) error {
	return audit(ctx, dbq.New(db), workspaceID, by, action, recordType, recordID, detail)
}

func audit(ctx context.Context, q *dbq.Queries, workspaceID int64, by Actor, action, recordType string, recordID int64, detail map[string]any) error {
	d, err := encodeDetail(detail)
	if err != nil {
		return fmt.Errorf("audit detail: %w", err)
	}
	var actorID *int64
	if by.Kind == ActorUser {
		actorID = &by.ID
	}
	rid := ""
	if recordID != 0 {
		rid = strconv.FormatInt(recordID, 10)
	}
	err = q.AuditInsert(ctx, dbq.AuditInsertParams{WorkspaceID: workspaceID, ActorKind: string(by.Kind),
		ActorID: actorID, ActorName: by.Name, Action: action, RecordType: recordType, RecordID: rid, Detail: d})
	if err != nil {
		return fmt.Errorf("write audit entry: %w", err)
	}
	return nil
}

// AuditFilter narrows an audit listing.
type AuditFilter struct {
	RecordType string
	RecordID   string
	BeforeID   int64 // cursor: entries older than this id
	Limit      int
}

// DefaultAuditLimit is how many entries a listing returns when not told.
const DefaultAuditLimit = 100

// ListAudit returns audit entries, newest first.
func (s *Store) ListAudit(ctx context.Context, workspaceID int64, f AuditFilter) ([]AuditEntry, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = DefaultAuditLimit
	}
	p := dbq.AuditListParams{WorkspaceID: workspaceID, MaxRows: int32(f.Limit)}
	if f.RecordType != "" {
		p.RecordType = &f.RecordType
	}
	if f.RecordID != "" {
		p.RecordID = &f.RecordID
	}
	if f.BeforeID > 0 {
		p.BeforeID = &f.BeforeID
	}
	rows, err := s.q.AuditList(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]AuditEntry, len(rows))
	for i, r := range rows {
		e := AuditEntry{ID: r.ID, At: r.At, ActorKind: ActorKind(r.ActorKind), ActorID: r.ActorID,
			ActorName: r.ActorName, Action: r.Action, RecordType: r.RecordType, RecordID: r.RecordID}
		_ = jsonUnmarshal(r.Detail, &e.Detail)
		out[i] = e
	}
	return out, nil
}

// PruneAudit deletes entries past each workspace's retention and says how many went.
func (s *Store) PruneAudit(ctx context.Context) (int64, error) {
	return s.q.AuditPrune(ctx)
}
