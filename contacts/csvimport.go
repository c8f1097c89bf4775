package contacts

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/waymark-org/waymark/internal/errcode"
)

// ErrUnreadable is wrapped by ParseCSV's error when the file as a whole cannot
// be used (no header, no phone or telegram_chat_id column, …), as opposed to
// single bad rows, which are reported as Rejects.
var ErrUnreadable = errors.New("contacts file cannot be read")

// unreadable returns an errcode.Invalid error wrapping ErrUnreadable: the file
// is the user's to fix, and the message says how.
func unreadable(format string, args ...any) error {
	return &errcode.Error{
		Code:    errcode.Invalid,
		Message: ErrUnreadable.Error() + ": " + fmt.Sprintf(format, args...),
		Err:     ErrUnreadable,
	}
}

// ParseOptions are the workspace settings an import depends on.
type ParseOptions struct {
	// DefaultCountry (ISO 3166-1 alpha-2 or alpha-3) is the country in which
	// national-format numbers are read for rows without a country. When empty,
	// such rows are rejected rather than guessed.
	DefaultCountry string
}

// ParsedFile is a contacts CSV file after validation: the rows to import and
// the rows to hand back. The same Phone or TelegramChatID may appear on several
// rows, however differently the file wrote it: such rows are one contact,
// which they update in file order.
type ParsedFile struct {
	Header     []string // the header cells as read, for WriteRejects
	Unknown    []string // names of columns Waymark does not know, to report; their cells are ignored
	HasConsent bool     // the file has a consent column, so rows may carry consent
	Rows       []Row    // valid rows, in file order
	Rejects    []Reject // rejected rows, in file order
}

// Row is one valid contact row, every value normalised to the form Waymark
// stores. Optional values the row leaves empty are "" (nil for Tags and
// Consent); the workspace default country is not filled in, because it is only
// a guess for reading numbers, not a fact about the person.
type Row struct {
	Line           int      // physical line where the record starts; the header is line 1
	Name           string   // as written, trimmed; never otherwise changed
	Language       string   // canonical BCP-47 tag, see NormalizeLanguage
	Country        string   // ISO 3166-1 alpha-2
	AdminArea      string   // ISO 3166-2 code within Country when Country is set
	TimeZone       string   // IANA name
	AgeBand        string   // CTDC age band, see AgeBands
	Sex            string   // HTCDS prs_Gender value, see Sexes
	Tags           []string // see NormalizeTags
	Phone          string   // E.164, or "" for a Telegram-only contact
	TelegramChatID string   // decimal chat id, or ""
	Sandbox        string   // a sandbox address; not a CSV column, set by ImportRows callers
	Consent        *bool    // the file's answer; nil without a consent column or with an empty cell
	Record         []string // the cells as read, for a reject only the database can find
}

// Reject is a row that was not imported. Reason never repeats the row's
// values: reports are shown and logged, and names and numbers are personal
// data. Record carries them back to the user through WriteRejects.
type Reject struct {
	Line   int      // physical line where the record starts; the header is line 1
	Column string   // the column at fault, such as "phone"; "" when it is the whole row
	Reason string   // a sentence saying what to fix
	Record []string // the row's cells as read
}

// Columns ParseCSV understands. Header names are matched case-insensitively
// after trimming spaces.
var knownColumns = map[string]bool{
	fieldPhone: true, fieldName: true, fieldLanguage: true, fieldCountry: true,
	fieldAdminArea: true, fieldTimeZone: true, fieldTags: true, fieldAgeBand: true,
	fieldSex: true, fieldTelegramChatID: true, fieldConsent: true,
}

// The columns WriteRejects adds. A corrected rejects file is meant to be
// imported again as it is, so ParseCSV skips them instead of reporting them.
const (
	rejectsLineColumn   = "line"
	rejectsReasonColumn = "reason"
)

var (
	utf8BOM    = []byte{0xEF, 0xBB, 0xBF}
	utf16LEBOM = []byte{0xFF, 0xFE}
	utf16BEBOM = []byte{0xFE, 0xFF}
)

