package campaigns

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
	"unicode"
	"unicode/utf8"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/locales"
)

// Body is a campaign's text in one language. Other is always required. Zero,
// One, Two, Few and Many are CLDR plural forms: they are given only when the
// text uses {{.Count}}, and then exactly those the language's plural rules
// select for a whole number, so a count always finds its sentence.
type Body struct {
	Zero  string `json:"zero,omitempty"`
	One   string `json:"one,omitempty"`
	Two   string `json:"two,omitempty"`
	Few   string `json:"few,omitempty"`
	Many  string `json:"many,omitempty"`
	Other string `json:"other"`
}

// forms returns the texts in formNames order.
func (b Body) forms() [numForms]string {
	return [numForms]string{b.Zero, b.One, b.Two, b.Few, b.Many, b.Other}
}

// Contents maps a canonical BCP-47 language tag (as contacts.NormalizeLanguage
// returns it, so that it matches contacts' stored languages) to its Body.
type Contents map[string]Body

// TemplateVariables are the fields a campaign template may use:
//
//   - {{.Name}}: the contact's name, "" when unknown, so a greeting should be
//     written as {{if .Name}}…{{end}};
//   - {{.Hotline}}: the workspace's hotline number;
//   - {{.OptOut}}: the opt-out hint from package locales in the message's
//     language, for authors who want it somewhere other than the end;
//   - {{.Count}}: the campaign's count number, which selects the plural form.
var TemplateVariables = []string{"Name", "Hotline", "OptOut", "Count"}

// templateData is what every campaign text executes against. Its fields are
// TemplateVariables; the validator rejects any other name, so an execution
// can never meet a missing field. Count is a plain field because go-i18n
// only fills .PluralCount itself when TemplateData is nil.
type templateData struct {
	Name    string
	Hotline string
	OptOut  string
	Count   int
}

// bodyMessageID is the one go-i18n message a campaign defines per language.
const bodyMessageID = "campaign.body"

// templateName names parsed campaign texts; it appears in text/template's
// error messages, which are parsed back into positions.
const templateName = "body"

// CLDR's plural categories in go-i18n's order; ContentError.Form uses these
// names.
const numForms = 6

var formNames = [numForms]string{"zero", "one", "two", "few", "many", "other"}

const formOther = numForms - 1

func formIndex(name string) int {
	return slices.Index(formNames[:], name)
}

// allowedFuncs are the text/template builtins a campaign may call: logic,
// comparison, len and formatting. The others are refused: call, index and
// slice reach into data a campaign text has no business with, html, js and
// urlquery escape for contexts an SMS is not, and range, template, define and
// block (keywords, rejected as nodes) would turn a message into a program.
var allowedFuncs = []string{"and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len", "print", "printf"}

