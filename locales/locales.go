// Package locales owns Waymark's system texts: the opt-out hint, the STOP,
// START and HELP replies, chatbot prompts and the keyword lists that inbound
// messages are matched against, in every language Waymark ships.
//
// The texts live in go-i18n message files (active.<tag>.toml) embedded in the
// binary, so a deployment can never run with a missing or stale file. Campaign
// content is not here: authors write it per workspace and it lives in the
// database.
//
// Every shipped language defines every message English defines. go-i18n's
// Localizer matches one language and then falls back to English message by
// message, which would mix languages in one reply; the package tests fail on
// any gap so that cannot happen with a shipped language.
package locales

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Message IDs. They are a contract with the chatbot, campaign and web
// packages; the tests check that each one is defined in English and that
// English defines no other.
const (
	// OptOutHint is appended to campaign SMS; it costs segments on every
	// message, so translations stay as short as the language allows.
	OptOutHint = "OptOutHint"
	// StopConfirmation is sent once after an opt-out keyword.
	StopConfirmation = "StopConfirmation"
	// StartConfirmation is sent once after an opt-in keyword.
	StartConfirmation = "StartConfirmation"
	// HelpReply answers HELP; it takes template data Sender.
	HelpReply = "HelpReply"
	// LanguagePrompt precedes the numbered list of languages the code appends.
	LanguagePrompt = "LanguagePrompt"
	// LanguageChanged confirms, in the new language, that it is now in use.
	LanguageChanged = "LanguageChanged"
	// NotUnderstood precedes the menu the code appends.
	NotUnderstood = "NotUnderstood"
	// TalkToPerson is the menu label that leads to a person.
	TalkToPerson = "TalkToPerson"
	// MessageCount is a plural message; it takes template data Count and
	// needs PluralCount.
	MessageCount = "MessageCount"

	// KeywordsStop lists the words that opt a contact out.
	KeywordsStop = "KeywordsStop"
	// KeywordsStart lists the words that opt a contact back in.
	KeywordsStart = "KeywordsStart"
	// KeywordsHelp lists the words answered with HelpReply.
	KeywordsHelp = "KeywordsHelp"
	// KeywordsLanguage lists the words that open the language prompt.
	KeywordsLanguage = "KeywordsLanguage"
	// KeywordsTalk lists the words that ask for a person.
	KeywordsTalk = "KeywordsTalk"
)

// keywordPrefix marks the messages whose text is a comma-separated word list
// rather than a sentence.
const keywordPrefix = "Keywords"

// filePrefix and fileSuffix frame the language tag in a message file name;
// go-i18n reads the tag from the same place.
const (
	filePrefix = "active."
	fileSuffix = ".toml"
)

//go:embed *.toml
var messageFiles embed.FS

// endonyms are the languages' names in their own script, shown in language
// pickers so that a reader finds their language without reading English.
var endonyms = map[string]string{
	"am":    "አማርኛ",
	"ar":    "العربية",
	"bn":    "বাংলা",
	"en":    "English",
	"es":    "Español",
	"fa":    "فارسی",
	"fa-AF": "دری",
	"fr":    "Français",
	"my":    "မြန်မာ",
	"ne":    "नेपाली",
	"ti":    "ትግርኛ",
}

// catalog is the parsed form of the message files: the bundle that renders
// them, plus the raw messages the bundle does not expose (keyword lists,
// descriptions, which plural forms a file defines).
type catalog struct {
	bundle *i18n.Bundle
	// languages holds the shipped tags, English first, then sorted.
	languages []string
	// messages maps a tag (as in languages) to message ID to message.
	messages map[string]map[string]*i18n.Message
}

// shipped is parsed on first use. The files are compiled into the binary, so
// a parse error is a defect of the build, caught by this package's tests,
// not a condition a caller could handle.
var shipped = sync.OnceValue(func() *catalog {
	c, err := parseCatalog(messageFiles)
	if err != nil {
		panic(fmt.Sprintf("locales: embedded message files: %v", err))
	}
	return c
})

