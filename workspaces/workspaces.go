// Package workspaces owns tenancy and access: workspaces, their users and roles, API tokens (kept
// only as hashes) and the audit log of who did what to which record.
package workspaces

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/text/language"

	"github.com/waymark-org/waymark/internal/db"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/workspaces/internal/dbq"
)

// Role is what a user may do in a workspace.
type Role string

// The roles. Admin may do everything; the others are granted per route.
const (
	RoleAdmin    Role = "admin"    // channels, users, tokens, retention, keywords
	RoleAuthor   Role = "author"   // contacts, content, campaigns, alerts, results
	RoleOperator Role = "operator" // referrals and conversations with people
	RoleViewer   Role = "viewer"   // reads results and non-personal records
)

// Roles lists every role, for validation and help texts.
var Roles = []Role{RoleAdmin, RoleAuthor, RoleOperator, RoleViewer}

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Roles, r) {
		return r, nil
	}
	return "", errcode.Field("role", "unknown role %q: want one of admin, author, operator, viewer", s)
}

// Allowed reports whether role r may use something open to the given roles; admin always may.
func (r Role) Allowed(roles ...Role) bool {
	return r == RoleAdmin || slices.Contains(roles, r)
}

// Workspace is one organisation's space; every other row belongs to one.
type Workspace struct {
	ID                 int64  `json:"id"`
	Name               string `json:"name"`
	DefaultCountry     string `json:"default_country"`
	AuditRetentionDays int    `json:"audit_retention_days"`
	// DefaultLanguage ends every fallback chain and is the language of contacts who gave none.
	DefaultLanguage string `json:"default_language"`
	// HotlineNumber is offered in messages as {{.Hotline}}.
	HotlineNumber string `json:"hotline_number"`
	// LanguageFallbacks are configured chains, e.g. {"fa-AF": ["fa", "en"]}.
	LanguageFallbacks map[string][]string `json:"language_fallbacks"`
	// SenderName is the neutral name HELP answers give.
	SenderName string `json:"sender_name"`
	// FirstMessage is, per language tag, a neutral text sent ahead of the answer the first time
	// Waymark answers a person it made a contact of; empty sends none.
	FirstMessage map[string]string `json:"first_message"`
	// RepliesPerHour caps the replies one sender can trigger.
	RepliesPerHour int `json:"replies_per_hour"`
	// ConversationTTLSeconds is how long a person's place in the menus is kept.
	ConversationTTLSeconds int `json:"conversation_ttl_seconds"`
	// MessageRetentionDays is how long the texts of a conversation (inbound messages, the answers
	// to them, the sandbox's outbox) are kept before the hourly prune deletes them.
	MessageRetentionDays int       `json:"message_retention_days"`
	CreatedAt            time.Time `json:"created_at"`
}

func fromRow(w dbq.Workspace) Workspace {
	out := Workspace{ID: w.ID, Name: w.Name, DefaultCountry: w.DefaultCountry,
		AuditRetentionDays: int(w.AuditRetentionDays), DefaultLanguage: w.DefaultLanguage,
		HotlineNumber: w.HotlineNumber, LanguageFallbacks: map[string][]string{}, SenderName: w.SenderName,
		RepliesPerHour: int(w.RepliesPerHour), ConversationTTLSeconds: int(w.ConversationTtlSeconds),
		MessageRetentionDays: int(w.MessageRetentionDays), FirstMessage: map[string]string{}, CreatedAt: w.CreatedAt}
	_ = json.Unmarshal(w.LanguageFallbacks, &out.LanguageFallbacks)
	_ = json.Unmarshal(w.FirstMessage, &out.FirstMessage)
	return out
}

// Store reads and writes workspaces, users, tokens and audit entries.
type Store struct {
	pool *pgxpool.Pool
	q    *dbq.Queries
}

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, q: dbq.New(pool)}
}

// ErrNoWorkspace says the install has no workspace yet.
var ErrNoWorkspace = errcode.New(errcode.Precondition, "there is no workspace yet: run `waymark workspaces create NAME`")

