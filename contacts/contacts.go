// Package contacts owns who Waymark may message: contacts and their channel identities (stored
// encrypted, found through blind indexes), the consent ledger, suppressions that outlive erasure,
// and CSV import.
package contacts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/contacts/internal/dbq"
	"github.com/waymark-org/waymark/internal/db"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/workspaces"
)

// Kind is a kind of channel: opt-outs and suppressions apply to a whole kind, so a person who
// stopped SMS from one of a workspace's numbers hears from none of them.
type Kind = channels.Kind

// The channel kinds.
const (
	KindSMS      = channels.KindSMS
	KindTelegram = channels.KindTelegram
	KindSandbox  = channels.KindSandbox
)

// Kinds lists every channel kind.
var Kinds = []Kind{KindSMS, KindTelegram, KindSandbox}

// ParseKind validates a channel kind.
func ParseKind(field, s string) (Kind, error) {
	k := Kind(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Kinds, k) {
		return k, nil
	}
	return "", errcode.Field(field, "unknown channel %q: want sms, telegram or sandbox", s)
}

// Consent statuses as the ledger records them; StatusNone means the ledger has nothing.
const (
	StatusOptIn  = "opt_in"
	StatusOptOut = "opt_out"
	StatusNone   = "none"
)

// Consent sources: how an opt-in or opt-out reached Waymark.
const (
	SourceKeyword  = "keyword"  // the person's own message (STOP, START, ...)
	SourceProvider = "provider" // a provider flag: Twilio OptOutType, error 21610, Telegram "blocked"
	SourceImport   = "import"   // a CSV import that stated its source
	SourceOperator = "operator" // a staff member recorded what the person said
	SourceAPI      = "api"      // an API client
)

var sources = []string{SourceKeyword, SourceProvider, SourceImport, SourceOperator, SourceAPI}

// Identity is one address a contact is reachable at.
type Identity struct {
	ID    int64  `json:"id"`
	Kind  Kind   `json:"kind"`
	Value string `json:"value"`
}