// ParseCSV reads a contacts CSV file (UTF-8 with or without a byte order mark,
// CRLF or LF line endings) and validates every row. Valid rows are returned in
// Rows and every other row in Rejects, with its line, column and reason; a bad
// row never stops the import.
//
// The error is non-nil only when nothing can be imported: then it wraps
// ErrUnreadable (empty file, header not UTF-8 or not valid CSV, duplicate
// column names, neither a phone nor a telegram_chat_id column), or it is the
// reader's own error, or opts.DefaultCountry is not a country code.
//
// Rows are checked country first, because a national-format phone number is
// read in the row's country, else in opts.DefaultCountry, and the admin area
// must belong to the row's country. A row needs a phone number or a Telegram
// chat id. Rows whose cells are all blank, as spreadsheets leave at the end,
// are skipped silently. Header cells that are blank are ignored with their
// column.
//
// A record that is not valid CSV is rejected as a whole and reading goes on
// with the next line. A stray quote inside an unquoted field costs only its
// own line. A quoted field that is never closed runs to the end of the file,
// as CSV defines it, so everything from its line on becomes that one reject.
func ParseCSV(r io.Reader, opts ParseOptions) (*ParsedFile, error) {
	p := &rowParser{}
	if strings.TrimSpace(opts.DefaultCountry) != "" {
		c, err := NormalizeCountry(opts.DefaultCountry)
		if err != nil {
			return nil, fmt.Errorf("contacts: default country: %w", err)
		}
		p.defaultCountry = c
	}

	br := bufio.NewReader(r)
	start, err := br.Peek(len(utf8BOM))
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("contacts: reading file: %w", err)
	}
	switch {
	case bytes.HasPrefix(start, utf8BOM):
		_, _ = br.Discard(len(utf8BOM)) // cannot fail: the bytes are buffered
	case bytes.HasPrefix(start, utf16LEBOM), bytes.HasPrefix(start, utf16BEBOM):
		return nil, unreadable("the file is UTF-16 text; save it as CSV UTF-8")
	}

	tap := &tapReader{r: br}
	cr := csv.NewReader(tap)
	cr.FieldsPerRecord = -1 // a short or long row is one reject, not the end of the file
	cr.ReuseRecord = true   // cells are strings, so only rejects need a copy

	header, err := cr.Read()
	if err != nil {
		if err == io.EOF {
			return nil, unreadable("the file is empty")
		}
		if pe, ok := errors.AsType[*csv.ParseError](err); ok {
			end := cr.InputOffset()
			return nil, unreadable("the header line is %s", syntaxReason(pe, tap.text(0, end), tap.readAll(end)))
		}
		return nil, fmt.Errorf("contacts: reading file: %w", err)
	}
	out := &ParsedFile{Header: slices.Clone(header)}
	if err := p.readHeader(out); err != nil {
		return nil, err
	}
	tap.forget(cr.InputOffset())

	for {
		begin := cr.InputOffset()
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		end := cr.InputOffset()
		if pe, ok := errors.AsType[*csv.ParseError](err); ok {
			raw := tap.text(begin, end)
			out.Rejects = append(out.Rejects, Reject{
				Line:   pe.StartLine,
				Reason: syntaxReason(pe, raw, tap.readAll(end)),
				Record: rawCells(raw),
			})
			tap.forget(end)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("contacts: reading file: %w", err)
		}
		tap.forget(end)
		line, _ := cr.FieldPos(0)
		if blank(rec) {
			continue
		}
		row, reject := p.parseRow(rec)
		if reject != nil {
			reject.Line = line
			reject.Record = slices.Clone(rec)
			out.Rejects = append(out.Rejects, *reject)
			continue
		}
		row.Line = line
		row.Record = slices.Clone(rec)
		out.Rows = append(out.Rows, row)
	}
	return out, nil
}

// rowParser holds what every row is checked against.
type rowParser struct {
	defaultCountry string
	width          int            // number of header cells
	names          []string       // normalised header name per column ("" for blank)
	index          map[string]int // known column name -> position
}

func (p *rowParser) readHeader(out *ParsedFile) error {
	p.width = len(out.Header)
	p.names = make([]string, len(out.Header))
	p.index = make(map[string]int, len(knownColumns))
	seen := make(map[string]bool, len(out.Header))
	for i, cell := range out.Header {
		if !utf8.ValidString(cell) {
			return unreadable("the header is not UTF-8 text; save the file as CSV UTF-8")
		}
		name := strings.ToLower(strings.TrimSpace(cell))
		p.names[i] = name
		if name == "" {
			continue
		}
		if seen[name] {
			return unreadable("column %q appears twice in the header", name)
		}
		seen[name] = true
		switch {
		case knownColumns[name]:
			p.index[name] = i
		case name == rejectsLineColumn || name == rejectsReasonColumn:
			// From a rejects file handed back: neither used nor reported.
		default:
			out.Unknown = append(out.Unknown, strings.TrimSpace(cell))
		}
	}
	_, out.HasConsent = p.index[fieldConsent]
	_, hasPhone := p.index[fieldPhone]
	_, hasTelegram := p.index[fieldTelegramChatID]
	if !hasPhone && !hasTelegram {
		hint := ""
		if len(out.Header) == 1 && strings.Contains(out.Header[0], ";") {
			hint = " (the header looks separated by semicolons; save the file as comma-separated CSV)"
		}
		return unreadable("the header has neither a phone nor a telegram_chat_id column%s", hint)
	}
	return nil
}

