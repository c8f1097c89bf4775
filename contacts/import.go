package contacts

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/waymark-org/waymark/contacts/internal/dbq"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/workspaces"
)

// ImportOptions say how to read a file and where its consent came from.
type ImportOptions struct {
	// DefaultCountry reads national numbers of rows without a country; empty means the
	// workspace's default country.
	DefaultCountry string
	// ConsentSource says where and how the people in the file gave or refused consent (a paper
	// form, an event, a partner's records). A file whose consent column says yes or no is
	// refused without it, because a ledger entry without a source is no evidence.
	ConsentSource string
	Actor         workspaces.Actor
}

// ImportReport says what an import did. It never holds names or numbers.
type ImportReport struct {
	Rows              int      `json:"rows"`
	Created           int      `json:"created"`
	Updated           int      `json:"updated"`
	Rejected          int      `json:"rejected"`
	UnknownColumns    []string `json:"unknown_columns"`
	ConsentRecorded   int      `json:"consent_recorded"`
	ConsentSuppressed int      `json:"consent_suppressed"`
	Rejects           []Reject `json:"-"`
	Header            []string `json:"-"`
}

// batchSize bounds the rows handled per round trip.
const batchSize = 2000

// importLockKey serialises imports per workspace, so that two files adding the same new number at
// once cannot both create a contact for it.
const importLockKey = 0x636f6e74 // "cont"