// ContentError is one problem in a campaign's contents, placed so that the
// author can find it: Form is "" when the problem is the language tag itself,
// Line and Column (1-based; columns count characters, not bytes, because that
// is what editors show for Amharic or Arabic text) are 0 when the problem is
// not at one place in the text.
type ContentError struct {
	Language string `json:"language"`
	Form     string `json:"form,omitempty"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
	Message  string `json:"message"`
}

// Error reads like `am (other) line 1, column 14: unknown variable .Nmae`.
func (e ContentError) Error() string {
	var b strings.Builder
	b.WriteString(e.Language)
	if e.Form != "" {
		b.WriteString(" (" + e.Form + ")")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d, column %d", e.Line, e.Column)
	}
	b.WriteString(": " + e.Message)
	return b.String()
}

// ValidateContents checks every language and form the way they will be sent,
// so that a broken text is rejected when the campaign is saved rather than
// discovered while it is being sent: the language tag must be canonical,
// Other must have text, each text must parse as go-i18n parses it and use
// only TemplateVariables and harmless builtins, the plural forms must be
// exactly those the language needs when the text uses {{.Count}}, and each
// form is executed with sample data to catch type errors. It returns every
// problem, sorted by language, then form, then position.
func ValidateContents(c Contents) []ContentError {
	errs, _ := checkContents(c)
	return errs
}

// formInfo records which variables one form uses.
type formInfo struct {
	usesCount, usesOptOut, usesHotline bool
}

// languageInfo is what validation learns about one language's Body, which
// NewRenderer needs to prepare it.
type languageInfo struct {
	forms     [numForms]formInfo
	usesCount bool
	plurals   *pluralRule
}

// checkContents validates c and returns what it learnt about each valid
// language.
func checkContents(c Contents) ([]ContentError, map[string]*languageInfo) {
	var errs []ContentError
	infos := make(map[string]*languageInfo, len(c))
	for lang, body := range c {
		langErrs, info := checkLanguage(lang, body)
		errs = append(errs, langErrs...)
		if len(langErrs) == 0 {
			infos[lang] = info
		}
	}
	slices.SortFunc(errs, func(a, b ContentError) int {
		if n := strings.Compare(a.Language, b.Language); n != 0 {
			return n
		}
		if n := formIndex(a.Form) - formIndex(b.Form); n != 0 {
			return n
		}
		if n := a.Line - b.Line; n != 0 {
			return n
		}
		if n := a.Column - b.Column; n != 0 {
			return n
		}
		return strings.Compare(a.Message, b.Message)
	})
	return errs, infos
}

// checkLanguage validates one language's Body.
func checkLanguage(lang string, body Body) ([]ContentError, *languageInfo) {
	var errs []ContentError
	fail := func(form string, line, col int, format string, args ...any) {
		errs = append(errs, ContentError{Language: lang, Form: form, Line: line, Column: col, Message: fmt.Sprintf(format, args...)})
	}

	canon, err := contacts.NormalizeLanguage(lang)
	switch {
	case err != nil:
		reason := err.Error()
		if fe, ok := errors.AsType[*contacts.FieldError](err); ok {
			reason = fe.Reason
		}
		if strings.HasPrefix(reason, "not ") {
			reason = "is " + reason
		}
		fail("", 0, 0, "the language tag %s", reason)
	case canon != lang:
		// Contacts store canonical tags; a key in another spelling would
		// never match them and would make two keys for one language possible.
		fail("", 0, 0, "write the language tag as %s", canon)
	}

	info := &languageInfo{}
	texts := body.forms()
	var walks [numForms]*templateWalk
	for i, text := range texts {
		form := formNames[i]
		if strings.TrimSpace(text) == "" {
			switch {
			case i == formOther:
				fail(form, 0, 0, "the text is empty")
			case text != "":
				fail(form, 0, 0, "the '%s' form is blank; write it or leave it out", form)
			}
			continue
		}
		w, syntax := analyse(text)
		for _, e := range syntax {
			fail(form, e.line, e.col, "%s", e.msg)
		}
		if w == nil {
			continue
		}
		for _, e := range w.errs {
			line, col := position(text, e.off)
			fail(form, line, col, "%s", e.msg)
		}
		walks[i] = w
		info.forms[i] = formInfo{usesCount: w.usesCount, usesOptOut: w.usesOptOut, usesHotline: w.usesHotline}
		info.usesCount = info.usesCount || w.usesCount
	}

	if err == nil {
		info.plurals = pluralRuleFor(canon)
		name := languageName(canon)
		for i, text := range texts {
			if i == formOther {
				continue
			}
			form := formNames[i]
			given := text != ""
			if given && strings.TrimSpace(text) == "" {
				continue // reported as blank
			}
			switch {
			case given && !info.usesCount:
				fail(form, 0, 0, "a '%s' form is only chosen by {{.Count}}, which no form uses; only 'other' would ever be sent", form)
			case given && !info.plurals.allowed[i]:
				fail(form, 0, 0, "%s has no '%s' form", name, form)
			case !given && info.usesCount && info.plurals.required[i]:
				fail(form, 0, 0, "%s needs a '%s' form because the text uses {{.Count}}", name, form)
			}
		}
	}

	// Executing a text only makes sense once it is known to be well formed.
	if len(errs) > 0 {
		return errs, nil
	}
	for i, text := range texts {
		if walks[i] == nil {
			continue
		}
		count := 1
		if info.plurals.required[i] {
			count = info.plurals.sample[i]
		}
		for _, e := range trialRun(text, walks[i], count) {
			fail(formNames[i], e.line, e.col, "%s", e.msg)
		}
	}
	if len(errs) > 0 {
		return errs, nil
	}
	return nil, info
}

// placedError is a problem at a line and column of one text (0, 0 when it
// has no place).
type placedError struct {
	line, col int
	msg       string
}

// position turns a byte offset into a 1-based line and a 1-based column
// counted in characters.
func position(src string, off int) (line, col int) {
	off = min(max(off, 0), len(src))
	before := src[:off]
	start := strings.LastIndexByte(before, '\n') + 1
	return 1 + strings.Count(before, "\n"), 1 + utf8.RuneCountInString(before[start:])
}

// parseText parses src as go-i18n will, except that function names are not
// resolved: the walk reports unknown functions with their position, which
// text/template's own "not defined" error lacks.
func parseText(src string) (*parse.Tree, map[string]*parse.Tree, error) {
	tree := parse.New(templateName)
	tree.Mode = parse.SkipFuncCheck
	set := map[string]*parse.Tree{}
	if _, err := tree.Parse(src, "{{", "}}", set); err != nil {
		return nil, nil, err
	}
	return tree, set, nil
}

// analyse parses and walks one text. It returns a nil walk and the syntax
// error when the text does not parse.
func analyse(src string) (*templateWalk, []placedError) {
	tree, set, err := parseText(src)
	if err != nil {
		return nil, []placedError{syntaxError(src, err)}
	}
	w := &templateWalk{src: src, invoked: map[string]bool{}}
	w.list(tree.Root, true)
	// {{define}} and {{block}} leave further trees in the set. A block is
	// already reported at its {{template}} node.
	var extra []string
	for name, t := range set {
		if t != tree && !w.invoked[name] {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	for _, name := range extra {
		w.fail(actionStart(src, set[name].Root.Position()), "{{define}} is not allowed: a campaign text is a single message")
	}
	return w, nil
}

// templateWalk checks a parse tree against what a campaign text may do and
// records which variables it uses.
type templateWalk struct {
	src                                string
	errs                               []offsetError
	usesCount, usesOptOut, usesHotline bool
	printf                             []parse.Pos // printf calls, to blame for bad formats
	invoked                            map[string]bool
}

// offsetError is a problem at a byte offset of the text.
type offsetError struct {
	off int
	msg string
}

func (w *templateWalk) fail(pos parse.Pos, format string, args ...any) {
	w.errs = append(w.errs, offsetError{off: int(pos), msg: fmt.Sprintf(format, args...)})
}

// list walks a list of nodes. dotIsData says whether "." is the template
// data (it is the value itself inside {{with}}).
func (w *templateWalk) list(l *parse.ListNode, dotIsData bool) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		w.node(n, dotIsData)
	}
}

func (w *templateWalk) node(n parse.Node, dotIsData bool) {
	switch n := n.(type) {
	case *parse.TextNode, *parse.CommentNode:
	case *parse.ActionNode:
		w.pipe(n.Pipe, dotIsData)
	case *parse.IfNode:
		w.pipe(n.Pipe, dotIsData)
		w.list(n.List, dotIsData)
		w.list(n.ElseList, dotIsData)
	case *parse.WithNode:
		w.pipe(n.Pipe, dotIsData)
		w.list(n.List, false)
		w.list(n.ElseList, dotIsData)
	case *parse.RangeNode:
		w.fail(actionStart(w.src, n.Position()), "{{range}} is not allowed: a campaign has nothing to loop over")
	case *parse.TemplateNode:
		w.invoked[n.Name] = true
		w.fail(actionStart(w.src, n.Position()), "{{template}} and {{block}} are not allowed: a campaign text is a single message")
	default:
		w.fail(actionStart(w.src, n.Position()), "%s is not allowed in a campaign text", n)
	}
}

func (w *templateWalk) pipe(p *parse.PipeNode, dotIsData bool) {
	if p == nil {
		return
	}
	// Declared variables ($x := …) are the author's own and harmless.
	for _, cmd := range p.Cmds {
		for _, arg := range cmd.Args {
			w.arg(arg, dotIsData)
		}
	}
}

func (w *templateWalk) arg(n parse.Node, dotIsData bool) {
	switch n := n.(type) {
	case *parse.FieldNode:
		if !dotIsData {
			w.fail(n.Position(), "inside {{with}}, . is that value itself; write $%s to reach %s", n, n)
			return
		}
		// A field chain (.Name.First) is positioned at its last field.
		last := n.Ident[len(n.Ident)-1]
		start := int(n.Position()) - (len(n.String()) - len(last) - 1)
		w.variable(parse.Pos(start), n.String(), n.Ident)
	case *parse.VariableNode:
		if n.Ident[0] == "$" {
			if len(n.Ident) == 1 {
				w.fail(n.Position(), "$ is all of the data, not one value; %s", useVariables)
				return
			}
			w.variable(n.Position(), n.String(), n.Ident[1:])
			return
		}
		if len(n.Ident) > 1 {
			w.fail(n.Position(), "%s: %s has no fields", n, n.Ident[0])
		}
	case *parse.DotNode:
		if dotIsData {
			w.fail(n.Position(), "{{.}} is all of the data, not one value; %s", useVariables)
		}
	case *parse.IdentifierNode:
		w.function(n)
	case *parse.ChainNode:
		w.arg(n.Node, dotIsData)
		w.fail(n.Position(), "%s: the values a campaign text can use have no fields", n)
	case *parse.PipeNode:
		w.pipe(n, dotIsData)
	case *parse.StringNode, *parse.NumberNode, *parse.BoolNode, *parse.NilNode:
	default:
		w.fail(n.Position(), "%s is not allowed in a campaign text", n)
	}
}

// useVariables lists TemplateVariables for error messages.
const useVariables = "use .Name, .Hotline, .OptOut or .Count"

// variable checks a reference to the template data, written at pos: exactly
// one of TemplateVariables, with no fields of its own.
func (w *templateWalk) variable(pos parse.Pos, written string, ident []string) {
	switch {
	case !slices.Contains(TemplateVariables, ident[0]):
		w.fail(pos, "unknown variable %s (%s)", written, useVariables)
	case len(ident) > 1:
		// Point at the field that does not exist.
		field := strings.Index(written[1:], ".") + 1
		w.fail(pos+parse.Pos(field), "%s: .%s has no fields", written, ident[0])
	}
	switch ident[0] {
	case "Count":
		w.usesCount = true
	case "OptOut":
		w.usesOptOut = true
	case "Hotline":
		w.usesHotline = true
	}
}

// function checks a function name.
func (w *templateWalk) function(n *parse.IdentifierNode) {
	name := n.Ident
	if slices.Contains(allowedFuncs, name) {
		if name == "printf" {
			w.printf = append(w.printf, n.Position())
		}
		return
	}
	allowed := strings.Join(allowedFuncs[:len(allowedFuncs)-1], ", ") + " or " + allowedFuncs[len(allowedFuncs)-1]
	if _, builtin := builtinFuncs[name]; builtin {
		w.fail(n.Position(), "function %s is not allowed (use %s)", name, allowed)
		return
	}
	w.fail(n.Position(), "unknown function %s (use %s)", name, allowed)
}

// builtinFuncs are text/template's builtins beyond allowedFuncs, named so
// that the author learns the function exists but is refused here.
var builtinFuncs = map[string]struct{}{
	"call": {}, "html": {}, "index": {}, "js": {}, "println": {}, "slice": {}, "urlquery": {},
}

// actionStart returns the offset of the "{{" that opens the action holding
// pos: keyword nodes such as {{range}} are positioned at their pipeline, and
// the author looks for the keyword.
func actionStart(src string, pos parse.Pos) parse.Pos {
	p := min(int(pos), len(src))
	if i := strings.LastIndex(src[:p], "{{"); i >= 0 {
		return parse.Pos(i)
	}
	return pos
}

// parseError matches text/template's "template: NAME:LINE: message" and
// "template: NAME:LINE:COL: message", where COL counts bytes from 0.
var parseError = regexp.MustCompile(`(?s)^template: [^:]*:(\d+):(?:(\d+):)? (.*)$`)

// splitTemplateError returns the line, byte column (-1 when absent) and
// message of a text/template error.
func splitTemplateError(err error) (line, byteCol int, msg string) {
	m := parseError.FindStringSubmatch(err.Error())
	if m == nil {
		return 0, -1, err.Error()
	}
	line, _ = strconv.Atoi(m[1])
	byteCol = -1
	if m[2] != "" {
		byteCol, _ = strconv.Atoi(m[2])
	}
	return line, byteCol, m[3]
}

// eofMessage is text/template's error for an {{if}}, {{with}}, {{range}} or
// {{define}} that reaches the end of the text without its {{end}}.
const eofMessage = "unexpected EOF"

// syntaxError places a parse error. text/template reports only the line of
// a syntax error, so the column is that of the action at fault: the first
// action whose text, cut just after it, fails to parse for another reason
// than a missing {{end}}; for a missing {{end}}, the innermost block opened
// and never closed.
func syntaxError(src string, err error) placedError {
	goLine, _, msg := splitTemplateError(err)
	// "unexpected right paren in action started at body:1" names the
	// template, which means nothing to the author.
	msg = strings.ReplaceAll(msg, " at "+templateName+":", " on line ")
	actions := scanActions(src)
	blamed := -1
	if msg == eofMessage {
		var open []int
		for i, a := range actions {
			switch a.keyword {
			case "if", "with", "range", "block", "define":
				open = append(open, i)
			case "end":
				if len(open) > 0 {
					open = open[:len(open)-1]
				}
			}
		}
		if len(open) > 0 {
			blamed = open[len(open)-1]
			msg = "{{" + actions[blamed].keyword + "}} has no {{end}}"
		}
	} else {
		for i, a := range actions {
			if _, _, err := parseText(src[:a.end]); err != nil {
				if _, _, m := splitTemplateError(err); m != eofMessage {
					blamed = i
					break
				}
			}
		}
	}
	if blamed < 0 {
		if goLine < 1 {
			goLine = 1
		}
		return placedError{line: goLine, col: 1, msg: msg}
	}
	a := actions[blamed]
	line, col := position(src, a.start)
	// An action may span lines; text/template's line then says which.
	if endLine, _ := position(src, a.end); goLine > line && goLine <= endLine {
		line = goLine
		lineStart := 0
		for range goLine - 1 {
			lineStart += strings.IndexByte(src[lineStart:], '\n') + 1
		}
		indent := len(src[lineStart:]) - len(strings.TrimLeft(src[lineStart:], " \t"))
		_, col = position(src, lineStart+indent)
	}
	return placedError{line: line, col: col, msg: msg}
}

// action is one {{…}} of a text, found the way text/template's lexer finds
// it: quoted strings, raw strings, character constants and comments may hold
// "}}" without closing the action.
type action struct {
	start, end int    // offsets of "{{" and just past "}}"; end is len(src) when unclosed
	keyword    string // the first word, such as "if" or "end"; "" for a pipeline
}

func scanActions(src string) []action {
	var out []action
	i := 0
	for {
		j := strings.Index(src[i:], "{{")
		if j < 0 {
			return out
		}
		a := action{start: i + j, end: len(src)}
		k := a.start + 2
		if strings.HasPrefix(src[k:], "- ") {
			k += 2
		}
		for k < len(src) && (src[k] == ' ' || src[k] == '\t' || src[k] == '\r' || src[k] == '\n') {
			k++
		}
		if strings.HasPrefix(src[k:], "/*") {
			if c := strings.Index(src[k+2:], "*/"); c >= 0 {
				if e := strings.Index(src[k+2+c+2:], "}}"); e >= 0 {
					a.end = k + 2 + c + 2 + e + 2
				}
			}
		} else {
			w := k
			for w < len(src) && 'a' <= src[w] && src[w] <= 'z' {
				w++
			}
			a.keyword = src[k:w]
			a.end = closeAction(src, k)
		}
		out = append(out, a)
		i = a.end
	}
}

// closeAction returns the offset just past the "}}" closing an action whose
// body starts at k, or len(src).
func closeAction(src string, k int) int {
	for k < len(src) {
		switch c := src[k]; c {
		case '"', '\'':
			k++
			for k < len(src) && src[k] != c && src[k] != '\n' {
				if src[k] == '\\' {
					k++
				}
				k++
			}
			k++
		case '`':
			e := strings.IndexByte(src[k+1:], '`')
			if e < 0 {
				return len(src)
			}
			k += e + 2
		case '}':
			if strings.HasPrefix(src[k:], "}}") {
				return k + 2
			}
			k++
		default:
			k++
		}
	}
	return len(src)
}

