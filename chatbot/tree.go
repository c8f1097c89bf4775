package chatbot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/locales"
)

// Node kinds.
const (
	NodeMenu   = "menu"   // a prompt and numbered options
	NodeAnswer = "answer" // a text, followed by a menu
)

// Reserved targets an option's Next (or an answer's Next) may name instead of a node.
const (
	NextTalk = "talk" // talk to a person; the hotline takes over
	NextBack = "back" // the menu that leads to this one
	NextRoot = "root" // the tree's root menu
)

// TalkNumber is the SMS number that asks for a person in every menu. It is the same everywhere
// so that people can remember it, and an answer may tell them "reply 0" whatever menu follows.
const TalkNumber = 0

// Button data. Telegram returns it when a button is pressed and limits it to 64 bytes, which
// bounds node ids (maxNodeIDBytes).
const (
	buttonNodePrefix = "n:"
	buttonTalk       = "talk"
)

// Limits a tree must respect.
const (
	maxMenuOptions = 9                          // SMS numbers options 1 to 9; 0 is TalkNumber
	maxNodeIDBytes = 64 - len(buttonNodePrefix) // Telegram's callback data limit
	maxSMSChars    = 1600                       // Twilio refuses longer bodies
	warnSegments   = 3                          // beyond this a reply costs more than it helps
)

// Layout of an SMS reply.
const (
	smsLineBreak = "\n"                        // between the prompt and each option
	smsParagraph = smsLineBreak + smsLineBreak // between an answer and the menu after it
)

// dariTag is how Waymark writes Dari. The ISO 639-3 code prs is valid BCP-47 too, but locales
// and providers use fa-AF, and a tree in prs would match neither.
const dariTag = "fa-AF"

// Tree is a workspace's chatbot: nodes by id, a root menu, and the languages it is written in.
// Authors write it as a YAML or JSON file (see ParseTree) or through the API; either way
// Validate must pass before it is used. Its methods only read it, so one tree can serve many
// conversations at once.
type Tree struct {
	Root string `json:"root" yaml:"root"`
	// Languages are BCP-47 tags; the first is the default, used for people whose language the
	// tree is not written in.
	Languages []string         `json:"languages" yaml:"languages"`
	Nodes     map[string]*Node `json:"nodes" yaml:"nodes"`
	// TalkLabel and NotUnderstood replace, per language, the "Talk to a person" label and the
	// "Sorry, I did not understand" line that Waymark ships. They are required for a language
	// Waymark does not ship, so every reply stays wholly in one language.
	TalkLabel     map[string]string `json:"talk_label,omitempty" yaml:"talk_label,omitempty"`
	NotUnderstood map[string]string `json:"not_understood,omitempty" yaml:"not_understood,omitempty"`
}

// Node is a menu (a prompt and options leading to other nodes) or an answer (a text, then a
// menu, so a conversation never ends at a dead end).
type Node struct {
	Kind string `json:"kind" yaml:"kind"` // NodeMenu or NodeAnswer
	// Text is, per language, a menu's prompt or an answer's text.
	Text map[string]string `json:"text" yaml:"text"`
	// Options are a menu's choices in the order SMS numbers them, from 1.
	Options []MenuOption `json:"options,omitempty" yaml:"options,omitempty"`
	// Keywords are, per language, words or phrases that lead here from free text. The labels of
	// options leading here count as keywords too.
	Keywords map[string][]string `json:"keywords,omitempty" yaml:"keywords,omitempty"`
	// Next is where an answer continues: a menu's id, NextBack or NextRoot (the default).
	Next string `json:"next,omitempty" yaml:"next,omitempty"`
}

// MenuOption is one choice of a menu: a label per language and where it leads, a node's id or a
// reserved target (NextTalk, NextBack, NextRoot).
type MenuOption struct {
	Label map[string]string `json:"label" yaml:"label"`
	Next  string            `json:"next" yaml:"next"`
}