// Create makes a workspace. Names are unique per install.
func (s *Store) Create(ctx context.Context, name, defaultCountry string) (Workspace, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return Workspace{}, errcode.Field("name", "a workspace name is 1 to 100 characters")
	}
	defaultCountry = strings.ToUpper(strings.TrimSpace(defaultCountry))
	if defaultCountry != "" && (len(defaultCountry) != 2 || strings.Trim(defaultCountry, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "") {
		return Workspace{}, errcode.Field("default_country", "want an ISO 3166-1 alpha-2 code such as KE")
	}
	row, err := s.q.WorkspaceCreate(ctx, dbq.WorkspaceCreateParams{Name: name, DefaultCountry: defaultCountry})
	if isUniqueViolation(err) {
		return Workspace{}, errcode.Field("name", "a workspace named %q already exists", name)
	}
	if err != nil {
		return Workspace{}, fmt.Errorf("create workspace: %w", err)
	}
	return fromRow(row), nil
}

// Get returns a workspace by id.
func (s *Store) Get(ctx context.Context, id int64) (Workspace, error) {
	row, err := s.q.WorkspaceGetByID(ctx, id)
	if err != nil {
		return Workspace{}, notFound(err, "workspace")
	}
	return fromRow(row), nil
}

// List returns every workspace of the install.
func (s *Store) List(ctx context.Context) ([]Workspace, error) {
	rows, err := s.q.WorkspaceList(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Workspace, len(rows))
	for i, r := range rows {
		out[i] = fromRow(r)
	}
	return out, nil
}

// GetByName returns the workspace with that name.
func (s *Store) GetByName(ctx context.Context, name string) (Workspace, error) {
	row, err := s.q.WorkspaceGetByName(ctx, name)
	if err != nil {
		if errors.Is(db.NotFound(err), db.ErrNotFound) {
			return Workspace{}, &errcode.Error{Code: errcode.NotFound, Field: "workspace",
				Message: fmt.Sprintf("no workspace named %q", name), Err: db.ErrNotFound}
		}
		return Workspace{}, err
	}
	return fromRow(row), nil
}

// Resolve finds the workspace a CLI command acts on: the one named, or the only one there is.
func (s *Store) Resolve(ctx context.Context, name string) (Workspace, error) {
	if name != "" {
		return s.GetByName(ctx, name)
	}
	all, err := s.List(ctx)
	if err != nil {
		return Workspace{}, err
	}
	switch len(all) {
	case 0:
		return Workspace{}, ErrNoWorkspace
	case 1:
		return all[0], nil
	}
	names := make([]string, len(all))
	for i, w := range all {
		names[i] = w.Name
	}
	return Workspace{}, errcode.Field("workspace", "there are several workspaces (%s): pass --workspace NAME or set WAYMARK_WORKSPACE", strings.Join(names, ", "))
}

// Settings are the workspace fields an admin may change.
type Settings struct {
	DefaultCountry     string              `json:"default_country"`
	AuditRetentionDays int                 `json:"audit_retention_days"`
	DefaultLanguage    string              `json:"default_language"`
	HotlineNumber      string              `json:"hotline_number"`
	LanguageFallbacks  map[string][]string `json:"language_fallbacks"`
	SenderName         string              `json:"sender_name"`
	// FirstMessage maps language tags to the first message in that language; see Workspace.
	FirstMessage    map[string]string `json:"first_message"`
	RepliesPerHour  int               `json:"replies_per_hour"`
	ConversationTTL int               `json:"conversation_ttl_seconds"`
	// MessageRetentionDays must be set (1 to MaxMessageRetentionDays): unlike the audit log's,
	// zero does not mean "keep for ever", because messages are never kept for ever.
	MessageRetentionDays int `json:"message_retention_days"`
}

// DefaultMessageRetentionDays is the message retention of a new workspace.
const DefaultMessageRetentionDays = 90

// MaxMessageRetentionDays bounds the message retention at a hundred years, as the audit log's.
const MaxMessageRetentionDays = 36500