// sampleHint stands in for the opt-out hint when a text is tried out.
const sampleHint = "Reply STOP to stop."

// trialRun executes a well-formed text as go-i18n will, with and without a
// contact name, and reports what would go wrong at send time: an execution
// error (comparing .Name with a number, len of .Count), a printf format that
// does not fit its arguments, or a text that comes out empty.
func trialRun(src string, w *templateWalk, count int) []placedError {
	// The same parser settings as go-i18n's template.TextParser.
	tmpl, err := template.New(templateName).Delims("{{", "}}").Option("missingkey=default").Parse(src)
	if err != nil {
		return []placedError{syntaxError(src, err)}
	}
	for _, name := range []string{"", "Amina"} {
		var out strings.Builder
		data := templateData{Name: name, Hotline: "+254700000000", OptOut: sampleHint, Count: count}
		if err := tmpl.Execute(&out, data); err != nil {
			line, byteCol, msg := splitTemplateError(err)
			msg = strings.TrimPrefix(msg, `executing "`+templateName+`" at `)
			col := 1
			if line > 0 && byteCol >= 0 {
				lineStart := 0
				for range line - 1 {
					lineStart += strings.IndexByte(src[lineStart:], '\n') + 1
				}
				_, col = position(src, min(lineStart+byteCol, len(src)))
			}
			return []placedError{{line: line, col: col, msg: "fails when sent: " + msg}}
		}
		text := out.String()
		if len(w.printf) > 0 && strings.Count(text, "%!") > strings.Count(src, "%!") {
			line, col := position(src, int(w.printf[0]))
			return []placedError{{line: line, col: col, msg: "the printf format does not match its arguments"}}
		}
		if strings.TrimSpace(text) == "" {
			when := "a contact's name is known"
			if name == "" {
				when = "a contact's name is unknown"
			}
			return []placedError{{msg: "the text comes out empty when " + when}}
		}
	}
	return nil
}