// StepResult is the chatbot's reply to one message.
type StepResult struct {
	// Node is the menu the conversation is at now: store it and pass it to the next Step, so a
	// number in the next message picks from the menu the person was shown.
	Node string
	// Answer is the answer shown, if any, for the record of what people ask.
	Answer string
	// Reply is the whole SMS reply: a not-understood line or an answer, then the menu with its
	// numbered options. It is never empty.
	Reply string
	// Text is Reply without the numbered options, for channels that show Buttons(Node) instead.
	Text string
	// Talk asks for a person. The hotline then takes over and sends its own question; Reply is
	// only for a workspace without a hotline, so the person still gets an answer.
	Talk bool
	// Understood is false when the message matched nothing and Reply starts with the
	// not-understood line.
	Understood bool
}

// Warning points out a valid tree's costly parts, such as an SMS reply of many segments.
type Warning struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ParseTree reads a tree from YAML or JSON, told apart by content (JSON starts with '{'), and
// validates it. Unknown fields are errors, since a misspelt field would otherwise vanish without
// a word. All problems come back at once, joined, each an errcode.Invalid error naming the field
// (see Validate).
func ParseTree(data []byte) (*Tree, error) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errcode.New(errcode.Invalid, "the chatbot file is empty")
	}
	var t Tree
	var doc any
	if trimmed[0] == '{' {
		if err := json.Unmarshal(trimmed, &t); err != nil {
			return nil, errcode.Wrap(err, errcode.Invalid, "cannot read the chatbot file as JSON: %v", err)
		}
		if err := json.Unmarshal(trimmed, &doc); err != nil {
			return nil, errcode.Wrap(err, errcode.Invalid, "cannot read the chatbot file as JSON: %v", err)
		}
	} else {
		var n yaml.Node
		if err := yaml.Unmarshal(data, &n); err != nil {
			return nil, errcode.Wrap(err, errcode.Invalid, "cannot read the chatbot file as YAML: %v", err)
		}
		// Decoding into the typed tree first lets the YAML library refuse alias bombs before
		// yamlValue walks the document.
		if err := n.Decode(&t); err != nil {
			return nil, errcode.Wrap(err, errcode.Invalid, "cannot read the chatbot file as YAML: %v", err)
		}
		doc = yamlValue(&n, 0)
	}
	if errs := unknownTreeFields(doc); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return &t, nil
}

// Validate checks everything a conversation relies on and returns every problem at once, joined,
// each an *errcode.Error with code Invalid. Field is a path into the file ("root",
// "languages.2", "nodes.visa.text.am", "nodes.start.options.2.next"); list positions count from
// 1, as SMS numbers options, so the path and the message name the same option. It checks:
//   - languages: valid, canonical BCP-47 tags, none twice; text only in those languages;
//   - root: an existing menu;
//   - nodes: a valid kind; menus with 1 to 9 options; answers continuing to a menu;
//   - unknown node: every Next names a node or a reserved target;
//   - missing translation: every node's text and every option's label in every language, and
//     talk_label and not_understood for languages Waymark does not ship;
//   - no label twice in one menu and language;
//   - loop without exit: from every menu some answer or person can be reached;
//   - no SMS reply longer than providers accept.
func (t *Tree) Validate() error {
	v := treeValidation{t: t, listed: map[string]bool{}, valid: map[string]bool{}}
	v.languages()
	v.systemTexts()
	v.root()
	for _, id := range slices.Sorted(maps.Keys(t.Nodes)) {
		v.node(id)
	}
	v.loops()
	v.lengths()
	return errors.Join(v.errs...)
}

// Warnings lists what a valid tree does that works but costs: SMS replies longer than three
// segments.
func (t *Tree) Warnings() []Warning {
	var warnings []Warning
	parents, _ := t.walk()
	for _, id := range slices.Sorted(maps.Keys(t.Nodes)) {
		if t.Nodes[id] == nil {
			continue
		}
		for _, lang := range t.Languages {
			reply := t.show(id, lang, "", parents).Reply
			if c := channels.CountSegments(reply); c.Segments > warnSegments {
				warnings = append(warnings, Warning{
					Field: "nodes." + id + ".text." + lang,
					Message: fmt.Sprintf("node '%s' in '%s' makes an SMS reply of %d %s segments; every segment is paid, so keep menus and answers short",
						id, lang, c.Segments, c.Encoding),
				})
			}
		}
	}
	return warnings
}