// cell returns the trimmed cell of a known column, or "" when the file has no
// such column.
func (p *rowParser) cell(rec []string, name string) string {
	if i, ok := p.index[name]; ok {
		return strings.TrimSpace(rec[i])
	}
	return ""
}

// parseRow validates one record. On failure it returns the first fault found,
// in the order below, which puts the values others depend on first.
func (p *rowParser) parseRow(rec []string) (Row, *Reject) {
	if len(rec) != p.width {
		return Row{}, &Reject{Reason: fmt.Sprintf("the row has %d fields, but the header has %d", len(rec), p.width)}
	}
	for i, c := range rec {
		if !utf8.ValidString(c) {
			return Row{}, &Reject{Column: p.names[i], Reason: "is not UTF-8 text; save the file as CSV UTF-8"}
		}
		if strings.IndexByte(c, 0) >= 0 {
			return Row{}, &Reject{Column: p.names[i], Reason: "contains a NUL character"}
		}
	}

	var row Row
	var err error
	if c := p.cell(rec, fieldCountry); c != "" {
		if row.Country, err = NormalizeCountry(c); err != nil {
			return Row{}, fieldReject(err)
		}
	}
	region := row.Country
	if region == "" {
		region = p.defaultCountry
	}
	if c := p.cell(rec, fieldPhone); c != "" {
		if row.Phone, err = NormalizePhone(c, region); err != nil {
			return Row{}, fieldReject(err)
		}
	}
	if c := p.cell(rec, fieldTelegramChatID); c != "" {
		if row.TelegramChatID, err = NormalizeTelegramChatID(c); err != nil {
			return Row{}, fieldReject(err)
		}
	}
	if row.Phone == "" && row.TelegramChatID == "" {
		col := fieldPhone
		if _, ok := p.index[fieldPhone]; !ok {
			col = fieldTelegramChatID
		}
		return Row{}, &Reject{Column: col, Reason: "a phone number or a telegram_chat_id is required"}
	}
	if c := p.cell(rec, fieldAdminArea); c != "" {
		if row.AdminArea, err = NormalizeAdminArea(c, row.Country); err != nil {
			return Row{}, fieldReject(err)
		}
	}
	if c := p.cell(rec, fieldLanguage); c != "" {
		if row.Language, err = NormalizeLanguage(c); err != nil {
			return Row{}, fieldReject(err)
		}
	}
	if c := p.cell(rec, fieldTimeZone); c != "" {
		if row.TimeZone, err = NormalizeTimeZone(c); err != nil {
			return Row{}, fieldReject(err)
		}
	}
	if row.Tags, err = NormalizeTags(p.cell(rec, fieldTags)); err != nil {
		return Row{}, fieldReject(err)
	}
	if c := p.cell(rec, fieldAgeBand); c != "" {
		if row.AgeBand, err = NormalizeAgeBand(c); err != nil {
			return Row{}, fieldReject(err)
		}
	}
	if c := p.cell(rec, fieldSex); c != "" {
		if row.Sex, err = NormalizeSex(c); err != nil {
			return Row{}, fieldReject(err)
		}
	}
	if c := p.cell(rec, fieldConsent); c != "" {
		v, err := parseConsent(c)
		if err != nil {
			return Row{}, fieldReject(err)
		}
		row.Consent = new(v)
	}
	row.Name = p.cell(rec, fieldName)
	return row, nil
}

func fieldReject(err error) *Reject {
	if fe, ok := errors.AsType[*FieldError](err); ok {
		return &Reject{Column: fe.Field, Reason: fe.Reason}
	}
	return &Reject{Reason: err.Error()}
}