// pluralRule is what go-i18n's CLDR rule for one language does with counts.
type pluralRule struct {
	// tag is the tag the language's messages are filed under: the language
	// itself, or rootRuleTag when go-i18n has no rule for it, as for
	// Rohingya, because go-i18n refuses messages in such a language.
	tag language.Tag
	// required holds the forms a whole count can select; allowed adds those
	// only fractions select (Lithuanian "many"), which are harmless to give.
	required, allowed [numForms]bool
	// sample is a whole count selecting each required form, for trial runs.
	sample [numForms]int
	// probe names the form go-i18n selects for a count.
	probe *i18n.Localizer
}

// rootRuleTag stands in for languages go-i18n has no plural rule for. CLDR
// gives those its root rule, "other" only; go-i18n does not file that rule
// under und (its und answers with English's rule), so a language whose rule
// is root's is borrowed. Each language has a bundle of its own, so the
// borrowed tag never meets a real Japanese text.
var rootRuleTag = language.Japanese

// formProbe is a message whose every form is its own name, so localizing it
// reveals which form go-i18n picks: its rules are internal to go-i18n.
var formProbe = &i18n.Message{ID: "campaign.form", Zero: "zero", One: "one", Two: "two", Few: "few", Many: "many", Other: "other"}

// wholeCounts and fractionCounts reach every plural category CLDR defines:
// small numbers (Arabic's 3-10 and 11-99 and its 100-102 wrap), exact
// millions (French and Spanish "many"), fractions and compact exponents.
var (
	wholeCounts = func() []int {
		var s []int
		for i := 0; i <= 1100; i++ {
			s = append(s, i)
		}
		return append(s, 1000000, 1000001, 2000000)
	}()
	fractionCounts = []string{
		"0.0", "0.1", "0.5", "1.0", "1.5", "2.0", "2.5", "3.0", "3.5",
		"10.0", "11.5", "100.0", "100.5", "1000000.0", "1e3", "1e6", "1.5e6", "1e7",
	}
)