// RenderSMS renders a node for SMS wholly in one language: a menu's prompt, its numbered options
// and TalkNumber for a person; an answer's text followed by the menu it continues to. An unknown
// node renders the root menu, so a stale conversation state still gets a reply. A language the
// tree is not written in gets the tree's default language.
func (t *Tree) RenderSMS(nodeID, lang string) string {
	parents, _ := t.walk()
	return t.show(nodeID, t.language(lang), "", parents).Reply
}

// Buttons returns a menu's options as Telegram inline buttons, one to a row because labels in
// many languages are long, and "talk to a person" last. Pressing a button sends its Data, which
// Step understands. For an answer, it returns the buttons of the menu the answer continues to.
func (t *Tree) Buttons(nodeID, lang string) [][]Option {
	lang = t.language(lang)
	parents, _ := t.walk()
	menu := t.menuAt(nodeID, parents)
	var rows [][]Option
	if n := t.Nodes[menu]; n != nil {
		for _, o := range n.Options {
			data := buttonTalk
			if target := t.target(menu, o.Next, parents); target != NextTalk {
				data = buttonNodePrefix + target
			}
			rows = append(rows, []Option{{Text: t.pick(o.Label, lang), Data: data}})
		}
	}
	return append(rows, []Option{{Text: t.systemText(lang, locales.TalkToPerson), Data: buttonTalk}})
}

// Step decides the reply to one message. current is the node the conversation is at ("" for a
// new one), lang the person's language, and text their message, already known not to be a STOP,
// START or HELP keyword. In order:
//   - button data selects its node, or a person;
//   - a number selects an option of the current menu, TalkNumber a person; a number the menu
//     does not have shows that menu again, as not understood;
//   - free text is matched, in the person's language and then the tree's default language, to
//     the keywords and labels of nodes and to the talk keywords Waymark ships;
//   - anything else gets the root menu after a not-understood line.
//
// The reply is never empty and never repeats what the person wrote, because the phone may be
// read by someone else.
func (t *Tree) Step(current, lang, text string) StepResult {
	lang = t.language(lang)
	parents, order := t.walk()
	menu := t.menuAt(current, parents)
	msg := strings.TrimSpace(text)
	if msg == buttonTalk {
		return t.talk(menu, lang, parents)
	}
	if id, ok := strings.CutPrefix(msg, buttonNodePrefix); ok && t.Nodes[id] != nil {
		return t.show(id, lang, "", parents)
	}
	if n, ok := menuNumber(msg); ok {
		if n == TalkNumber {
			return t.talk(menu, lang, parents)
		}
		if options := t.Nodes[menu].options(); n <= len(options) {
			target := t.target(menu, options[n-1].Next, parents)
			if target == NextTalk {
				return t.talk(menu, lang, parents)
			}
			return t.show(target, lang, "", parents)
		}
		return t.notUnderstood(menu, lang, parents)
	}
	candidates, targets := t.candidates(lang, order)
	if i, _ := fuzzyBest(msg, candidates); i >= 0 {
		if targets[i] == NextTalk {
			return t.talk(menu, lang, parents)
		}
		return t.show(targets[i], lang, "", parents)
	}
	return t.notUnderstood(t.Root, lang, parents)
}

// options returns a menu's options; nil for a nil node, so Step need not check.
func (n *Node) options() []MenuOption {
	if n == nil {
		return nil
	}
	return n.Options
}

// talk hands the conversation to a person and keeps the current menu as a fallback reply.
func (t *Tree) talk(menu, lang string, parents map[string]string) StepResult {
	r := t.show(menu, lang, "", parents)
	r.Talk = true
	return r
}

// notUnderstood shows a menu after the not-understood line.
func (t *Tree) notUnderstood(menu, lang string, parents map[string]string) StepResult {
	r := t.show(menu, lang, t.systemText(lang, locales.NotUnderstood)+smsLineBreak, parents)
	r.Understood = false
	return r
}