// Import reads a contacts CSV and imports its valid rows in one transaction: a row whose number
// or chat id the workspace already knows (in any format, from this file or an earlier one)
// updates that contact; the rest become new contacts. Rejected rows are reported, never fatal.
// The error is non-nil only when nothing could be imported (unreadable file, database failure).
func (s *Store) Import(ctx context.Context, ws workspaces.Workspace, r io.Reader, opts ImportOptions) (*ImportReport, error) {
	country := opts.DefaultCountry
	if country == "" {
		country = ws.DefaultCountry
	}
	pf, err := ParseCSV(r, ParseOptions{DefaultCountry: country})
	if err != nil {
		return nil, errcode.Wrap(err, errcode.Invalid, "%v", err)
	}
	rep := &ImportReport{Rows: len(pf.Rows) + len(pf.Rejects), UnknownColumns: orEmpty(pf.Unknown),
		Rejects: pf.Rejects, Header: pf.Header}
	if err := s.importRows(ctx, ws, pf.Rows, opts, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

// ImportRows imports rows that are already valid (the demo and benchmarks build them in memory)
// exactly as a file's rows are imported.
func (s *Store) ImportRows(ctx context.Context, ws workspaces.Workspace, rows []Row, opts ImportOptions) (*ImportReport, error) {
	rep := &ImportReport{Rows: len(rows), UnknownColumns: []string{}}
	if err := s.importRows(ctx, ws, rows, opts, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

func (s *Store) importRows(ctx context.Context, ws workspaces.Workspace, rows []Row, opts ImportOptions, rep *ImportReport) error {
	hasConsent := slices.ContainsFunc(rows, func(r Row) bool { return r.Consent != nil })
	source := strings.TrimSpace(opts.ConsentSource)
	if hasConsent && source == "" {
		return errcode.Field("consent_source", "the file records consent: say where it was given (for example \"paper form, Addis Ababa office, 2026-10\")")
	}
	if len(source) > 500 {
		return errcode.Field("consent_source", "at most 500 characters")
	}

	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, $2)", importLockKey, int32(ws.ID)); err != nil {
		return err
	}
	imp := &importer{s: s, q: s.q.WithTx(tx), ws: ws, source: source, rep: rep, known: map[string]int64{}}
	for start := 0; start < len(rows); start += batchSize {
		end := min(start+batchSize, len(rows))
		if err := imp.batch(ctx, rows[start:end]); err != nil {
			return err
		}
	}
	slices.SortFunc(rep.Rejects, func(a, b Reject) int { return a.Line - b.Line })
	rep.Rejected = len(rep.Rejects)
	if err := s.audit.Record(ctx, tx, ws.ID, opts.Actor, "import", "contacts", 0, map[string]any{
		"rows": rep.Rows, "created": rep.Created, "updated": rep.Updated, "rejected": rep.Rejected,
		"consent_recorded": rep.ConsentRecorded, "consent_source": source}); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	return s.analyzeAfter(ctx, rep.Created+rep.Updated)
}

// analyzeThreshold is how many imported rows make statistics worth refreshing at once.
const analyzeThreshold = 10000

// analyzeAfter refreshes the planner's statistics on the contact tables after an import that
// wrote at least analyzeThreshold rows and a tenth of the table (autovacuum's own rule), or into
// a table never analysed. Autovacuum gets there too, but up to minutes later, and a campaign sent
// right after importing a million contacts would be planned on empty-table statistics.
func (s *Store) analyzeAfter(ctx context.Context, written int) error {
	if written < analyzeThreshold {
		return nil
	}
	var known float64
	if err := s.pool.QueryRow(ctx, "SELECT reltuples FROM pg_class WHERE oid = 'contacts'::regclass").Scan(&known); err != nil {
		return err
	}
	if known >= 0 && float64(written)*10 < known {
		return nil
	}
	_, err := s.pool.Exec(ctx, "ANALYZE contacts, contact_identities, consent_events")
	return err
}

type importer struct {
	s      *Store
	q      *dbq.Queries
	ws     workspaces.Workspace
	source string
	rep    *ImportReport
	// known maps kind+blind index to the contact that owns it, for addresses seen in this file
	// or found in the database; 0 marks a new contact of the current batch not yet given an id.
	known map[string]int64
}

type address struct {
	kind  Kind
	value string
	index []byte
}

func (a address) key() string { return string(a.kind) + ":" + string(a.index) }

func (im *importer) addresses(r Row) []address {
	var out []address
	if r.Phone != "" {
		out = append(out, address{KindSMS, r.Phone, im.s.index(KindSMS, r.Phone)})
	}
	if r.TelegramChatID != "" {
		out = append(out, address{KindTelegram, r.TelegramChatID, im.s.index(KindTelegram, r.TelegramChatID)})
	}
	if r.Sandbox != "" {
		out = append(out, address{KindSandbox, r.Sandbox, im.s.index(KindSandbox, r.Sandbox)})
	}
	return out
}

// pending is one contact the batch creates or updates.
type pending struct {
	id      int64 // 0 until allocated, for new contacts
	isNew   bool
	v       values
	addrs   []address // addresses to add
	consent map[Kind]bool
	lines   []int
}

func (im *importer) batch(ctx context.Context, rows []Row) error {
	addrs := make([][]address, len(rows))
	lookup := map[Kind][][]byte{}
	for i, r := range rows {
		addrs[i] = im.addresses(r)
		for _, a := range addrs[i] {
			if _, ok := im.known[a.key()]; !ok {
				lookup[a.kind] = append(lookup[a.kind], a.index)
			}
		}
	}
	for k, idx := range lookup {
		found, err := im.q.IdentityFindByIndexes(ctx, dbq.IdentityFindByIndexesParams{WorkspaceID: im.ws.ID, Kind: string(k), Indexes: idx})
		if err != nil {
			return err
		}
		for _, f := range found {
			im.known[string(k)+":"+string(f.ValueIndex)] = f.ContactID
		}
	}

	// Existing contacts touched by this batch, loaded and locked once.
	var existingIDs []int64
	for _, as := range addrs {
		for _, a := range as {
			if id := im.known[a.key()]; id > 0 && !slices.Contains(existingIDs, id) {
				existingIDs = append(existingIDs, id)
			}
		}
	}
	existing := map[int64]*pending{}
	if len(existingIDs) > 0 {
		cur, err := im.q.ContactGetMany(ctx, dbq.ContactGetManyParams{WorkspaceID: im.ws.ID, Ids: existingIDs})
		if err != nil {
			return err
		}
		for _, c := range cur {
			name := ""
			if c.NameEnc != nil {
				if name, err = im.s.keys.DecryptString(c.NameEnc, NameAAD); err != nil {
					return fmt.Errorf("decrypt name of contact %d: %w", c.ID, err)
				}
			}
			existing[c.ID] = &pending{id: c.ID, v: fromRow(c, name), consent: map[Kind]bool{}}
		}
	}

	var fresh []*pending
	newByKey := map[string]*pending{}
	for i, r := range rows {
		var target *pending
		conflict := false
		for _, a := range addrs[i] {
			var p *pending
			if id := im.known[a.key()]; id > 0 {
				p = existing[id]
			} else if np, ok := newByKey[a.key()]; ok {
				p = np
			}
			if p == nil {
				continue
			}
			if target != nil && target != p {
				conflict = true
			}
			target = p
		}
		if conflict {
			im.rep.Rejects = append(im.rep.Rejects, Reject{Line: r.Line, Column: "telegram_chat_id", Record: r.Record,
				Reason: "the phone number and the Telegram chat id belong to two different contacts; import them on separate rows"})
			continue
		}
		if target == nil {
			target = &pending{isNew: true, consent: map[Kind]bool{}}
			fresh = append(fresh, target)
		} else {
			// Counted per row: a number repeated in the file updates the contact its first row made.
			im.rep.Updated++
		}
		mergeRow(&target.v, r)
		for _, a := range addrs[i] {
			if _, ok := im.known[a.key()]; !ok {
				if _, ok := newByKey[a.key()]; !ok {
					target.addrs = append(target.addrs, a)
					newByKey[a.key()] = target
				}
			}
		}
		if r.Consent != nil {
			for _, a := range addrs[i] {
				target.consent[a.kind] = *r.Consent
			}
		}
		target.lines = append(target.lines, r.Line)
	}

	// New contacts: ids first, then COPY of contacts and identities.
	if len(fresh) > 0 {
		ids, err := im.q.ContactIDsAllocate(ctx, int32(len(fresh)))
		if err != nil {
			return err
		}
		params := make([]dbq.ContactCopyInParams, len(fresh))
		for i, p := range fresh {
			p.id = ids[i]
			enc, err := im.s.encryptName(p.v.name)
			if err != nil {
				return err
			}
			params[i] = dbq.ContactCopyInParams{ID: p.id, WorkspaceID: im.ws.ID, NameEnc: enc, Language: p.v.language,
				Country: p.v.country, AdminArea: p.v.adminArea, TimeZone: p.v.timeZone, Tags: orEmpty(p.v.tags),
				AgeBand: p.v.age, Sex: p.v.sex, ChannelOrder: kindsToText(p.v.order)}
		}
		if _, err := im.q.ContactCopyIn(ctx, params); err != nil {
			return err
		}
		im.rep.Created += len(fresh)
	}
	for _, p := range existing {
		if len(p.lines) == 0 {
			continue
		}
		if err := im.s.writeValues(ctx, im.q, im.ws.ID, p.id, p.v); err != nil {
			return err
		}
	}
	var idParams []dbq.IdentityCopyInParams
	all := slices.Clone(fresh)
	for _, p := range mapValues(existing) {
		if len(p.lines) > 0 {
			all = append(all, p)
		}
	}
	for _, p := range all {
		for _, a := range p.addrs {
			enc, err := im.s.keys.EncryptString(a.value, IdentityAAD(a.kind))
			if err != nil {
				return err
			}
			idParams = append(idParams, dbq.IdentityCopyInParams{WorkspaceID: im.ws.ID, ContactID: p.id,
				Kind: string(a.kind), ValueEnc: enc, ValueIndex: a.index})
			im.known[a.key()] = p.id
		}
	}
	if len(idParams) > 0 {
		if _, err := im.q.IdentityCopyIn(ctx, idParams); err != nil {
			return err
		}
	}
	return im.consent(ctx, all)
}

// consent writes the file's consent answers. An opt-in for an address that opted out is not
// recorded: only the person's own START lifts a suppression. A "no" is an opt-out and
// suppresses the addresses, the safe reading of a refusal.
func (im *importer) consent(ctx context.Context, all []*pending) error {
	idxOf := map[*pending]map[Kind][][]byte{}
	lookup := map[Kind][][]byte{}
	for _, p := range all {
		if len(p.consent) == 0 {
			continue
		}
		m := map[Kind][][]byte{}
		if p.isNew {
			for _, a := range p.addrs {
				m[a.kind] = append(m[a.kind], a.index)
			}
		} else {
			ids, err := im.q.IdentitiesByContact(ctx, dbq.IdentitiesByContactParams{WorkspaceID: im.ws.ID, ContactID: p.id})
			if err != nil {
				return err
			}
			for _, r := range ids {
				m[Kind(r.Kind)] = append(m[Kind(r.Kind)], r.ValueIndex)
			}
		}
		idxOf[p] = m
		for k, idx := range m {
			lookup[k] = append(lookup[k], idx...)
		}
	}
	suppressed := map[string]bool{}
	for k, idx := range lookup {
		hit, err := im.q.SuppressedIndexes(ctx, dbq.SuppressedIndexesParams{WorkspaceID: im.ws.ID, ChannelKind: string(k), Indexes: idx})
		if err != nil {
			return err
		}
		for _, h := range hit {
			suppressed[string(k)+":"+string(h)] = true
		}
	}
	var events []dbq.ConsentCopyInParams
	for _, p := range all {
		for _, k := range Kinds {
			yes, ok := p.consent[k]
			if !ok {
				continue
			}
			idx := idxOf[p][k]
			status := StatusOptIn
			if yes {
				if slices.ContainsFunc(idx, func(i []byte) bool { return suppressed[string(k)+":"+string(i)] }) {
					im.rep.ConsentSuppressed++
					continue
				}
			} else {
				status = StatusOptOut
				for _, i := range idx {
					if err := im.q.SuppressionInsert(ctx, dbq.SuppressionInsertParams{WorkspaceID: im.ws.ID, ChannelKind: string(k), ValueIndex: i, Source: SourceImport}); err != nil {
						return err
					}
				}
			}
			ev, err := json.Marshal(map[string]any{"import": im.source, "line": p.lines[len(p.lines)-1]})
			if err != nil {
				return err
			}
			id := p.id
			events = append(events, dbq.ConsentCopyInParams{WorkspaceID: im.ws.ID, ContactID: &id,
				ChannelKind: string(k), Status: status, Source: SourceImport, Evidence: ev})
		}
	}
	if len(events) > 0 {
		if _, err := im.q.ConsentCopyIn(ctx, events); err != nil {
			return err
		}
		im.rep.ConsentRecorded += len(events)
	}
	return nil
}

// mergeRow writes a row's non-empty cells over v; tags are added to those the contact has.
func mergeRow(v *values, r Row) {
	set := func(dst *string, src string) {
		if src != "" {
			*dst = src
		}
	}
	set(&v.name, r.Name)
	set(&v.language, r.Language)
	if r.Country != "" && r.Country != v.country {
		v.country = r.Country
		if r.AdminArea == "" {
			v.adminArea = "" // an admin area of the old country no longer fits
		}
	}
	set(&v.adminArea, r.AdminArea)
	set(&v.timeZone, r.TimeZone)
	set(&v.age, r.AgeBand)
	set(&v.sex, r.Sex)
	for _, t := range r.Tags {
		if !slices.Contains(v.tags, t) {
			v.tags = append(v.tags, t)
		}
	}
	if len(v.order) == 0 {
		if r.Phone != "" {
			v.order = append(v.order, KindSMS)
		}
		if r.TelegramChatID != "" {
			v.order = append(v.order, KindTelegram)
		}
		if r.Sandbox != "" {
			v.order = append(v.order, KindSandbox)
		}
	}
}

func mapValues(m map[int64]*pending) []*pending {
	out := make([]*pending, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *pending) int { return int(a.id - b.id) })
	return out
}