// pluralRules caches pluralRule by canonical language tag: probing takes a
// thousand localizations, and a process meets few languages.
var pluralRules sync.Map

func pluralRuleFor(tag string) *pluralRule {
	if r, ok := pluralRules.Load(tag); ok {
		return r.(*pluralRule)
	}
	r, _ := pluralRules.LoadOrStore(tag, probePlurals(tag))
	return r.(*pluralRule)
}

func probePlurals(tag string) *pluralRule {
	r := &pluralRule{tag: language.Make(tag)}
	b := i18n.NewBundle(r.tag)
	if err := b.AddMessages(r.tag, formProbe); err != nil {
		r.tag = rootRuleTag
		b = i18n.NewBundle(r.tag)
		if err := b.AddMessages(r.tag, formProbe); err != nil {
			panic(fmt.Sprintf("campaigns: go-i18n has no plural rule for %s: %v", r.tag, err))
		}
	}
	r.probe = i18n.NewLocalizer(b, r.tag.String())
	for _, n := range wholeCounts {
		if i := r.form(n); i >= 0 && !r.required[i] {
			r.required[i], r.allowed[i], r.sample[i] = true, true, n
		}
	}
	for _, n := range fractionCounts {
		if i := r.form(n); i >= 0 {
			r.allowed[i] = true
		}
	}
	r.required[formOther], r.allowed[formOther] = true, true
	return r
}