// show renders a node as a reply. An answer is followed by the menu it continues to, which
// becomes the conversation's node.
func (t *Tree) show(id, lang, prefix string, parents map[string]string) StepResult {
	n := t.Nodes[id]
	if n == nil {
		id, n = t.Root, t.Nodes[t.Root]
	}
	r := StepResult{Node: id, Understood: true}
	body := prefix
	if n != nil && n.Kind == NodeAnswer {
		r.Answer = id
		r.Node = t.after(id, parents)
		body += t.pick(n.Text, lang) + smsParagraph
	}
	prompt, options := t.menuSMS(r.Node, lang)
	r.Reply = body + prompt + options
	r.Text = body + prompt
	return r
}

// menuSMS returns a menu's prompt and its numbered options, each on its own line, TalkNumber
// last so the numbers of the author's options match their order.
func (t *Tree) menuSMS(id, lang string) (prompt, options string) {
	var b strings.Builder
	n := t.Nodes[id]
	if n != nil {
		prompt = t.pick(n.Text, lang)
		for i, o := range n.Options {
			fmt.Fprintf(&b, "%s%d. %s", smsLineBreak, i+1, t.pick(o.Label, lang))
		}
	}
	fmt.Fprintf(&b, "%s%d. %s", smsLineBreak, TalkNumber, t.systemText(lang, locales.TalkToPerson))
	options = b.String()
	if prompt == "" {
		options = strings.TrimPrefix(options, smsLineBreak)
	}
	return prompt, options
}

// pick returns a text in lang, or in the default language when an unvalidated tree lacks it.
func (t *Tree) pick(texts map[string]string, lang string) string {
	if s := strings.TrimSpace(texts[lang]); s != "" || len(t.Languages) == 0 {
		return s
	}
	return strings.TrimSpace(texts[t.Languages[0]])
}

// systemText returns one of Waymark's own texts (TalkToPerson, NotUnderstood) in lang: the
// tree's own wording if it has one, else the shipped one.
func (t *Tree) systemText(lang, messageID string) string {
	own := t.TalkLabel
	if messageID == locales.NotUnderstood {
		own = t.NotUnderstood
	}
	if s := strings.TrimSpace(own[lang]); s != "" {
		return s
	}
	tag := shippedLanguage(lang)
	if tag == "" {
		tag = "en" // only for a tree that failed validation
	}
	s, err := i18n.NewLocalizer(locales.Bundle(), tag).Localize(&i18n.LocalizeConfig{MessageID: messageID})
	if err != nil {
		return messageID // a defect of the shipped files, which their tests catch
	}
	return s
}

// shippedLanguage returns the shipped language that speaks lang: the same tag, or its base
// language (es for es-419), or "".
func shippedLanguage(lang string) string {
	tag, err := language.Parse(lang)
	if err != nil {
		return ""
	}
	if locales.Name(tag.String()) != "" {
		return tag.String()
	}
	if base, _ := tag.Base(); locales.Name(base.String()) != "" {
		return base.String()
	}
	return ""
}

// language returns the tree language to answer a person in: theirs, else one with the same base
// language (am for am-ET), else the tree's default.
func (t *Tree) language(lang string) string {
	if len(t.Languages) == 0 {
		return lang
	}
	tag, err := language.Parse(lang)
	if err != nil {
		return t.Languages[0]
	}
	if s := tag.String(); slices.Contains(t.Languages, s) {
		return s
	}
	base, _ := tag.Base()
	for _, l := range t.Languages {
		if b, _ := language.Make(l).Base(); b == base {
			return l
		}
	}
	return t.Languages[0]
}