// Contact is a person a workspace may message. Identities are filled only by audited reads.
type Contact struct {
	ID           int64           `json:"id"`
	Name         string          `json:"name,omitempty"`
	Language     string          `json:"language,omitempty"`
	Country      string          `json:"country,omitempty"`
	AdminArea    string          `json:"admin_area,omitempty"`
	TimeZone     string          `json:"timezone,omitempty"`
	Tags         []string        `json:"tags"`
	AgeBand      string          `json:"age_band,omitempty"`
	Sex          string          `json:"sex,omitempty"`
	ChannelOrder []Kind          `json:"channel_order"`
	Channels     []Kind          `json:"channels"`
	Consent      map[Kind]string `json:"consent"`
	Identities   []Identity      `json:"identities,omitempty"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
}

// Store reads and writes contacts, identities and consent.
type Store struct {
	pool  *pgxpool.Pool
	q     *dbq.Queries
	keys  *pii.Keyring
	audit workspaces.Auditor
}

// NewStore returns a Store that encrypts with keys.
func NewStore(pool *pgxpool.Pool, keys *pii.Keyring) *Store {
	return &Store{pool: pool, q: dbq.New(pool), keys: keys}
}

// NameAAD is the additional data bound into each encrypted name, and IdentityAAD that of an
// address of kind k, so that a value copied into another column or channel kind does not
// decrypt there. Other packages that read these columns decrypt with the same strings.
const NameAAD = "contacts.name_enc"

// IdentityAAD is the additional data of an encrypted address of kind k.
func IdentityAAD(k Kind) string { return "contact_identities.value_enc:" + string(k) }

func (s *Store) index(k Kind, value string) []byte { return s.keys.BlindIndex(string(k), value) }

// NormalizeAddress validates an address of kind k and returns its stored form. Phone numbers in
// national format are read in country.
func NormalizeAddress(k Kind, value, country string) (string, error) {
	switch k {
	case KindSMS:
		return NormalizePhone(value, country)
	case KindTelegram:
		return NormalizeTelegramChatID(value)
	case KindSandbox:
		v := strings.TrimSpace(value)
		if v == "" || len(v) > 100 {
			return "", invalid("value", "a sandbox address is 1 to 100 characters")
		}
		return v, nil
	}
	return "", invalid("kind", "unknown channel kind")
}

// Fields are a contact's descriptive data as an API client or import gives them.
type Fields struct {
	Name         *string   `json:"name"`
	Language     *string   `json:"language"`
	Country      *string   `json:"country"`
	AdminArea    *string   `json:"admin_area"`
	TimeZone     *string   `json:"timezone"`
	Tags         *[]string `json:"tags"`
	AgeBand      *string   `json:"age_band"`
	Sex          *string   `json:"sex"`
	ChannelOrder *[]string `json:"channel_order"`
}

type values struct {
	name                                             string
	language, country, adminArea, timeZone, age, sex string
	tags                                             []string
	order                                            []Kind
}

func fromRow(c dbq.Contact, name string) values {
	order := make([]Kind, len(c.ChannelOrder))
	for i, k := range c.ChannelOrder {
		order[i] = Kind(k)
	}
	return values{name: name, language: c.Language, country: c.Country, adminArea: c.AdminArea,
		timeZone: c.TimeZone, age: c.AgeBand, sex: c.Sex, tags: c.Tags, order: order}
}

// apply validates f and writes it over v; fields f leaves nil keep their value.
func (f Fields) apply(v *values) error {
	var err error
	set := func(dst *string, src *string, norm func(string) (string, error)) {
		if err != nil || src == nil {
			return
		}
		s := strings.TrimSpace(*src)
		if s == "" {
			*dst = ""
			return
		}
		*dst, err = norm(s)
	}
	if f.Name != nil {
		n := strings.TrimSpace(*f.Name)
		if len(n) > 200 {
			return errcode.Field("name", "a name is at most 200 bytes")
		}
		v.name = n
	}
	set(&v.language, f.Language, NormalizeLanguage)
	set(&v.country, f.Country, NormalizeCountry)
	set(&v.timeZone, f.TimeZone, NormalizeTimeZone)
	set(&v.age, f.AgeBand, NormalizeAgeBand)
	set(&v.sex, f.Sex, NormalizeSex)
	if err != nil {
		return fieldErr(err)
	}
	if f.AdminArea != nil || f.Country != nil {
		area := v.adminArea
		if f.AdminArea != nil {
			area = strings.TrimSpace(*f.AdminArea)
		}
		if area != "" {
			if v.adminArea, err = NormalizeAdminArea(area, v.country); err != nil {
				return fieldErr(err)
			}
		} else {
			v.adminArea = ""
		}
	}
	if f.Tags != nil {
		tags, err := NormalizeTags(strings.Join(*f.Tags, ";"))
		if err != nil {
			return fieldErr(err)
		}
		v.tags = tags
	}
	if f.ChannelOrder != nil {
		v.order = nil
		for _, s := range *f.ChannelOrder {
			k, err := ParseKind("channel_order", s)
			if err != nil {
				return err
			}
			if !slices.Contains(v.order, k) {
				v.order = append(v.order, k)
			}
		}
	}
	return nil
}

// fieldErr turns a vocabulary error into a domain error for the field.
func fieldErr(err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		return &errcode.Error{Code: errcode.Invalid, Field: fe.Field, Message: fe.Reason, Err: err}
	}
	return err
}

func (s *Store) encryptName(name string) ([]byte, error) {
	if name == "" {
		return nil, nil
	}
	return s.keys.EncryptString(name, NameAAD)
}

func kindsToText(ks []Kind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}

func orEmpty(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// IdentityInput is an address given to Create or AddIdentity.
type IdentityInput struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// ConsentInput is a consent statement given with a new contact.
type ConsentInput struct {
	Channel  string         `json:"channel"`
	Status   string         `json:"status"`
	Evidence map[string]any `json:"evidence"`
}

// NewContact is what Create takes.
type NewContact struct {
	Fields
	Identities []IdentityInput `json:"identities"`
	Consent    []ConsentInput  `json:"consent"`
}

// ErrDuplicate says an address already belongs to a contact of the workspace.
func errDuplicate(k Kind) error {
	return errcode.New(errcode.Conflict, "that %s address already belongs to a contact of this workspace", k)
}

// Create adds a contact with its identities and any consent given, in one transaction.
func (s *Store) Create(ctx context.Context, ws workspaces.Workspace, in NewContact, source string, by workspaces.Actor) (Contact, error) {
	var v values
	if err := in.Fields.apply(&v); err != nil {
		return Contact{}, err
	}
	if len(in.Identities) == 0 {
		return Contact{}, errcode.Field("identities", "a contact needs at least one identity (sms, telegram or sandbox address)")
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Contact{}, err
	}
	defer tx.Rollback(ctx)
	q := s.q.WithTx(tx)
	nameEnc, err := s.encryptName(v.name)
	if err != nil {
		return Contact{}, err
	}
	row, err := q.ContactInsert(ctx, dbq.ContactInsertParams{WorkspaceID: ws.ID, NameEnc: nameEnc,
		Language: v.language, Country: v.country, AdminArea: v.adminArea, TimeZone: v.timeZone,
		Tags: orEmpty(v.tags), AgeBand: v.age, Sex: v.sex, ChannelOrder: kindsToText(v.order)})
	if err != nil {
		return Contact{}, err
	}
	for i, id := range in.Identities {
		if _, err := s.addIdentity(ctx, q, ws, row.ID, v.country, id, fmt.Sprintf("identities[%d]", i)); err != nil {
			return Contact{}, err
		}
	}
	for i, c := range in.Consent {
		if err := s.recordConsent(ctx, q, ws.ID, row.ID, c, source, fmt.Sprintf("consent[%d]", i)); err != nil {
			return Contact{}, err
		}
	}
	if err := s.audit.Record(ctx, tx, ws.ID, by, "create", "contact", row.ID, nil); err != nil {
		return Contact{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return Contact{}, err
	}
	return s.Get(ctx, ws.ID, row.ID, false, by)
}

func (s *Store) addIdentity(ctx context.Context, q *dbq.Queries, ws workspaces.Workspace, contactID int64, country string, in IdentityInput, field string) (Identity, error) {
	k, err := ParseKind(field+".kind", in.Kind)
	if err != nil {
		return Identity{}, err
	}
	if country == "" {
		country = ws.DefaultCountry
	}
	val, err := NormalizeAddress(k, in.Value, country)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return Identity{}, errcode.Field(field+".value", "%s", fe.Reason)
		}
		return Identity{}, err
	}
	enc, err := s.keys.EncryptString(val, IdentityAAD(k))
	if err != nil {
		return Identity{}, err
	}
	row, err := q.IdentityInsert(ctx, dbq.IdentityInsertParams{WorkspaceID: ws.ID, ContactID: contactID,
		Kind: string(k), ValueEnc: enc, ValueIndex: s.index(k, val)})
	if isUniqueViolation(err) {
		return Identity{}, errDuplicate(k)
	}
	if err != nil {
		return Identity{}, err
	}
	return Identity{ID: row.ID, Kind: k, Value: val}, nil
}

// Get returns a contact. With identities, their decrypted addresses are included and the read
// is audited, because who looked at a person's number is itself sensitive.
func (s *Store) Get(ctx context.Context, workspaceID, id int64, identities bool, by workspaces.Actor) (Contact, error) {
	row, err := s.q.ContactGet(ctx, dbq.ContactGetParams{WorkspaceID: workspaceID, ID: id})
	if err != nil {
		return Contact{}, notFound(err)
	}
	c, err := s.contactFromRow(row)
	if err != nil {
		return Contact{}, err
	}
	ids, err := s.q.IdentitiesByContact(ctx, dbq.IdentitiesByContactParams{WorkspaceID: workspaceID, ContactID: id})
	if err != nil {
		return Contact{}, err
	}
	for _, r := range ids {
		if !slices.Contains(c.Channels, Kind(r.Kind)) {
			c.Channels = append(c.Channels, Kind(r.Kind))
		}
		if identities {
			val, err := s.keys.DecryptString(r.ValueEnc, IdentityAAD(Kind(r.Kind)))
			if err != nil {
				return Contact{}, fmt.Errorf("decrypt identity %d: %w", r.ID, err)
			}
			c.Identities = append(c.Identities, Identity{ID: r.ID, Kind: Kind(r.Kind), Value: val})
		}
	}
	consent, err := s.q.ConsentCurrent(ctx, dbq.ConsentCurrentParams{WorkspaceID: workspaceID, ContactID: &id})
	if err != nil {
		return Contact{}, err
	}
	for _, cc := range consent {
		c.Consent[Kind(cc.ChannelKind)] = cc.Status
	}
	if err := s.applySuppressions(ctx, workspaceID, &c, ids); err != nil {
		return Contact{}, err
	}
	if identities {
		if err := s.audit.Record(ctx, s.pool, workspaceID, by, "read_identities", "contact", id, nil); err != nil {
			return Contact{}, err
		}
	}
	return c, nil
}

// applySuppressions marks a kind opted out when any of the contact's addresses of that kind is
// suppressed, whatever the ledger says: suppression outlives erasure and beats stale opt-ins.
func (s *Store) applySuppressions(ctx context.Context, workspaceID int64, c *Contact, ids []dbq.ContactIdentity) error {
	byKind := map[Kind][][]byte{}
	for _, r := range ids {
		byKind[Kind(r.Kind)] = append(byKind[Kind(r.Kind)], r.ValueIndex)
	}
	for k, idx := range byKind {
		hit, err := s.q.SuppressedIndexes(ctx, dbq.SuppressedIndexesParams{WorkspaceID: workspaceID, ChannelKind: string(k), Indexes: idx})
		if err != nil {
			return err
		}
		if len(hit) > 0 {
			c.Consent[k] = StatusOptOut
		}
	}
	return nil
}

func (s *Store) contactFromRow(r dbq.Contact) (Contact, error) {
	name := ""
	if r.NameEnc != nil {
		n, err := s.keys.DecryptString(r.NameEnc, NameAAD)
		if err != nil {
			return Contact{}, fmt.Errorf("decrypt name of contact %d: %w", r.ID, err)
		}
		name = n
	}
	v := fromRow(r, name)
	return Contact{ID: r.ID, Name: name, Language: v.language, Country: v.country, AdminArea: v.adminArea,
		TimeZone: v.timeZone, Tags: orEmpty(v.tags), AgeBand: v.age, Sex: v.sex, ChannelOrder: orKinds(v.order),
		Channels: []Kind{}, Consent: map[Kind]string{}, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}, nil
}

func orKinds(k []Kind) []Kind {
	if k == nil {
		return []Kind{}
	}
	return k
}

// Filter narrows a listing.
type Filter struct {
	Language, Country, AdminArea, Tag string
	Channel                           string // a channel kind the contact has an identity on
	Consent                           string // opt_in, opt_out or none (on Channel, or on any)
	After                             int64  // cursor: contacts with a larger id
	Limit                             int
}

// DefaultListLimit is the page size when none is asked for.
const DefaultListLimit = 100

// List returns a page of contacts, without their addresses, and the cursor of the next page
// (0 when this is the last).
func (s *Store) List(ctx context.Context, workspaceID int64, f Filter) ([]Contact, int64, error) {
	if f.Limit <= 0 {
		f.Limit = DefaultListLimit
	}
	if f.Limit > 1000 {
		return nil, 0, errcode.Field("limit", "want 1 to 1000")
	}
	p := dbq.ContactListParams{WorkspaceID: workspaceID, AfterID: f.After, MaxRows: int32(f.Limit + 1)}
	opt := func(field, v string, norm func(string) (string, error)) (*string, error) {
		if v == "" {
			return nil, nil
		}
		if norm != nil {
			n, err := norm(v)
			if err != nil {
				return nil, fieldErr(err)
			}
			v = n
		}
		return &v, nil
	}
	var err error
	if p.Language, err = opt("language", f.Language, NormalizeLanguage); err != nil {
		return nil, 0, err
	}
	if p.Country, err = opt("country", f.Country, NormalizeCountry); err != nil {
		return nil, 0, err
	}
	if p.AdminArea, err = opt("admin_area", f.AdminArea, func(s string) (string, error) { return NormalizeAdminArea(s, "") }); err != nil {
		return nil, 0, err
	}
	if f.Tag != "" {
		t := strings.ToLower(strings.TrimSpace(f.Tag))
		p.Tag = &t
	}
	if f.Channel != "" {
		k, err := ParseKind("channel", f.Channel)
		if err != nil {
			return nil, 0, err
		}
		ks := string(k)
		p.Channel = &ks
	}
	if f.Consent != "" {
		if f.Consent != StatusOptIn && f.Consent != StatusOptOut && f.Consent != StatusNone {
			return nil, 0, errcode.Field("consent", "want opt_in, opt_out or none")
		}
		p.Consent = &f.Consent
	}
	rows, err := s.q.ContactList(ctx, p)
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		next = rows[len(rows)-1].ID
	}
	out := make([]Contact, 0, len(rows))
	ids := make([]int64, 0, len(rows))
	byID := map[int64]int{}
	for _, r := range rows {
		c, err := s.contactFromRow(r)
		if err != nil {
			return nil, 0, err
		}
		byID[r.ID] = len(out)
		out = append(out, c)
		ids = append(ids, r.ID)
	}
	kinds, err := s.q.IdentitiesByContacts(ctx, dbq.IdentitiesByContactsParams{WorkspaceID: workspaceID, ContactIds: ids})
	if err != nil {
		return nil, 0, err
	}
	for _, k := range kinds {
		c := &out[byID[k.ContactID]]
		if !slices.Contains(c.Channels, Kind(k.Kind)) {
			c.Channels = append(c.Channels, Kind(k.Kind))
		}
	}
	consent, err := s.q.ConsentCurrentMany(ctx, dbq.ConsentCurrentManyParams{WorkspaceID: workspaceID, ContactIds: ids})
	if err != nil {
		return nil, 0, err
	}
	for _, cc := range consent {
		out[byID[*cc.ContactID]].Consent[Kind(cc.ChannelKind)] = cc.Status
	}
	return out, next, nil
}

// Update changes a contact's fields; fields left out keep their value.
func (s *Store) Update(ctx context.Context, workspaceID, id int64, f Fields, by workspaces.Actor) (Contact, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Contact{}, err
	}
	defer tx.Rollback(ctx)
	q := s.q.WithTx(tx)
	row, err := q.ContactGetForUpdate(ctx, dbq.ContactGetForUpdateParams{WorkspaceID: workspaceID, ID: id})
	if err != nil {
		return Contact{}, notFound(err)
	}
	cur, err := s.contactFromRow(row)
	if err != nil {
		return Contact{}, err
	}
	v := fromRow(row, cur.Name)
	if err := f.apply(&v); err != nil {
		return Contact{}, err
	}
	if err := s.writeValues(ctx, q, workspaceID, id, v); err != nil {
		return Contact{}, err
	}
	if err := s.audit.Record(ctx, tx, workspaceID, by, "update", "contact", id, map[string]any{"fields": f.names()}); err != nil {
		return Contact{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return Contact{}, err
	}
	return s.Get(ctx, workspaceID, id, false, by)
}

func (s *Store) writeValues(ctx context.Context, q *dbq.Queries, workspaceID, id int64, v values) error {
	nameEnc, err := s.encryptName(v.name)
	if err != nil {
		return err
	}
	_, err = q.ContactUpdate(ctx, dbq.ContactUpdateParams{WorkspaceID: workspaceID, ID: id, NameEnc: nameEnc,
		Language: v.language, Country: v.country, AdminArea: v.adminArea, TimeZone: v.timeZone,
		Tags: orEmpty(v.tags), AgeBand: v.age, Sex: v.sex, ChannelOrder: kindsToText(v.order)})
	return err
}

// names lists the fields an update touched, for the audit log (never their values).
func (f Fields) names() []string {
	var out []string
	add := func(set bool, n string) {
		if set {
			out = append(out, n)
		}
	}
	add(f.Name != nil, "name")
	add(f.Language != nil, "language")
	add(f.Country != nil, "country")
	add(f.AdminArea != nil, "admin_area")
	add(f.TimeZone != nil, "timezone")
	add(f.Tags != nil, "tags")
	add(f.AgeBand != nil, "age_band")
	add(f.Sex != nil, "sex")
	add(f.ChannelOrder != nil, "channel_order")
	return out
}

// AddIdentity gives a contact another address. A person with several addresses stays one contact.
func (s *Store) AddIdentity(ctx context.Context, ws workspaces.Workspace, contactID int64, in IdentityInput, by workspaces.Actor) (Identity, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Identity{}, err
	}
	defer tx.Rollback(ctx)
	q := s.q.WithTx(tx)
	row, err := q.ContactGetForUpdate(ctx, dbq.ContactGetForUpdateParams{WorkspaceID: ws.ID, ID: contactID})
	if err != nil {
		return Identity{}, notFound(err)
	}
	id, err := s.addIdentity(ctx, q, ws, contactID, row.Country, in, "identity")
	if err != nil {
		return Identity{}, err
	}
	if err := s.audit.Record(ctx, tx, ws.ID, by, "add_identity", "contact", contactID, map[string]any{"kind": id.Kind}); err != nil {
		return Identity{}, err
	}
	return id, tx.Commit(ctx)
}

// ConsentEvent is one row of the ledger.
type ConsentEvent struct {
	ID       int64          `json:"id"`
	Channel  Kind           `json:"channel"`
	Status   string         `json:"status"`
	Source   string         `json:"source"`
	Evidence map[string]any `json:"evidence"`
	At       time.Time      `json:"at"`
}

// ErrSuppressed refuses an opt-in for an address that opted out: only the person's own START
// (source keyword) lifts a suppression, never staff, an import or an API client.
var ErrSuppressed = errcode.New(errcode.Precondition, "this person opted out on that channel; only their own START can opt them back in")

// RecordConsent appends an opt-in or opt-out to the ledger. An opt-out suppresses every address
// of that kind the contact has; an opt-in with source keyword lifts those suppressions.
func (s *Store) RecordConsent(ctx context.Context, workspaceID, contactID int64, in ConsentInput, source string, by workspaces.Actor) (ConsentEvent, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return ConsentEvent{}, err
	}
	defer tx.Rollback(ctx)
	q := s.q.WithTx(tx)
	if _, err := q.ContactGetForUpdate(ctx, dbq.ContactGetForUpdateParams{WorkspaceID: workspaceID, ID: contactID}); err != nil {
		return ConsentEvent{}, notFound(err)
	}
	if err := s.recordConsent(ctx, q, workspaceID, contactID, in, source, "consent"); err != nil {
		return ConsentEvent{}, err
	}
	if err := s.audit.Record(ctx, tx, workspaceID, by, "consent_"+in.Status, "contact", contactID,
		map[string]any{"channel": in.Channel, "source": source}); err != nil {
		return ConsentEvent{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return ConsentEvent{}, err
	}
	hist, err := s.ConsentHistory(ctx, workspaceID, contactID)
	if err != nil {
		return ConsentEvent{}, err
	}
	return hist[len(hist)-1], nil
}

func (s *Store) recordConsent(ctx context.Context, q *dbq.Queries, workspaceID, contactID int64, in ConsentInput, source, field string) error {
	k, err := ParseKind(field+".channel", in.Channel)
	if err != nil {
		return err
	}
	if in.Status != StatusOptIn && in.Status != StatusOptOut {
		return errcode.Field(field+".status", "want opt_in or opt_out")
	}
	if !slices.Contains(sources, source) {
		return errcode.Field(field+".source", "unknown consent source %q", source)
	}
	ids, err := q.IdentitiesByContact(ctx, dbq.IdentitiesByContactParams{WorkspaceID: workspaceID, ContactID: contactID})
	if err != nil {
		return err
	}
	var idx [][]byte
	for _, r := range ids {
		if Kind(r.Kind) == k {
			idx = append(idx, r.ValueIndex)
		}
	}
	if in.Status == StatusOptIn {
		if len(idx) == 0 {
			return errcode.Field(field+".channel", "the contact has no %s address to consent on", k)
		}
		hit, err := q.SuppressedIndexes(ctx, dbq.SuppressedIndexesParams{WorkspaceID: workspaceID, ChannelKind: string(k), Indexes: idx})
		if err != nil {
			return err
		}
		if len(hit) > 0 {
			if source != SourceKeyword {
				return ErrSuppressed
			}
			for _, h := range hit {
				if _, err := q.SuppressionDelete(ctx, dbq.SuppressionDeleteParams{WorkspaceID: workspaceID, ChannelKind: string(k), ValueIndex: h}); err != nil {
					return err
				}
			}
		}
	} else {
		for _, i := range idx {
			if err := q.SuppressionInsert(ctx, dbq.SuppressionInsertParams{WorkspaceID: workspaceID, ChannelKind: string(k), ValueIndex: i, Source: source}); err != nil {
				return err
			}
		}
	}
	evidence, err := json.Marshal(orMap(in.Evidence))
	if err != nil {
		return errcode.Field(field+".evidence", "want a JSON object")
	}
	if len(evidence) > 4096 {
		return errcode.Field(field+".evidence", "evidence is at most 4 KiB; keep personal data out of it")
	}
	_, err = q.ConsentInsert(ctx, dbq.ConsentInsertParams{WorkspaceID: workspaceID, ContactID: &contactID,
		ChannelKind: string(k), Status: in.Status, Source: source, Evidence: evidence})
	return err
}

func orMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// OptOutTx records an opt-out inside the caller's transaction: a provider reported that the
// person stopped (Twilio 21610, Telegram "blocked"), so the send that learned it and the ledger
// entry commit together.
func (s *Store) OptOutTx(ctx context.Context, tx pgx.Tx, workspaceID, contactID int64, k Kind, source string, evidence map[string]any) error {
	return s.recordConsent(ctx, s.q.WithTx(tx), workspaceID, contactID,
		ConsentInput{Channel: string(k), Status: StatusOptOut, Evidence: evidence}, source, "consent")
}

// ConsentHistory returns a contact's ledger, oldest first.
func (s *Store) ConsentHistory(ctx context.Context, workspaceID, contactID int64) ([]ConsentEvent, error) {
	if _, err := s.q.ContactGet(ctx, dbq.ContactGetParams{WorkspaceID: workspaceID, ID: contactID}); err != nil {
		return nil, notFound(err)
	}
	rows, err := s.q.ConsentHistory(ctx, dbq.ConsentHistoryParams{WorkspaceID: workspaceID, ContactID: &contactID})
	if err != nil {
		return nil, err
	}
	out := make([]ConsentEvent, len(rows))
	for i, r := range rows {
		out[i] = ConsentEvent{ID: r.ID, Channel: Kind(r.ChannelKind), Status: r.Status, Source: r.Source, At: r.At}
		_ = json.Unmarshal(r.Evidence, &out[i].Evidence)
	}
	return out, nil
}

// Erase deletes a contact and every piece of personal data about them: the contact row, its
// identities and the messages they exchanged go; ledger rows and deliveries lose their link to
// the contact and stay as aggregate evidence; the suppressions, keyed by blind index only, stay
// so that the person is never subscribed again by a later import.
func (s *Store) Erase(ctx context.Context, workspaceID, id int64, by workspaces.Actor) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	q := s.q.WithTx(tx)
	if _, err := q.ErasureMessagesDelete(ctx, dbq.ErasureMessagesDeleteParams{WorkspaceID: workspaceID, ContactID: id}); err != nil {
		return err
	}
	n, err := q.ContactDelete(ctx, dbq.ContactDeleteParams{WorkspaceID: workspaceID, ID: id})
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(pgx.ErrNoRows)
	}
	if err := s.audit.Record(ctx, tx, workspaceID, by, "erase", "contact", id, nil); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// Lookup finds the contact that owns an address, by blind index, without decrypting anything.
func (s *Store) Lookup(ctx context.Context, ws workspaces.Workspace, k Kind, address string) (int64, error) {
	_, rows, err := s.findAddress(ctx, s.q, ws, k, address)
	if err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, notFound(pgx.ErrNoRows)
	}
	return rows[0].ContactID, nil
}

// findAddress normalizes an address of kind k, read in ws's country, and finds through q the
// contacts it belongs to, by blind index.
func (s *Store) findAddress(ctx context.Context, q *dbq.Queries, ws workspaces.Workspace, k Kind, raw string) (address, []dbq.IdentityFindByIndexesRow, error) {
	val, err := NormalizeAddress(k, raw, ws.DefaultCountry)
	if err != nil {
		return address{}, nil, fieldErr(err)
	}
	a := address{k, val, s.index(k, val)}
	found, err := q.IdentityFindByIndexes(ctx, dbq.IdentityFindByIndexesParams{WorkspaceID: ws.ID, Kind: string(k), Indexes: [][]byte{a.index}})
	return a, found, err
}

// createForAddress makes, through q, a contact with no consent whose only identity is a, in
// language (empty for none).
func (s *Store) createForAddress(ctx context.Context, q *dbq.Queries, ws workspaces.Workspace, a address, language string) (int64, error) {
	row, err := q.ContactInsert(ctx, dbq.ContactInsertParams{WorkspaceID: ws.ID, Language: language,
		Tags: []string{}, ChannelOrder: []string{string(a.kind)}})
	if err != nil {
		return 0, err
	}
	_, err = s.addIdentity(ctx, q, ws, row.ID, "", IdentityInput{Kind: string(a.kind), Value: a.value}, "identity")
	return row.ID, err
}

// Suppressed reports whether an address opted out, even if its contact was erased since.
func (s *Store) Suppressed(ctx context.Context, ws workspaces.Workspace, k Kind, address string) (bool, error) {
	val, err := NormalizeAddress(k, address, ws.DefaultCountry)
	if err != nil {
		return false, fieldErr(err)
	}
	hit, err := s.q.SuppressedIndexes(ctx, dbq.SuppressedIndexesParams{WorkspaceID: ws.ID, ChannelKind: string(k), Indexes: [][]byte{s.index(k, val)}})
	return len(hit) > 0, err
}

func notFound(err error) error {
	if errors.Is(db.NotFound(err), db.ErrNotFound) {
		return errcode.Wrap(db.ErrNotFound, errcode.NotFound, "no such contact in this workspace")
	}
	return err
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// ProviderKeyword records, inside tx, an opt-out or opt-in a provider reported for an address
// (Twilio Advanced Opt-Out's OptOutType): verb is "stop" or "start"; anything else is ignored.
// A STOP suppresses the address at once, contact or not, so nothing is sent to it again. A START
// is the person's own keyword relayed by the provider, so it lifts their suppression, but only
// for a known contact: an unknown sender stays suppressed until two-way handling makes them one.
func (s *Store) ProviderKeyword(ctx context.Context, tx pgx.Tx, ws workspaces.Workspace, k Kind, address, verb string, evidence map[string]any) error {
	if verb != "stop" && verb != "start" {
		return nil
	}
	q := s.q.WithTx(tx)
	a, found, err := s.findAddress(ctx, q, ws, k, address)
	if err != nil {
		return err
	}
	status, source := StatusOptIn, SourceKeyword
	if verb == "stop" {
		if err := q.SuppressionInsert(ctx, dbq.SuppressionInsertParams{WorkspaceID: ws.ID, ChannelKind: string(k), ValueIndex: a.index, Source: SourceProvider}); err != nil {
			return err
		}
		status, source = StatusOptOut, SourceProvider
	}
	for _, f := range found {
		if err := s.recordConsent(ctx, q, ws.ID, f.ContactID, ConsentInput{Channel: string(k), Status: status, Evidence: evidence}, source, "consent"); err != nil {
			return err
		}
	}
	return nil
}

// Subscribe records, inside tx, that a person asked for messages on an address themselves (a
// Telegram /start): the contact is found by the address or made, takes language when one is
// given, and gets an opt-in with source keyword, which also lifts an earlier opt-out of theirs.
func (s *Store) Subscribe(ctx context.Context, tx pgx.Tx, ws workspaces.Workspace, k Kind, address, language string, evidence map[string]any) (contactID int64, created bool, err error) {
	q := s.q.WithTx(tx)
	a, found, err := s.findAddress(ctx, q, ws, k, address)
	if err != nil {
		return 0, false, err
	}
	if language != "" {
		if language, err = NormalizeLanguage(language); err != nil {
			return 0, false, fieldErr(err)
		}
	}
	if len(found) > 0 {
		contactID = found[0].ContactID
		if language != "" {
			if err := s.setLanguage(ctx, q, ws.ID, contactID, language); err != nil {
				return 0, false, err
			}
		}
	} else {
		if contactID, err = s.createForAddress(ctx, q, ws, a, language); err != nil {
			return 0, false, err
		}
		created = true
	}
	err = s.recordConsent(ctx, q, ws.ID, contactID, ConsentInput{Channel: string(k), Status: StatusOptIn, Evidence: evidence}, SourceKeyword, "consent")
	return contactID, created, err
}

// SetLanguageByAddress changes the language of the contact an address belongs to, inside tx
// (a language picked from the Telegram menu). It returns the contact, or NotFound.
func (s *Store) SetLanguageByAddress(ctx context.Context, tx pgx.Tx, ws workspaces.Workspace, k Kind, address, language string) (int64, error) {
	q := s.q.WithTx(tx)
	_, found, err := s.findAddress(ctx, q, ws, k, address)
	if err != nil {
		return 0, err
	}
	if language, err = NormalizeLanguage(language); err != nil {
		return 0, fieldErr(err)
	}
	if len(found) == 0 {
		return 0, notFound(pgx.ErrNoRows)
	}
	return found[0].ContactID, s.setLanguage(ctx, q, ws.ID, found[0].ContactID, language)
}

func (s *Store) setLanguage(ctx context.Context, q *dbq.Queries, workspaceID, contactID int64, language string) error {
	row, err := q.ContactGetForUpdate(ctx, dbq.ContactGetForUpdateParams{WorkspaceID: workspaceID, ID: contactID})
	if err != nil {
		return notFound(err)
	}
	cur, err := s.contactFromRow(row)
	if err != nil {
		return err
	}
	v := fromRow(row, cur.Name)
	v.language = language
	return s.writeValues(ctx, q, workspaceID, contactID, v)
}

// EnsureContact returns, inside tx, the contact an address belongs to, making one with no
// consent when the sender is unknown: writing in is not asking for messages. language is the
// new contact's language until the person picks another; the contact's own language is returned,
// and created says the sender was unknown until now.
func (s *Store) EnsureContact(ctx context.Context, tx pgx.Tx, ws workspaces.Workspace, k Kind, address, language string) (id int64, lang string, created bool, err error) {
	q := s.q.WithTx(tx)
	a, found, err := s.findAddress(ctx, q, ws, k, address)
	if err != nil {
		return 0, "", false, err
	}
	if len(found) > 0 {
		row, err := q.ContactGet(ctx, dbq.ContactGetParams{WorkspaceID: ws.ID, ID: found[0].ContactID})
		if err != nil {
			return 0, "", false, err
		}
		return row.ID, row.Language, false, nil
	}
	if id, err = s.createForAddress(ctx, q, ws, a, language); err != nil {
		return 0, "", false, err
	}
	return id, language, true, nil
}

// KeywordConsent records, inside tx, an opt-in or opt-out the person sent as a keyword (STOP,
// START in any language). It is the only source that lifts a suppression.
func (s *Store) KeywordConsent(ctx context.Context, tx pgx.Tx, workspaceID, contactID int64, k Kind, status string, evidence map[string]any) error {
	return s.recordConsent(ctx, s.q.WithTx(tx), workspaceID, contactID,
		ConsentInput{Channel: string(k), Status: status, Evidence: evidence}, SourceKeyword, "consent")
}

// KeywordStop records, inside tx, a STOP the person sent from an address, the moment it is
// stored: the address is suppressed whether or not it belongs to a contact, and a contact's
// ledger gets the opt-out, so no message can go out between storing the STOP and handling it.
func (s *Store) KeywordStop(ctx context.Context, tx pgx.Tx, ws workspaces.Workspace, k Kind, address string, evidence map[string]any) error {
	q := s.q.WithTx(tx)
	a, found, err := s.findAddress(ctx, q, ws, k, address)
	if err != nil {
		return err
	}
	if err := q.SuppressionInsert(ctx, dbq.SuppressionInsertParams{WorkspaceID: ws.ID, ChannelKind: string(k), ValueIndex: a.index, Source: SourceKeyword}); err != nil {
		return err
	}
	for _, f := range found {
		// The same STOP is seen when stored and again when handled; a contact already opted out
		// gets no second row.
		cur, err := q.ConsentCurrent(ctx, dbq.ConsentCurrentParams{WorkspaceID: ws.ID, ContactID: &f.ContactID})
		if err != nil {
			return err
		}
		if slices.ContainsFunc(cur, func(c dbq.ConsentCurrentRow) bool { return c.ChannelKind == string(k) && c.Status == StatusOptOut }) {
			continue
		}
		if err := s.recordConsent(ctx, q, ws.ID, f.ContactID, ConsentInput{Channel: string(k), Status: StatusOptOut, Evidence: evidence}, SourceKeyword, "consent"); err != nil {
			return err
		}
	}
	return nil
}