// form returns the index of the form go-i18n picks for count, or -1.
func (r *pluralRule) form(count any) int {
	out, err := r.probe.Localize(&i18n.LocalizeConfig{MessageID: formProbe.ID, PluralCount: count})
	if err != nil {
		return -1
	}
	return formIndex(out)
}

// languageNames names the corridor languages (DOMAIN.md section 6) in
// English for error messages; other languages are named by their tag. The
// full CLDR name tables would add megabytes to the binary for this alone.
var languageNames = map[string]string{
	"am": "Amharic", "ar": "Arabic", "bn": "Bengali", "en": "English", "es": "Spanish",
	"es-419": "Latin American Spanish", "fa": "Persian", "fa-AF": "Dari", "ff": "Fula",
	"fil": "Filipino", "fr": "French", "ha": "Hausa", "id": "Indonesian", "km": "Khmer",
	"lo": "Lao", "ms": "Malay", "my": "Burmese", "ne": "Nepali", "om": "Oromo",
	"pcm": "Nigerian Pidgin", "ps": "Pashto", "rhg": "Rohingya", "si": "Sinhala",
	"so": "Somali", "sw": "Swahili", "th": "Thai", "ti": "Tigrinya", "tr": "Turkish",
	"ur": "Urdu", "wo": "Wolof",
}

func languageName(tag string) string {
	for t := tag; t != ""; t = parentTag(t) {
		if n, ok := languageNames[t]; ok {
			return n
		}
	}
	return tag
}

// parentTag drops a tag's last subtag: es-419 -> es, zh-Hant-TW -> zh-Hant,
// am -> "".
func parentTag(tag string) string {
	i := strings.LastIndexByte(tag, '-')
	if i < 0 {
		return ""
	}
	return tag[:i]
}

// canonicalLanguage returns the canonical form of tag, or "" when it is not a
// usable language tag.
func canonicalLanguage(tag string) string {
	c, err := contacts.NormalizeLanguage(tag)
	if err != nil {
		return ""
	}
	return c
}

// Chain returns the languages to try, in order, for a contact's language:
// the contact's own tag; then, if the workspace configured a chain for it
// (fallbacks, such as {"fa-AF": {"fa", "en"}}), that chain; otherwise its
// parent tags (es-419 -> es), following a parent's configured chain where
// one exists, so that a chain set for "fa" also serves "fa-IR"; and last the
// workspace's default language. Tags are canonicalised and never repeated.
// An empty or unusable contact language starts directly at the default.
func Chain(contactLanguage string, fallbacks map[string][]string, defaultLanguage string) []string {
	var chain []string
	add := func(tag string) {
		if tag = canonicalLanguage(tag); tag != "" && !slices.Contains(chain, tag) {
			chain = append(chain, tag)
		}
	}
	for tag := canonicalLanguage(contactLanguage); tag != ""; tag = parentTag(tag) {
		add(tag)
		if configured, ok := configuredChain(fallbacks, tag); ok {
			for _, f := range configured {
				add(f)
			}
			break
		}
	}
	add(defaultLanguage)
	return chain
}