// parseCatalog loads every active.<tag>.toml at the root of fsys.
func parseCatalog(fsys fs.FS) (*catalog, error) {
	names, err := fs.Glob(fsys, filePrefix+"*"+fileSuffix)
	if err != nil {
		return nil, err
	}
	c := &catalog{
		bundle:   i18n.NewBundle(language.English),
		messages: map[string]map[string]*i18n.Message{},
	}
	c.bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	for _, name := range names {
		buf, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		file, err := c.bundle.ParseMessageFileBytes(buf, name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		// The tag must survive canonicalisation unchanged, or Languages
		// would report a tag that no file is named after.
		want := strings.TrimSuffix(strings.TrimPrefix(path.Base(name), filePrefix), fileSuffix)
		tag := file.Tag.String()
		if tag != want {
			return nil, fmt.Errorf("%s: language tag %q is not canonical, name the file %s%s%s", name, want, filePrefix, tag, fileSuffix)
		}
		if _, dup := c.messages[tag]; dup {
			return nil, fmt.Errorf("%s: language %s loaded twice", name, tag)
		}
		byID := make(map[string]*i18n.Message, len(file.Messages))
		for _, m := range file.Messages {
			byID[m.ID] = m
		}
		c.messages[tag] = byID
		c.languages = append(c.languages, tag)
	}
	if _, ok := c.messages["en"]; !ok {
		return nil, fmt.Errorf("no %sen%s: English is the default language and must ship", filePrefix, fileSuffix)
	}
	slices.SortFunc(c.languages, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == "en":
			return -1
		case b == "en":
			return 1
		}
		return strings.Compare(a, b)
	})
	return c, nil
}

// Bundle returns the go-i18n bundle with every shipped language loaded and
// English as the default language. It is loaded once and shared, so callers
// must not add messages to it. Give each Localizer exactly one shipped
// language (after applying the workspace's fallback chain yourself): a
// Localizer given several matches only one of them.
func Bundle() *i18n.Bundle {
	return shipped().bundle
}

// Languages returns the shipped language tags as BCP-47 strings, English
// first, then sorted, which is the order language pickers show them in.
func Languages() []string {
	return slices.Clone(shipped().languages)
}

// MessageIDs lists every message ID the English file defines, sorted. English
// is the reference every other language is checked against.
func MessageIDs() []string {
	en := shipped().messages["en"]
	ids := make([]string, 0, len(en))
	for id := range en {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Keywords returns the keyword list of a keyword message (for example
// KeywordsStop) for one language tag, exactly as that language's file has it:
// English words are not added, because callers match English in every
// language anyway and adding them here would hide a file that repeats them.
// Words are trimmed and never empty. It returns nil for a language that is
// not shipped or a message that is not a keyword list.
func Keywords(lang, messageID string) []string {
	if !strings.HasPrefix(messageID, keywordPrefix) {
		return nil
	}
	m := shipped().message(lang, messageID)
	if m == nil {
		return nil
	}
	return splitKeywords(m.Other)
}

// Name returns a language's own name in its own script (its endonym), such as
// "አማርኛ" for am or "دری" for fa-AF, for language pickers. It returns "" for a
// language that is not shipped.
func Name(lang string) string {
	tag, ok := canonical(lang)
	if !ok {
		return ""
	}
	if _, shippedLang := shipped().messages[tag]; !shippedLang {
		return ""
	}
	return endonyms[tag]
}

// message returns one raw message, or nil.
func (c *catalog) message(lang, id string) *i18n.Message {
	tag, ok := canonical(lang)
	if !ok {
		return nil
	}
	return c.messages[tag][id]
}

// canonical turns a caller's tag ("fa-af", "FA-AF") into the form the files
// are named with ("fa-AF").
func canonical(lang string) (string, bool) {
	tag, err := language.Parse(lang)
	if err != nil {
		return "", false
	}
	return tag.String(), true
}

// splitKeywords splits a comma-separated keyword list.
func splitKeywords(list string) []string {
	var words []string
	for _, w := range strings.Split(list, ",") {
		if w = strings.TrimSpace(w); w != "" {
			words = append(words, w)
		}
	}
	return words
}
