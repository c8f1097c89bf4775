package chatbot

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/chatbot/internal/dbq"
)

// Store keeps a workspace's chatbot tree, keyword changes and conversations.
type Store struct {
	pool *pgxpool.Pool
	q    *dbq.Queries
}

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool, q: dbq.New(pool)} }

// SaveTree stores a workspace's tree as given (already parsed and validated).
func (s *Store) SaveTree(ctx context.Context, workspaceID int64, raw []byte) error {
	return s.q.TreeSave(ctx, dbq.TreeSaveParams{WorkspaceID: workspaceID, Tree: raw})
}

// TreeJSON returns the stored tree, or nil when the workspace has none.
func (s *Store) TreeJSON(ctx context.Context, workspaceID int64) ([]byte, error) {
	r, err := s.q.TreeGet(ctx, workspaceID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return r.Tree, err
}

// conversationNode returns where a contact is in the menus, "" when nowhere or expired.
func (s *Store) conversationNode(ctx context.Context, db dbq.DBTX, workspaceID, contactID int64) (string, error) {
	node, err := dbq.New(db).ConversationGet(ctx, dbq.ConversationGetParams{WorkspaceID: workspaceID, ContactID: contactID})
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return node, err
}

func (s *Store) setConversation(ctx context.Context, db dbq.DBTX, workspaceID, contactID int64, node string, ttlSeconds int) error {
	q := dbq.New(db)
	if node == "" {
		return q.ConversationClear(ctx, dbq.ConversationClearParams{WorkspaceID: workspaceID, ContactID: contactID})
	}
	return q.ConversationSet(ctx, dbq.ConversationSetParams{WorkspaceID: workspaceID, ContactID: contactID, Node: node, TtlSeconds: int32(ttlSeconds)})
}

// ExpireConversations forgets conversations past their time.
func (s *Store) ExpireConversations(ctx context.Context) (int64, error) {
	return s.q.ConversationsExpire(ctx)
}