// configuredChain finds the workspace's chain for a canonical tag, whichever
// spelling of the tag the workspace used as the key.
func configuredChain(fallbacks map[string][]string, tag string) ([]string, bool) {
	if c, ok := fallbacks[tag]; ok {
		return c, true
	}
	for k, c := range fallbacks {
		if canonicalLanguage(k) == tag {
			return c, true
		}
	}
	return nil, false
}

// RenderOptions are the campaign and workspace settings a Renderer needs.
type RenderOptions struct {
	// Fallbacks are the workspace's configured fallback chains, keyed by
	// language tag, such as {"fa-AF": {"fa", "en"}}.
	Fallbacks map[string][]string
	// DefaultLanguage ends every chain; "" means no default.
	DefaultLanguage string
	// Hotline fills {{.Hotline}}; texts that use it need one.
	Hotline string
	// Count fills {{.Count}} and selects the plural form; texts that use
	// {{.Count}} need one.
	Count *int
	// AppendOptOut adds the opt-out hint of the message's language on a line
	// of its own, unless the text already places it with {{.OptOut}}.
	AppendOptOut bool
}

// Renderer renders one campaign's text for each recipient. It is built once
// per campaign run and shared by all workers: it is safe for concurrent use,
// and everything that does not depend on the recipient (parsed templates,
// plural form, opt-out hint, language resolution) is prepared once.
type Renderer struct {
	langs        map[string]*languageRenderer
	languages    []string
	fallbacks    map[string][]string
	defaultLang  string
	appendOptOut bool
	// resolved caches Resolve by contact language: a campaign meets a few
	// languages across a million recipients.
	resolved sync.Map
}

// languageRenderer is one language of a Renderer.
type languageRenderer struct {
	// localizer holds a bundle with this language's message alone, so
	// go-i18n's matcher has nothing else to pick and no other language to
	// fall back to: a message is in this language or it is an error.
	localizer *i18n.Localizer
	// data is the template data without the contact's name.
	data templateData
	// pluralCount is the count for go-i18n, nil when the text has no
	// plural forms (a count would otherwise select a form it lacks).
	pluralCount any
	hint        string
	hasHint     bool
	// usesOptOut says whether the form the count selects places the hint
	// itself.
	usesOptOut bool
	// needsHint says whether the message carries the hint at all.
	needsHint bool
}

// resolution is a cached Resolve result.
type resolution struct {
	language     string
	fellBack, ok bool
}

// NewRenderer validates the contents, returning every ContentError joined in
// an errcode.Invalid error on field "contents" (errors.As finds each
// ContentError), and prepares each language for rendering. It also refuses
// texts that use {{.Count}} without opts.Count and {{.Hotline}} without
// opts.Hotline, which would send a sentence with a hole in it.
func NewRenderer(c Contents, opts RenderOptions) (*Renderer, error) {
	if len(c) == 0 {
		return nil, errcode.Field("contents", "the campaign has no text in any language")
	}
	errs, infos := checkContents(c)
	if len(errs) > 0 {
		return nil, contentError(errs)
	}
	r := &Renderer{
		langs:        make(map[string]*languageRenderer, len(c)),
		fallbacks:    opts.Fallbacks,
		appendOptOut: opts.AppendOptOut,
	}
	if opts.DefaultLanguage != "" {
		if r.defaultLang = canonicalLanguage(opts.DefaultLanguage); r.defaultLang == "" {
			return nil, errcode.Field("default_language", "not a language tag, such as am, ar or fa-AF")
		}
	}
	for _, lang := range slices.Sorted(maps.Keys(c)) {
		lr, err := newLanguageRenderer(lang, c[lang], infos[lang], opts)
		if err != nil {
			return nil, err
		}
		r.langs[lang] = lr
		r.languages = append(r.languages, lang)
	}
	return r, nil
}

// contentError joins content errors into one domain error.
func contentError(errs []ContentError) error {
	lines := make([]string, len(errs))
	joined := make([]error, len(errs))
	for i, e := range errs {
		lines[i], joined[i] = e.Error(), e
	}
	return &errcode.Error{Code: errcode.Invalid, Field: "contents", Message: strings.Join(lines, "\n"), Err: errors.Join(joined...)}
}