// walk visits the tree breadth-first from the root, options in order. It returns each node's
// parent, the first menu found leading to it, which is where NextBack goes; and every node id
// in the order visited, then the unreachable ones sorted, which is the order free-text matches
// prefer: near the root first, as authors laid the tree out.
func (t *Tree) walk() (parents map[string]string, order []string) {
	parents = map[string]string{}
	if _, ok := t.Nodes[t.Root]; ok {
		parents[t.Root] = t.Root
		order = append(order, t.Root)
	}
	for i := 0; i < len(order); i++ {
		menu := order[i]
		for _, o := range t.Nodes[menu].options() {
			next := o.Next
			if _, ok := t.Nodes[next]; !ok || isReserved(next) {
				continue
			}
			if _, seen := parents[next]; !seen {
				parents[next] = menu
				order = append(order, next)
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(t.Nodes)) {
		if _, seen := parents[id]; !seen {
			order = append(order, id)
		}
	}
	return parents, order
}

// menuAt returns the menu a conversation at node id is at: the node itself, the menu an answer
// continues to, or the root for an unknown node (the tree may have changed since).
func (t *Tree) menuAt(id string, parents map[string]string) string {
	switch n := t.Nodes[id]; {
	case n == nil:
		return t.Root
	case n.Kind == NodeAnswer:
		return t.after(id, parents)
	}
	return id
}

// after returns the menu an answer continues to.
func (t *Tree) after(answer string, parents map[string]string) string {
	next := t.Nodes[answer].Next
	switch next {
	case "", NextRoot:
		return t.Root
	case NextBack:
		if p, ok := parents[answer]; ok {
			return p
		}
		return t.Root
	}
	if n := t.Nodes[next]; n != nil && n.Kind == NodeMenu {
		return next
	}
	return t.Root
}

// target resolves where an option of menu leads: a node id, or NextTalk.
func (t *Tree) target(menu, next string, parents map[string]string) string {
	switch next {
	case NextTalk:
		return NextTalk
	case NextRoot, "":
		return t.Root
	case NextBack:
		if p, ok := parents[menu]; ok {
			return p
		}
		return t.Root
	}
	return next
}

// candidates lists what free text can lead to, for fuzzyBest: every node with its keywords and
// the labels of options leading to it, in the person's language; then a person, with Waymark's
// talk keywords (English ones too, as for STOP) and the talk label; then the nodes again in the
// default language, for people who write in it. targets[i] is the node id or NextTalk.
func (t *Tree) candidates(lang string, order []string) (keywords [][]string, targets []string) {
	labels := map[string][]string{} // node id -> labels in lang of options leading there
	addNodes := func(l string) {
		clear(labels)
		for _, menu := range order {
			for _, o := range t.Nodes[menu].options() {
				if isReserved(o.Next) && o.Next != NextRoot {
					continue
				}
				target := t.target(menu, o.Next, nil)
				labels[target] = append(labels[target], o.Label[l])
			}
		}
		for _, id := range order {
			n := t.Nodes[id]
			if n == nil {
				continue
			}
			words := append(slices.Clone(n.Keywords[l]), labels[id]...)
			if len(words) > 0 {
				keywords = append(keywords, words)
				targets = append(targets, id)
			}
		}
	}
	addNodes(lang)
	talk := []string{t.systemText(lang, locales.TalkToPerson)}
	if tag := shippedLanguage(lang); tag != "" {
		talk = append(talk, locales.Keywords(tag, locales.KeywordsTalk)...)
	}
	talk = append(talk, locales.Keywords("en", locales.KeywordsTalk)...)
	keywords = append(keywords, talk)
	targets = append(targets, NextTalk)
	if len(t.Languages) > 0 && t.Languages[0] != lang {
		addNodes(t.Languages[0])
	}
	return keywords, targets
}

// menuNumber reads a message that is only a number, as people answer a numbered menu: "2",
// " 2.", "(2)", in any script's digits (٢ Arabic-Indic, ۲ Persian, २ Devanagari, ፪ Ethiopic),
// since people type with the keyboard their language uses.
func menuNumber(s string) (int, bool) {
	s = strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) })
	if s == "" || utf8.RuneCountInString(s) > 2 {
		return 0, false
	}
	n := 0
	for _, r := range s {
		d := digitValue(r)
		if d < 0 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// digitValue returns the value of a decimal digit of any script, or -1. Unicode encodes every
// script's decimal digits as a run of ten starting at zero, so the value is the distance from
// the start of the run. Ethiopic numerals are not decimal digits (there is no zero) but are
// typed for small numbers, so ፩ to ፱ count as 1 to 9.
func digitValue(r rune) int {
	if r >= '፩' && r <= '፱' {
		return int(r-'፩') + 1
	}
	if !unicode.IsDigit(r) {
		return -1
	}
	zero := r
	for unicode.IsDigit(zero - 1) {
		zero--
	}
	return int(r-zero) % 10
}

// isReserved reports whether s is a reserved target rather than a node id.
func isReserved(s string) bool {
	return s == NextTalk || s == NextBack || s == NextRoot
}

// validNodeID reports whether id can be a node id: ASCII letters, digits, '_' and '-', so that
// it fits field paths and Telegram's button data.
func validNodeID(id string) bool {
	if id == "" || len(id) > maxNodeIDBytes {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// treeValidation collects Validate's findings.
type treeValidation struct {
	t *Tree
	// listed holds every tag in Languages, valid or not, and valid the valid ones: text in a
	// listed but invalid language is not reported again as stray.
	listed, valid map[string]bool
	errs          []error
}

func (v *treeValidation) add(field, format string, args ...any) {
	v.errs = append(v.errs, errcode.Field(field, format, args...))
}

func (v *treeValidation) languages() {
	if len(v.t.Languages) == 0 {
		v.add("languages", "the tree lists no languages")
	}
	for i, l := range v.t.Languages {
		field := fmt.Sprintf("languages.%d", i+1)
		dup := v.listed[l]
		v.listed[l] = true
		tag, err := language.Parse(l)
		switch {
		case l == "prs":
			v.add(field, "bad language tag: write Dari as '%s', not 'prs'", dariTag)
		case err != nil || tag == language.Und:
			v.add(field, "bad language tag: '%s' is not a BCP-47 language tag (such as 'am', 'ar' or 'fa-AF')", l)
		case tag.String() != l:
			v.add(field, "bad language tag: write '%s' as '%s'", l, tag.String())
		case dup:
			v.add(field, "language '%s' is listed twice", l)
		default:
			v.valid[l] = true
		}
	}
}

// systemTexts requires the tree's own talk label and not-understood line where Waymark ships
// none, and refuses them in languages the tree is not written in.
func (v *treeValidation) systemTexts() {
	for _, s := range []struct {
		field string
		texts map[string]string
	}{{"talk_label", v.t.TalkLabel}, {"not_understood", v.t.NotUnderstood}} {
		strayLanguages(v, s.field, s.texts, "%s has text in '%s', which is not one of the tree's languages", s.field)
		for _, l := range v.t.Languages {
			if v.valid[l] && strings.TrimSpace(s.texts[l]) == "" && shippedLanguage(l) == "" {
				v.add(s.field+"."+l, "missing translation: %s has no '%s' text, and Waymark ships none in '%s'", s.field, l, l)
			}
		}
	}
}

// strayLanguages reports keys of a per-language map that are not languages of the tree. format takes
// args and then the language.
func strayLanguages[V any](v *treeValidation, field string, texts map[string]V, format string, args ...any) {
	for _, l := range slices.Sorted(maps.Keys(texts)) {
		if !v.listed[l] {
			v.add(field+"."+l, format, append(args, l)...)
		}
	}
}

func (v *treeValidation) root() {
	t := v.t
	n, ok := t.Nodes[t.Root]
	switch {
	case t.Root == "":
		v.add("root", "the tree names no root menu")
	case !ok:
		v.add("root", "unknown node: root '%s' is not a node", t.Root)
	case n != nil && n.Kind == NodeAnswer:
		v.add("root", "root '%s' is an answer; the root must be a menu", t.Root)
	}
}

func (v *treeValidation) node(id string) {
	field := "nodes." + id
	n := v.t.Nodes[id]
	switch {
	case isReserved(id):
		v.add(field, "node id '%s' is reserved for a target; choose another", id)
	case !validNodeID(id):
		v.add(field, "node id '%s' must be 1 to %d letters, digits, '_' or '-'", id, maxNodeIDBytes)
	}
	if n == nil {
		v.add(field, "node '%s' is empty", id)
		return
	}
	switch n.Kind {
	case NodeMenu:
		switch {
		case len(n.Options) == 0:
			v.add(field+".options", "menu '%s' has no options", id)
		case len(n.Options) > maxMenuOptions:
			v.add(field+".options", "menu '%s' has %d options; SMS numbers them 1 to %d and keeps %d for talking to a person",
				id, len(n.Options), maxMenuOptions, TalkNumber)
		}
		if n.Next != "" {
			v.add(field+".next", "menu '%s' has a next; a menu's options say where to go", id)
		}
		for i, o := range n.Options {
			v.option(id, i+1, o)
		}
	case NodeAnswer:
		if len(n.Options) > 0 {
			v.add(field+".options", "answer '%s' has options; an answer continues to the menu its next names", id)
		}
		v.answerNext(id, n.Next)
	default:
		v.add(field+".kind", "node '%s' has kind '%s'; use '%s' or '%s'", id, n.Kind, NodeMenu, NodeAnswer)
	}
	for _, l := range v.t.Languages {
		if v.valid[l] && strings.TrimSpace(n.Text[l]) == "" {
			v.add(field+".text."+l, "missing translation: node '%s' has no '%s' text", id, l)
		}
	}
	strayLanguages(v, field+".text", n.Text, "node '%s' has text in '%s', which is not one of the tree's languages", id)
	strayLanguages(v, field+".keywords", n.Keywords, "node '%s' has keywords in '%s', which is not one of the tree's languages", id)
	for _, l := range slices.Sorted(maps.Keys(n.Keywords)) {
		for _, k := range n.Keywords[l] {
			if len(fuzzyTokens(k)) == 0 {
				v.add(field+".keywords."+l, "node '%s' has a '%s' keyword with no letters or digits", id, l)
				break
			}
		}
	}
}

func (v *treeValidation) answerNext(id, next string) {
	field := "nodes." + id + ".next"
	switch next {
	case "", NextRoot, NextBack:
		return
	case NextTalk:
		v.add(field, "answer '%s' continues to '%s'; an answer continues to a menu, and every menu offers a person", id, next)
		return
	}
	switch n, ok := v.t.Nodes[next]; {
	case !ok:
		v.add(field, "unknown node: answer '%s' continues to '%s', which is not a node", id, next)
	case n != nil && n.Kind == NodeAnswer:
		v.add(field, "answer '%s' continues to answer '%s'; an answer continues to a menu", id, next)
	}
}

func (v *treeValidation) option(menu string, number int, o MenuOption) {
	field := fmt.Sprintf("nodes.%s.options.%d", menu, number)
	switch _, ok := v.t.Nodes[o.Next]; {
	case o.Next == "":
		v.add(field+".next", "option %d of menu '%s' leads nowhere; give it a next", number, menu)
	case !ok && !isReserved(o.Next):
		v.add(field+".next", "unknown node: option %d of menu '%s' leads to '%s', which is not a node", number, menu, o.Next)
	}
	for _, l := range v.t.Languages {
		if !v.valid[l] {
			continue
		}
		label := strings.TrimSpace(o.Label[l])
		if label == "" {
			v.add(field+".label."+l, "missing translation: option %d of menu '%s' has no '%s' label", number, menu, l)
			continue
		}
		// Labels that differ only in case or accents read as the same choice.
		same := strings.Join(fuzzyTokens(label), " ")
		for i, other := range v.t.Nodes[menu].Options[:number-1] {
			if strings.Join(fuzzyTokens(other.Label[l]), " ") == same {
				v.add(field+".label."+l, "option %d of menu '%s' repeats the '%s' label of option %d", number, menu, l, i+1)
				break
			}
		}
	}
	strayLanguages(v, field+".label", o.Label, "option %d of menu '%s' has a label in '%s', which is not one of the tree's languages", number, menu)
}

// loops finds menus from which neither an answer nor a person can be reached through the
// author's options. The talk option every menu gets does not count: a menu that leads only to
// menus leading back to it is a mistake, not a design.
func (v *treeValidation) loops() {
	t := v.t
	parents, _ := t.walk()
	// Anything that is not a well-formed menu counts as an exit: it is reported already, and
	// counting it as a loop too would bury that report.
	exit := func(id string) bool {
		n, ok := t.Nodes[id]
		return !ok || n == nil || n.Kind != NodeMenu || len(n.Options) == 0
	}
	edges := func(menu string) (targets []string, talk bool) {
		for _, o := range t.Nodes[menu].options() {
			target := t.target(menu, o.Next, parents)
			if target == NextTalk || o.Next == "" {
				return nil, true
			}
			targets = append(targets, target)
		}
		return targets, false
	}
	good := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for id := range t.Nodes {
			if good[id] {
				continue
			}
			targets, talk := edges(id)
			if exit(id) || talk || slices.ContainsFunc(targets, func(n string) bool { return good[n] || exit(n) }) {
				good[id], changed = true, true
			}
		}
	}
	reported := map[string]bool{}
	for _, start := range slices.Sorted(maps.Keys(t.Nodes)) {
		if good[start] {
			continue
		}
		// Every target of a menu that is not good is a menu that is not good, so following
		// the first target must come back to a menu already on the path.
		var path []string
		at := map[string]int{}
		for id := start; ; {
			if i, seen := at[id]; seen {
				path = path[i:]
				break
			}
			at[id] = len(path)
			path = append(path, id)
			targets, _ := edges(id)
			id = targets[0]
		}
		first := slices.Index(path, slices.Min(path))
		cycle := append(slices.Clone(path[first:]), path[:first]...)
		key := strings.Join(cycle, " ")
		if reported[key] {
			continue
		}
		reported[key] = true
		v.add("nodes."+cycle[0]+".options", "loop without exit: menus %s -> %s never reach an answer or a person",
			strings.Join(cycle, " -> "), cycle[0])
	}
}

// lengths refuses replies that SMS providers refuse: a menu after the not-understood line (its
// longest form), or an answer followed by its menu.
func (v *treeValidation) lengths() {
	t := v.t
	parents, _ := t.walk()
	for _, id := range slices.Sorted(maps.Keys(t.Nodes)) {
		n := t.Nodes[id]
		if n == nil {
			continue
		}
		for _, l := range t.Languages {
			if !v.valid[l] {
				continue
			}
			var reply string
			if n.Kind == NodeMenu {
				reply = t.notUnderstood(id, l, parents).Reply
			} else {
				reply = t.show(id, l, "", parents).Reply
			}
			if size := len(utf16.Encode([]rune(reply))); size > maxSMSChars {
				v.add("nodes."+id+".text."+l, "node '%s' in '%s' makes an SMS reply of %d characters; SMS providers refuse more than %d",
					id, l, size, maxSMSChars)
			}
		}
	}
}

// Fields a chatbot file may have, by level.
var (
	treeFields   = []string{"root", "languages", "nodes", "talk_label", "not_understood"}
	nodeFields   = []string{"kind", "text", "options", "keywords", "next"}
	optionFields = []string{"label", "next"}
)

// unknownTreeFields reports every field of a decoded file that the tree does not have, with its
// path, so a misspelt "txt" is named where it is rather than dropped.
func unknownTreeFields(doc any) []error {
	var errs []error
	check := func(m map[string]any, path string, allowed []string, where string) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if !slices.Contains(allowed, k) {
				errs = append(errs, errcode.Field(strings.TrimPrefix(path+"."+k, "."), "unknown field '%s'%s", k, where))
			}
		}
	}
	top, _ := doc.(map[string]any)
	check(top, "", treeFields, "")
	nodes, _ := top["nodes"].(map[string]any)
	for _, id := range slices.Sorted(maps.Keys(nodes)) {
		node, _ := nodes[id].(map[string]any)
		check(node, "nodes."+id, nodeFields, fmt.Sprintf(" in node '%s'", id))
		options, _ := node["options"].([]any)
		for i, o := range options {
			option, _ := o.(map[string]any)
			check(option, fmt.Sprintf("nodes.%s.options.%d", id, i+1), optionFields,
				fmt.Sprintf(" in option %d of menu '%s'", i+1, id))
		}
	}
	return errs
}

// yamlValue turns a YAML document into the maps and lists JSON decodes to, keyed by each key's
// text, down to the depth unknownTreeFields looks at (an option's fields).
func yamlValue(n *yaml.Node, depth int) any {
	const deepest = 5 // tree, nodes, node, options, option
	if n == nil || depth > deepest {
		return nil
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			return yamlValue(n.Content[0], depth)
		}
	case yaml.AliasNode:
		return yamlValue(n.Alias, depth)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = yamlValue(n.Content[i+1], depth+1)
		}
		return m
	case yaml.SequenceNode:
		list := make([]any, len(n.Content))
		for i, c := range n.Content {
			list[i] = yamlValue(c, depth+1)
		}
		return list
	case yaml.ScalarNode:
		return n.Value
	}
	return nil
}
