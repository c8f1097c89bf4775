package chatbot

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/chatbot/internal/dbq"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/internal/myanmar"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/workspaces"
)

// Store keeps a workspace's chatbot tree, keyword changes and conversations.
type Store struct {
	pool  *pgxpool.Pool
	q     *dbq.Queries
	audit workspaces.Auditor
}

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool, q: dbq.New(pool)} }

// TreeJSON returns the stored tree, or nil when the workspace has none.
func (s *Store) TreeJSON(ctx context.Context, workspaceID int64) ([]byte, error) {
	return treeJSON(ctx, s.pool, workspaceID)
}

// treeJSON reads the workspace's stored tree on db, nil when it has none.
func treeJSON(ctx context.Context, db dbq.DBTX, workspaceID int64) ([]byte, error) {
	r, err := dbq.New(db).TreeGet(ctx, workspaceID)
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

// Import validates a tree (JSON or YAML) and makes it the workspace's chatbot.
func (s *Store) Import(ctx context.Context, workspaceID int64, data []byte, by workspaces.Actor) (*Tree, error) {
	tree, err := ParseTree(data)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(tree)
	if err != nil {
		return nil, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := dbq.New(tx).TreeSave(ctx, dbq.TreeSaveParams{WorkspaceID: workspaceID, Tree: raw}); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, workspaceID, by, "import", "chatbot", 0, map[string]any{"nodes": len(tree.Nodes), "languages": tree.Languages})
	})
	return tree, err
}

var intents = []Intent{IntentStop, IntentStart, IntentHelp, IntentLanguage, IntentTalk}

// Matcher returns the workspace's keyword matcher: the shipped words with its changes.
func (s *Store) Matcher(ctx context.Context, workspaceID int64) (*Matcher, error) {
	return matcher(ctx, s.pool, workspaceID)
}

// SetKeyword adds a word to an intent (action "add") or takes a shipped word away from it
// ("remove") for one workspace.
func (s *Store) SetKeyword(ctx context.Context, workspaceID int64, intent Intent, word, action string, by workspaces.Actor) error {
	if !slices.Contains(intents, intent) {
		return errcode.Field("intent", "want stop, start, help, language or talk")
	}
	if action != "add" && action != "remove" {
		return errcode.Field("action", "want add or remove")
	}
	w := Normalize(word)
	if w == "" || len([]rune(w)) > 64 {
		return errcode.Field("word", "a keyword is 1 to 64 characters")
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := dbq.New(tx).OverrideSave(ctx, dbq.OverrideSaveParams{WorkspaceID: workspaceID, Intent: string(intent), Word: w, Action: action}); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, workspaceID, by, "keyword_"+action, "keyword", 0, map[string]any{"intent": intent, "word": w})
	})
}

// ResetKeyword drops a workspace's change to a word, so the shipped lists apply to it again.
func (s *Store) ResetKeyword(ctx context.Context, workspaceID int64, intent Intent, word string, by workspaces.Actor) error {
	n, err := s.q.OverrideDelete(ctx, dbq.OverrideDeleteParams{WorkspaceID: workspaceID, Intent: string(intent), Word: Normalize(word)})
	if err != nil {
		return err
	}
	if n == 0 {
		return errcode.New(errcode.NotFound, "this workspace has not changed that keyword")
	}
	return s.audit.Record(ctx, s.pool, workspaceID, by, "keyword_reset", "keyword", 0, map[string]any{"intent": intent})
}

// matcher reads the workspace's keyword changes on db and returns its Matcher.
func matcher(ctx context.Context, db dbq.DBTX, workspaceID int64) (*Matcher, error) {
	rows, err := dbq.New(db).OverridesList(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	o := Overrides{Add: map[Intent][]string{}, Remove: map[Intent][]string{}}
	for _, r := range rows {
		if r.Action == "add" {
			o.Add[Intent(r.Intent)] = append(o.Add[Intent(r.Intent)], r.Word)
		} else {
			o.Remove[Intent(r.Intent)] = append(o.Remove[Intent(r.Intent)], r.Word)
		}
	}
	return NewMatcher(o), nil
}

// Receive stores an inbound message inside tx and, when it is a STOP in any language, applies it
// at once, before anything else can be sent; it enqueues the job that handles the message
// (confirmation, menus) in the same transaction. It reports the message's id and whether it was
// a duplicate of one already stored.
func (s *Store) Receive(ctx context.Context, tx pgx.Tx, inbox *messages.Inbox, cs *contacts.Store, jobs JobInserter,
	ws workspaces.Workspace, in channels.Inbound) (int64, bool, error) {
	// Burmese typed in legacy Zawgyi is stored as the Unicode it means, so that keywords, answers
	// and anyone reading the conversation see one encoding.
	in.Text = myanmar.Normalize(in.Text)
	id, dup, err := inbox.StoreInbound(ctx, tx, ws.ID, in)
	if err != nil || dup || !NeedsHandling(in) {
		return id, dup, err
	}
	m, err := matcher(ctx, tx, ws.ID)
	if err != nil {
		return 0, false, err
	}
	// A provider's own opt-out verdict (Twilio's OptOutType) is recorded by the caller as such.
	if intent, lang := m.Match(in.Text, ws.DefaultLanguage); intent == IntentStop && in.OptOut == "" {
		if err := cs.KeywordStop(ctx, tx, ws, in.Kind, in.From, map[string]any{"message_id": id, "keyword_language": lang}); err != nil {
			return 0, false, err
		}
	}
	if jobs != nil {
		if _, err := jobs.InsertTx(ctx, tx, HandleArgs{WorkspaceID: ws.ID, MessageID: id}, nil); err != nil {
			return 0, false, err
		}
	}
	return id, false, nil
}

// JobInserter enqueues River jobs inside the caller's transaction.
type JobInserter interface {
	InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}