// parseConsent reads a consent cell. Anything but a clear yes or no is an
// error, because consent recorded from a guess is not consent.
func parseConsent(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "yes", "y", "true", "1":
		return true, nil
	case "no", "n", "false", "0":
		return false, nil
	}
	return false, invalid(fieldConsent, "must be yes or no (also accepted: y, n, true, false, 1, 0)")
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// syntaxReason explains a CSV syntax error in words a spreadsheet user can act
// on. raw is the text the reader consumed for the record and atEOF says that
// was the rest of the file: with an odd number of quotes in it, a quoted field
// was never closed.
func syntaxReason(pe *csv.ParseError, raw []byte, atEOF bool) string {
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return `not valid CSV: a field that does not start with a quote contains one; quote the whole field and double the quotes inside it ("")`
	case errors.Is(pe.Err, csv.ErrQuote) && atEOF && bytes.Count(raw, []byte{'"'})%2 == 1:
		return "not valid CSV: a quoted field starting on this line is never closed, so the rest of the file was read as part of this row"
	case errors.Is(pe.Err, csv.ErrQuote):
		return `not valid CSV: a closing quote must be followed by a comma or the end of the line; double any quote inside a quoted field ("")`
	}
	return "not valid CSV: " + pe.Err.Error()
}

// rawCells splits the text of a record that is not valid CSV as leniently as
// possible, so that the rejects file shows the user's cells rather than one
// lump; failing that, the whole text is one cell.
func rawCells(raw []byte) []string {
	// Without a final line break, so that a field left open does not end with one.
	raw = bytes.TrimRight(raw, "\r\n")
	lenient := csv.NewReader(bytes.NewReader(raw))
	lenient.LazyQuotes = true
	lenient.FieldsPerRecord = -1
	if recs, err := lenient.ReadAll(); err == nil && len(recs) == 1 {
		return recs[0]
	}
	// Not expected: read leniently, the text of one failed record is one record.
	return []string{string(bytes.TrimLeft(raw, "\r\n"))}
}

// tapReader keeps the bytes the CSV reader has taken but not yet finished
// with, addressed by the reader's input offsets, so that a record that fails
// to parse can be handed back as the text it was.
type tapReader struct {
	r    io.Reader
	buf  []byte // input from offset base on
	base int64
	eof  bool
}

func (t *tapReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.buf = append(t.buf, p[:n]...)
	if err == io.EOF {
		t.eof = true
	}
	return n, err
}

// text returns the input between two offsets not yet forgotten.
func (t *tapReader) text(from, to int64) []byte { return t.buf[from-t.base : to-t.base] }

// forget drops the input before offset off.
func (t *tapReader) forget(off int64) {
	t.buf = t.buf[off-t.base:]
	t.base = off
}

// readAll reports whether offset off is the end of the input.
func (t *tapReader) readAll(off int64) bool { return t.eof && off == t.base+int64(len(t.buf)) }

// WriteRejects writes rejected rows as CSV: columns line and reason, then the
// original header and each rejected record as it was read, so the user can fix
// the rows and import the file again (ParseCSV skips line and reason). Line
// and reason come first because a rejected record may have the wrong number of
// cells. Line and reason columns already in header, from an earlier rejects
// file, are replaced. The output starts with a UTF-8 byte order mark, without
// which spreadsheet programs misread non-Latin scripts.
//
// The output contains the user's own data (names, numbers) and belongs next to
// the file they imported, never in logs.
func WriteRejects(w io.Writer, header []string, rejects []Reject) error {
	var drop []int
	for i, h := range header {
		if n := strings.ToLower(strings.TrimSpace(h)); n == rejectsLineColumn || n == rejectsReasonColumn {
			drop = append(drop, i)
		}
	}
	keep := func(cells []string) []string {
		out := make([]string, 0, len(cells)+2)
		for i, c := range cells {
			if !slices.Contains(drop, i) {
				out = append(out, c)
			}
		}
		return out
	}

	if _, err := w.Write(utf8BOM); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(append([]string{rejectsLineColumn, rejectsReasonColumn}, keep(header)...)); err != nil {
		return err
	}
	for _, rj := range rejects {
		reason := rj.Reason
		if rj.Column != "" {
			reason = rj.Column + ": " + reason
		}
		if err := cw.Write(append([]string{strconv.Itoa(rj.Line), reason}, keep(rj.Record)...)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// RejectsPath names the rejects file for an imported file: contacts.csv gives
// contacts.rejected.csv, in the same folder.
func RejectsPath(csvPath string) string {
	if ext := filepath.Ext(csvPath); strings.EqualFold(ext, ".csv") {
		csvPath = strings.TrimSuffix(csvPath, ext)
	}
	return csvPath + ".rejected.csv"
}