func newLanguageRenderer(lang string, body Body, info *languageInfo, opts RenderOptions) (*languageRenderer, error) {
	lr := &languageRenderer{data: templateData{Hotline: opts.Hotline}}
	form := formOther
	if info.usesCount {
		if opts.Count == nil {
			return nil, errcode.Field("count", "the %s text uses {{.Count}}, so the campaign needs a count", lang)
		}
		lr.data.Count = *opts.Count
		lr.pluralCount = *opts.Count
		if form = info.plurals.form(*opts.Count); form < 0 {
			return nil, errcode.Field("count", "%d is not a count go-i18n can pluralise", *opts.Count)
		}
	}
	used := info.forms[form]
	if used.usesHotline && opts.Hotline == "" {
		return nil, errcode.Field("hotline", "the %s text uses {{.Hotline}}, but the workspace has no hotline number", lang)
	}
	lr.usesOptOut = used.usesOptOut
	lr.needsHint = opts.AppendOptOut || used.usesOptOut
	lr.hint, lr.hasHint = optOutHint(lang)
	lr.data.OptOut = lr.hint

	tag := info.plurals.tag
	b := i18n.NewBundle(tag)
	msg := &i18n.Message{ID: bodyMessageID, Zero: body.Zero, One: body.One, Two: body.Two, Few: body.Few, Many: body.Many, Other: body.Other}
	if err := b.AddMessages(tag, msg); err != nil {
		return nil, fmt.Errorf("campaigns: %s: %w", lang, err)
	}
	lr.localizer = i18n.NewLocalizer(b, tag.String())
	return lr, nil
}

// optOutHint returns the opt-out hint package locales ships for lang, taken
// from lang itself or a parent tag of it (es-419 takes es's), never from
// another language. go-i18n answers an unshipped language such as so with
// English and no error, so only shipped tags are asked, and the tag go-i18n
// answers with must be the one asked.
func optOutHint(lang string) (string, bool) {
	shipped := locales.Languages()
	for tag := lang; tag != ""; tag = parentTag(tag) {
		if !slices.Contains(shipped, tag) {
			continue
		}
		s, got, err := i18n.NewLocalizer(locales.Bundle(), tag).LocalizeWithTag(&i18n.LocalizeConfig{MessageID: locales.OptOutHint})
		if err == nil && got.String() == tag && strings.TrimSpace(s) != "" {
			return s, true
		}
	}
	return "", false
}

// Resolve picks the one language a contact's message is written in: the
// first language of Chain that has campaign content and, when the message
// carries the opt-out hint (AppendOptOut, or the text uses {{.OptOut}}), a
// hint in package locales, so that no message mixes languages. ok is false
// when no language qualifies: the contact gets nothing, and a preview
// reports them. fellBack reports that the language is not the contact's own;
// it is false for a contact with no language, who has none to differ from.
func (r *Renderer) Resolve(contactLanguage string) (language string, fellBack bool, ok bool) {
	if v, hit := r.resolved.Load(contactLanguage); hit {
		res := v.(resolution)
		return res.language, res.fellBack, res.ok
	}
	var res resolution
	own := canonicalLanguage(contactLanguage)
	for _, tag := range Chain(contactLanguage, r.fallbacks, r.defaultLang) {
		lr := r.langs[tag]
		if lr == nil || (lr.needsHint && !lr.hasHint) {
			continue
		}
		res = resolution{language: tag, fellBack: own != "" && tag != own, ok: true}
		break
	}
	r.resolved.Store(contactLanguage, res)
	return res.language, res.fellBack, res.ok
}

// Render renders the message for one contact in exactly language, as Resolve
// returned it. The text is the author's byte for byte around the filled-in
// values (no direction marks, no normalisation), with the opt-out hint on a
// line of its own when AppendOptOut asks for it and the text does not place
// it, and without trailing whitespace, which would cost segments.
func (r *Renderer) Render(language, contactName string) (string, error) {
	lr, ok := r.langs[language]
	if !ok {
		return "", fmt.Errorf("campaigns: the campaign has no text in %q", language)
	}
	if lr.needsHint && !lr.hasHint {
		return "", fmt.Errorf("campaigns: %s has no opt-out hint to send with the message; use Resolve to pick the language", language)
	}
	data := lr.data
	data.Name = strings.TrimSpace(contactName)
	out, err := lr.localizer.Localize(&i18n.LocalizeConfig{MessageID: bodyMessageID, TemplateData: data, PluralCount: lr.pluralCount})
	if err != nil {
		// Including *i18n.MessageNotFoundErr: go-i18n then returns another
		// language's text, which must never be sent.
		return "", fmt.Errorf("campaigns: rendering %s: %w", language, err)
	}
	text := strings.TrimRightFunc(out, unicode.IsSpace)
	if strings.TrimSpace(text) == "" {
		return "", fmt.Errorf("campaigns: the %s text comes out empty", language)
	}
	if r.appendOptOut && !lr.usesOptOut {
		text += "\n" + lr.hint
	}
	return strings.TrimRightFunc(text, unicode.IsSpace), nil
}

// Languages lists the campaign's languages, sorted.
func (r *Renderer) Languages() []string {
	return slices.Clone(r.languages)
}