// SettingsOf returns a workspace's current settings, to change some and save them.
func SettingsOf(w Workspace) Settings {
	return Settings{DefaultCountry: w.DefaultCountry, AuditRetentionDays: w.AuditRetentionDays,
		DefaultLanguage: w.DefaultLanguage, HotlineNumber: w.HotlineNumber, LanguageFallbacks: w.LanguageFallbacks,
		SenderName: w.SenderName, FirstMessage: w.FirstMessage, RepliesPerHour: w.RepliesPerHour,
		ConversationTTL: w.ConversationTTLSeconds, MessageRetentionDays: w.MessageRetentionDays}
}

// MaxFirstMessageChars bounds the first message in each language, in characters: two SMS
// segments in the GSM alphabet, and short enough to take in at a glance on a lock screen.
const MaxFirstMessageChars = 320

// firstMessages validates the first message in each language: a known language tag, given once,
// and at most MaxFirstMessageChars characters. Texts are sent as written, so they may hold no
// {{ }} placeholders, which would reach people unfilled. An empty text drops the language.
func firstMessages(texts map[string]string) (map[string]string, error) {
	out := map[string]string{}
	given := map[string]string{}
	for _, key := range slices.Sorted(maps.Keys(texts)) {
		tag, err := languageTag("first_message", key)
		if err != nil {
			return nil, err
		}
		text := strings.TrimSpace(texts[key])
		if text == "" {
			continue
		}
		field := "first_message." + key
		if first, ok := given[tag]; ok {
			return nil, errcode.Field(field, "%q and %q are the same language (%s): give it once", first, key, tag)
		}
		given[tag] = key
		if n := utf8.RuneCountInString(text); n > MaxFirstMessageChars {
			return nil, errcode.Field(field, "at most %d characters (this one has %d)", MaxFirstMessageChars, n)
		}
		if strings.Contains(text, "{{") {
			return nil, errcode.Field(field, "the first message is sent as written: {{ }} placeholders are not filled in")
		}
		out[tag] = text
	}
	return out, nil
}

// languageTag checks a BCP-47 tag without depending on the contacts package.
func languageTag(field, s string) (string, error) {
	t, err := language.Parse(strings.TrimSpace(s))
	if err != nil || t == language.Und {
		return "", errcode.Field(field, "%q is not a BCP-47 language tag", s)
	}
	return t.String(), nil
}

// UpdateSettings changes a workspace's settings.
func (s *Store) UpdateSettings(ctx context.Context, id int64, st Settings, by Actor) (Workspace, error) {
	st.DefaultCountry = strings.ToUpper(strings.TrimSpace(st.DefaultCountry))
	if st.DefaultCountry != "" && (len(st.DefaultCountry) != 2 || strings.Trim(st.DefaultCountry, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "") {
		return Workspace{}, errcode.Field("default_country", "want an ISO 3166-1 alpha-2 code such as KE")
	}
	if st.AuditRetentionDays < 0 || st.AuditRetentionDays > 36500 {
		return Workspace{}, errcode.Field("audit_retention_days", "want 0 (keep for ever) to 36500 days")
	}
	if st.MessageRetentionDays < 1 || st.MessageRetentionDays > MaxMessageRetentionDays {
		return Workspace{}, errcode.Field("message_retention_days", "want 1 to %d days: messages are deleted once older (the default is %d)",
			MaxMessageRetentionDays, DefaultMessageRetentionDays)
	}
	if st.DefaultLanguage == "" {
		st.DefaultLanguage = "en"
	}
	var err error
	if st.DefaultLanguage, err = languageTag("default_language", st.DefaultLanguage); err != nil {
		return Workspace{}, err
	}
	if st.RepliesPerHour == 0 {
		st.RepliesPerHour = 6
	}
	if st.RepliesPerHour < 1 || st.RepliesPerHour > 1000 {
		return Workspace{}, errcode.Field("replies_per_hour", "want 1 to 1000")
	}
	if st.ConversationTTL == 0 {
		st.ConversationTTL = 1800
	}
	if st.ConversationTTL < 60 || st.ConversationTTL > 604800 {
		return Workspace{}, errcode.Field("conversation_ttl_seconds", "want 60 to 604800 seconds")
	}
	st.SenderName = strings.TrimSpace(st.SenderName)
	if utf8.RuneCountInString(st.SenderName) > 40 {
		return Workspace{}, errcode.Field("sender_name", "at most 40 characters")
	}
	st.HotlineNumber = strings.TrimSpace(st.HotlineNumber)
	if utf8.RuneCountInString(st.HotlineNumber) > 40 {
		return Workspace{}, errcode.Field("hotline_number", "at most 40 characters")
	}
	greetings, err := firstMessages(st.FirstMessage)
	if err != nil {
		return Workspace{}, err
	}
	firstMessage, err := json.Marshal(greetings)
	if err != nil {
		return Workspace{}, err
	}
	chains := map[string][]string{}
	for from, to := range st.LanguageFallbacks {
		f, err := languageTag("language_fallbacks", from)
		if err != nil {
			return Workspace{}, err
		}
		for _, l := range to {
			t, err := languageTag("language_fallbacks."+from, l)
			if err != nil {
				return Workspace{}, err
			}
			chains[f] = append(chains[f], t)
		}
	}
	fallbacks, err := json.Marshal(chains)
	if err != nil {
		return Workspace{}, err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Workspace{}, err
	}
	defer tx.Rollback(ctx)
	q := s.q.WithTx(tx)
	row, err := q.WorkspaceUpdateSettings(ctx, dbq.WorkspaceUpdateSettingsParams{
		ID: id, DefaultCountry: st.DefaultCountry, AuditRetentionDays: int32(st.AuditRetentionDays),
		DefaultLanguage: st.DefaultLanguage, HotlineNumber: st.HotlineNumber, LanguageFallbacks: fallbacks,
		SenderName: st.SenderName, RepliesPerHour: int32(st.RepliesPerHour), ConversationTtlSeconds: int32(st.ConversationTTL),
		MessageRetentionDays: int32(st.MessageRetentionDays), FirstMessage: firstMessage})
	if err != nil {
		return Workspace{}, notFound(err, "workspace")
	}
	detail := map[string]any{"default_country": st.DefaultCountry, "audit_retention_days": st.AuditRetentionDays,
		"default_language": st.DefaultLanguage, "language_fallbacks": chains, "message_retention_days": st.MessageRetentionDays,
		"first_message": greetings, "sender_name": st.SenderName, "hotline_number": st.HotlineNumber,
		"replies_per_hour": st.RepliesPerHour, "conversation_ttl_seconds": st.ConversationTTL}
	if err := audit(ctx, q, id, by, "update", "workspace", id, detail); err != nil {
		return Workspace{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return Workspace{}, err
	}
	return fromRow(row), nil
}

// Principal is who an API request acts as.
type Principal struct {
	WorkspaceID int64
	UserID      int64
	UserName    string
	TokenID     int64
	Role        Role
}

// Actor returns the audit actor for the principal.
func (p Principal) Actor() Actor {
	return Actor{Kind: ActorUser, ID: p.UserID, Name: p.UserName}
}

// Token describes an API token; the token itself is never stored.
type Token struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"user_id"`
	Name       string     `json:"name"`
	Role       Role       `json:"role"`
	Hint       string     `json:"hint"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// tokenPrefix marks Waymark tokens so that secret scanners and people recognise them.
const tokenPrefix = "wmk_"

// HashToken is how tokens are stored: SHA-256 suffices because tokens carry 256 random bits, so
// there is nothing to brute-force that a slow hash would protect.
func HashToken(plain string) []byte {
	h := sha256.Sum256([]byte(plain))
	return h[:]
}

// CreateToken issues a token for the user named userName (made with that role if new) and returns
// the plain token, which is shown once and kept nowhere.
func (s *Store) CreateToken(ctx context.Context, workspaceID int64, role Role, userName, tokenName string, by Actor) (string, Token, error) {
	if _, err := ParseRole(string(role)); err != nil {
		return "", Token{}, err
	}
	userName = strings.TrimSpace(userName)
	if userName == "" {
		userName = string(role)
	}
	if utf8.RuneCountInString(userName) > 100 {
		return "", Token{}, errcode.Field("user", "a user name is at most 100 characters")
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", Token{}, err
	}
	plain := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return "", Token{}, err
	}
	defer tx.Rollback(ctx)
	q := s.q.WithTx(tx)
	user, err := q.UserUpsert(ctx, dbq.UserUpsertParams{WorkspaceID: workspaceID, Name: userName, Role: string(role)})
	if err != nil {
		return "", Token{}, fmt.Errorf("create token: %w", err)
	}
	if Role(user.Role) != role && !Role(user.Role).Allowed(role) {
		return "", Token{}, errcode.Field("role", "user %q has role %s and cannot hold a %s token", userName, user.Role, role)
	}
	row, err := q.TokenCreate(ctx, dbq.TokenCreateParams{WorkspaceID: workspaceID, UserID: user.ID,
		Name: tokenName, Role: string(role), TokenHash: HashToken(plain), Hint: plain[len(plain)-4:]})
	if err != nil {
		return "", Token{}, fmt.Errorf("create token: %w", err)
	}
	if err := audit(ctx, q, workspaceID, by, "create", "api_token", row.ID, map[string]any{"role": role, "user": userName}); err != nil {
		return "", Token{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return "", Token{}, err
	}
	return plain, Token{ID: row.ID, UserID: row.UserID, Name: row.Name, Role: Role(row.Role), Hint: row.Hint, CreatedAt: row.CreatedAt}, nil
}

// ErrBadToken is the one answer to any unusable token, so that callers learn nothing about why.
var ErrBadToken = errcode.New(errcode.Unauthorized, "missing, unknown or revoked API token")

// Authenticate returns the principal of a live token.
func (s *Store) Authenticate(ctx context.Context, plain string) (Principal, error) {
	if !strings.HasPrefix(plain, tokenPrefix) || len(plain) > 200 {
		return Principal{}, ErrBadToken
	}
	row, err := s.q.TokenAuthenticate(ctx, HashToken(plain))
	if err != nil {
		if errors.Is(db.NotFound(err), db.ErrNotFound) {
			return Principal{}, ErrBadToken
		}
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	return Principal{WorkspaceID: row.WorkspaceID, UserID: row.UserID, UserName: row.UserName,
		TokenID: row.ID, Role: Role(row.Role)}, nil
}

// ListTokens describes a workspace's tokens.
func (s *Store) ListTokens(ctx context.Context, workspaceID int64) ([]Token, error) {
	rows, err := s.q.TokenList(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	out := make([]Token, len(rows))
	for i, r := range rows {
		out[i] = Token{ID: r.ID, UserID: r.UserID, Name: r.Name, Role: Role(r.Role), Hint: r.Hint,
			CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt, RevokedAt: r.RevokedAt}
	}
	return out, nil
}

// RevokeToken stops a token from working; revoking twice is harmless.
func (s *Store) RevokeToken(ctx context.Context, workspaceID, id int64, by Actor) (Token, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Token{}, err
	}
	defer tx.Rollback(ctx)
	q := s.q.WithTx(tx)
	r, err := q.TokenRevoke(ctx, dbq.TokenRevokeParams{WorkspaceID: workspaceID, ID: id})
	if err != nil {
		return Token{}, notFound(err, "token")
	}
	if err := audit(ctx, q, workspaceID, by, "revoke", "api_token", id, nil); err != nil {
		return Token{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return Token{}, err
	}
	return Token{ID: r.ID, UserID: r.UserID, Name: r.Name, Role: Role(r.Role), Hint: r.Hint,
		CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt, RevokedAt: r.RevokedAt}, nil
}

// User is a person or system account in a workspace.
type User struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// ListUsers returns a workspace's users.
func (s *Store) ListUsers(ctx context.Context, workspaceID int64) ([]User, error) {
	rows, err := s.q.UserList(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	out := make([]User, len(rows))
	for i, r := range rows {
		out[i] = User{ID: r.ID, Name: r.Name, Role: Role(r.Role), CreatedAt: r.CreatedAt}
	}
	return out, nil
}

func notFound(err error, what string) error {
	if errors.Is(db.NotFound(err), db.ErrNotFound) {
		return errcode.Wrap(db.ErrNotFound, errcode.NotFound, "no such %s in this workspace", what)
	}
	return err
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// encodeDetail marshals audit details; a failure here is a programming error worth surfacing.
func encodeDetail(detail map[string]any) ([]byte, error) {
	if detail == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(detail)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
