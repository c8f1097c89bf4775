package chatbot_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nicksnyder/go-i18n/v2/i18n"

	"github.com/waymark-org/waymark/chatbot"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/locales"
)

// exampleTree parses testdata/tree.yaml, the safe-migration line in English, Amharic and Arabic.
func exampleTree(t *testing.T) *chatbot.Tree {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "tree.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tree, err := chatbot.ParseTree(data)
	if err != nil {
		t.Fatalf("ParseTree(tree.yaml): %v", err)
	}
	return tree
}

// shipped renders a message of Waymark's own in one shipped language.
func shipped(t *testing.T, lang, id string) string {
	t.Helper()
	s, err := i18n.NewLocalizer(locales.Bundle(), lang).Localize(&i18n.LocalizeConfig{MessageID: id})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fieldErrors flattens a joined validation error into "field: message" lines, failing on any
// error that is not an Invalid *errcode.Error.
func fieldErrors(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var lines []string
	var walk func(error)
	walk = func(err error) {
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range joined.Unwrap() {
				walk(e)
			}
			return
		}
		var e *errcode.Error
		if !errors.As(err, &e) || e.Code != errcode.Invalid {
			t.Errorf("error %v is not an errcode.Invalid error", err)
			return
		}
		lines = append(lines, e.Field+": "+e.Message)
	}
	walk(err)
	return lines
}

func TestTreeParseExample(t *testing.T) {
	t.Parallel()
	tree := exampleTree(t)
	if tree.Root != "start" {
		t.Errorf("Root = %q, want start", tree.Root)
	}
	if want := []string{"en", "am", "ar"}; !slices.Equal(tree.Languages, want) {
		t.Errorf("Languages = %q, want %q", tree.Languages, want)
	}
	if got := len(tree.Nodes); got != 11 {
		t.Errorf("%d nodes, want 11", got)
	}
	if got := tree.Nodes["visa"]; got == nil || got.Kind != chatbot.NodeAnswer || got.Next != chatbot.NextBack {
		t.Errorf("visa = %+v, want an answer going back", got)
	}
	// Every reply of the example fits three SMS segments, in every language.
	for _, w := range tree.Warnings() {
		t.Errorf("warning: %s: %s", w.Field, w.Message)
	}

	// The same tree written as JSON parses to the same thing: the field names are one contract.
	data, err := json.Marshal(tree)
	if err != nil {
		t.Fatal(err)
	}
	again, err := chatbot.ParseTree(data)
	if err != nil {
		t.Fatalf("ParseTree(JSON of tree.yaml): %v", err)
	}
	if !reflect.DeepEqual(again, tree) {
		t.Errorf("JSON round trip changed the tree:\n%s", data)
	}
}

// The neutral-wording rule: nothing a lock screen can show names a crime or a victim.
func TestTreeExampleWordingIsNeutral(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "tree.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			texts = append(texts, strings.ToLower(line))
		}
	}
	for _, word := range []string{"traffick", "victim", "slave", "exploit", "اتجار", "ضحية", "ሕገወጥ", "ሰለባ"} {
		if body := strings.Join(texts, "\n"); strings.Contains(body, word) {
			t.Errorf("tree.yaml says %q", word)
		}
	}
}

func TestTreeInvalidFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []string
	}{
		{"unknown_node.yaml", []string{
			"nodes.start.options.1.next: unknown node: option 1 of menu 'start' leads to 'visas', which is not a node",
		}},
		{"missing_translation.yaml", []string{
			"nodes.start.options.2.label.ti: missing translation: option 2 of menu 'start' has no 'ti' label",
			"nodes.visa.text.ti: missing translation: node 'visa' has no 'ti' text",
		}},
		{"loop.yaml", []string{
			"nodes.more.options: loop without exit: menus more -> other -> more never reach an answer or a person",
		}},
		{"unknown_field.yaml", []string{
			"nodes.visa.txt: unknown field 'txt' in node 'visa'",
		}},
		{"unknown_field.json", []string{
			"nodes.start.options.1.lable: unknown field 'lable' in option 1 of menu 'start'",
		}},
		{"bad_language.yaml", []string{
			"languages.2: bad language tag: 'amharic' is not a BCP-47 language tag (such as 'am', 'ar' or 'fa-AF')",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			tree, err := chatbot.ParseTree(data)
			if err == nil {
				t.Fatalf("ParseTree succeeded: %+v", tree)
			}
			if tree != nil {
				t.Errorf("ParseTree returned a tree with its error")
			}
			if code := errcode.CodeOf(err); code != errcode.Invalid {
				t.Errorf("code %q, want %q", code, errcode.Invalid)
			}
			if got := fieldErrors(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// validTree is a small valid tree that TestTreeValidate breaks one rule at a time.
func validTree() *chatbot.Tree {
	return &chatbot.Tree{
		Root:      "start",
		Languages: []string{"en", "am"},
		Nodes: map[string]*chatbot.Node{
			"start": {Kind: chatbot.NodeMenu, Text: map[string]string{"en": "Pick:", "am": "ይምረጡ፦"},
				Options: []chatbot.MenuOption{
					{Next: "visa", Label: map[string]string{"en": "Visa", "am": "ቪዛ"}},
					{Next: "more", Label: map[string]string{"en": "More", "am": "ተጨማሪ"}},
				}},
			"more": {Kind: chatbot.NodeMenu, Text: map[string]string{"en": "More:", "am": "ተጨማሪ፦"},
				Options: []chatbot.MenuOption{
					{Next: chatbot.NextTalk, Label: map[string]string{"en": "Someone", "am": "ሰው"}},
					{Next: chatbot.NextBack, Label: map[string]string{"en": "Back", "am": "ተመለስ"}},
				}},
			"visa": {Kind: chatbot.NodeAnswer, Text: map[string]string{"en": "Check it.", "am": "ያረጋግጡ።"}},
		},
	}
}

func TestTreeValidate(t *testing.T) {
	t.Parallel()
	label := func(en string) map[string]string { return map[string]string{"en": en, "am": en} }
	tests := []struct {
		name   string
		change func(*chatbot.Tree)
		want   []string
	}{
		{"valid", func(*chatbot.Tree) {}, nil},
		{"language Waymark does not ship needs its own talk label and not-understood line",
			func(tr *chatbot.Tree) {
				tr.Languages = append(tr.Languages, "om")
				for _, n := range tr.Nodes {
					n.Text["om"] = "x"
					for _, o := range n.Options {
						o.Label["om"] = o.Label["en"]
					}
				}
			},
			[]string{
				"talk_label.om: missing translation: talk_label has no 'om' text, and Waymark ships none in 'om'",
				"not_understood.om: missing translation: not_understood has no 'om' text, and Waymark ships none in 'om'",
			}},
		{"own talk label for a language Waymark does not ship", func(tr *chatbot.Tree) {
			tr.Languages = append(tr.Languages, "om")
			tr.TalkLabel = map[string]string{"om": "Nama waliin haasa'i"}
			tr.NotUnderstood = map[string]string{"om": "Dhiifama, hin hubanne."}
			for _, n := range tr.Nodes {
				n.Text["om"] = "x"
				for _, o := range n.Options {
					o.Label["om"] = o.Label["en"]
				}
			}
		}, nil},
		{"non-canonical and repeated tags", func(tr *chatbot.Tree) {
			tr.Languages = []string{"en", "am", "fa-af", "am", "prs"}
		}, []string{
			"languages.3: bad language tag: write 'fa-af' as 'fa-AF'",
			"languages.4: language 'am' is listed twice",
			"languages.5: bad language tag: write Dari as 'fa-AF', not 'prs'",
		}},
		{"text in a language the tree is not written in", func(tr *chatbot.Tree) {
			tr.Nodes["visa"].Text["amh"] = "x"
		}, []string{
			"nodes.visa.text.amh: node 'visa' has text in 'amh', which is not one of the tree's languages",
		}},
		{"root is an answer", func(tr *chatbot.Tree) { tr.Root = "visa" }, []string{
			"root: root 'visa' is an answer; the root must be a menu",
		}},
		{"no root", func(tr *chatbot.Tree) { tr.Root = "" }, []string{
			"root: the tree names no root menu",
		}},
		{"reserved and malformed ids", func(tr *chatbot.Tree) {
			tr.Nodes["talk"] = tr.Nodes["visa"]
			tr.Nodes["visa rules"] = tr.Nodes["visa"]
		}, []string{
			"nodes.talk: node id 'talk' is reserved for a target; choose another",
			"nodes.visa rules: node id 'visa rules' must be 1 to 62 letters, digits, '_' or '-'",
		}},
		{"duplicate labels, ignoring case", func(tr *chatbot.Tree) {
			tr.Nodes["start"].Options[1].Label = map[string]string{"en": "VISA", "am": "ተጨማሪ"}
		}, []string{
			"nodes.start.options.2.label.en: option 2 of menu 'start' repeats the 'en' label of option 1",
		}},
		{"ten options", func(tr *chatbot.Tree) {
			var options []chatbot.MenuOption
			for i := range 10 {
				options = append(options, chatbot.MenuOption{Next: "visa", Label: label(fmt.Sprint("Visa ", i))})
			}
			tr.Nodes["start"].Options = options
		}, []string{
			"nodes.start.options: menu 'start' has 10 options; SMS numbers them 1 to 9 and keeps 0 for talking to a person",
		}},
		{"menu without options", func(tr *chatbot.Tree) { tr.Nodes["more"].Options = nil }, []string{
			"nodes.more.options: menu 'more' has no options",
		}},
		{"answer continuing to an answer or an unknown node", func(tr *chatbot.Tree) {
			tr.Nodes["other"] = &chatbot.Node{Kind: chatbot.NodeAnswer, Next: "visa", Text: label("Other.")}
			tr.Nodes["visa"].Next = "nowhere"
		}, []string{
			"nodes.other.next: answer 'other' continues to answer 'visa'; an answer continues to a menu",
			"nodes.visa.next: unknown node: answer 'visa' continues to 'nowhere', which is not a node",
		}},
		{"bad kind", func(tr *chatbot.Tree) { tr.Nodes["visa"].Kind = "faq" }, []string{
			"nodes.visa.kind: node 'visa' has kind 'faq'; use 'menu' or 'answer'",
		}},
		{"a loop through back", func(tr *chatbot.Tree) {
			tr.Nodes["start"].Options = tr.Nodes["start"].Options[1:]
			tr.Nodes["more"].Options = tr.Nodes["more"].Options[1:]
		}, []string{
			"nodes.more.options: loop without exit: menus more -> start -> more never reach an answer or a person",
		}},
		{"SMS reply too long", func(tr *chatbot.Tree) {
			tr.Nodes["visa"].Text["am"] = strings.Repeat("ቪ", 1600)
		}, []string{
			"nodes.visa.text.am: node 'visa' in 'am' makes an SMS reply of 1637 characters; SMS providers refuse more than 1600",
		}},
		{"several problems at once", func(tr *chatbot.Tree) {
			delete(tr.Nodes["visa"].Text, "am")
			delete(tr.Nodes["start"].Options[1].Label, "en")
			tr.Nodes["more"].Options[1].Next = "mroe"
		}, []string{
			"nodes.more.options.2.next: unknown node: option 2 of menu 'more' leads to 'mroe', which is not a node",
			"nodes.start.options.2.label.en: missing translation: option 2 of menu 'start' has no 'en' label",
			"nodes.visa.text.am: missing translation: node 'visa' has no 'am' text",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tree := validTree()
			tt.change(tree)
			err := tree.Validate()
			if got := fieldErrors(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestTreeWarnsAboutLongReplies(t *testing.T) {
	t.Parallel()
	tree := validTree()
	tree.Nodes["visa"].Text["am"] = strings.Repeat("ቪዛ ", 60)
	if err := tree.Validate(); err != nil {
		t.Fatal(err)
	}
	got := tree.Warnings()
	if len(got) != 1 || got[0].Field != "nodes.visa.text.am" || !strings.Contains(got[0].Message, "4 UCS-2 segments") {
		t.Errorf("Warnings() = %+v, want one about 4 UCS-2 segments of nodes.visa.text.am", got)
	}
}

// latin finds Latin letters, which a reply wholly in Amharic or Arabic must not contain.
var latin = regexp.MustCompile(`[A-Za-z]`)

func TestMenuRenderSMS(t *testing.T) {
	t.Parallel()
	tree := exampleTree(t)
	tests := []struct {
		node, lang string
		want       string
	}{
		{"start", "en", "Travel and work information. Reply with a number:\n" +
			"1. Before you travel\n2. Work abroad\n3. Get help\n0. Talk to a person"},
		{"start", "am", "የጉዞና የሥራ መረጃ። ቁጥር ይላኩ፦\n" +
			"1. ከጉዞ በፊት\n2. በውጭ አገር መሥራት\n3. እርዳታ ማግኘት\n0. " + shipped(t, "am", locales.TalkToPerson)},
		{"help", "ar", "المساعدة:\n" +
			"1. وثائق مفقودة أو محتجزة\n2. أرقام السفارة\n3. رجوع\n0. " + shipped(t, "ar", locales.TalkToPerson)},
		// An answer is followed by the menu it goes back to.
		{"visa", "am", "ቪዛዎ ለቀረበልዎ ሥራ የሥራ ቪዛ መሆኑን ያረጋግጡ። የጉብኝት ቪዛ ለመሥራት አይፈቅድም።\n\n" +
			"ከጉዞ በፊት፦\n1. ኤጀንሲን ማረጋገጥ\n2. የሚያዙ ሰነዶች\n3. ቪዛና ፓስፖርት\n4. ተመለስ\n0. " + shipped(t, "am", locales.TalkToPerson)},
		// A regional variant gets its base language; a language the tree lacks gets the default.
		{"work", "ar-SA", "العمل في الخارج:\n1. عقد العمل\n2. علامات التحذير\n3. القائمة الرئيسية\n0. " + shipped(t, "ar", locales.TalkToPerson)},
		{"work", "ti", "Work abroad:\n1. Your contract\n2. Warning signs\n3. Main menu\n0. Talk to a person"},
		// A node that no longer exists renders the root menu rather than nothing.
		{"gone", "en", "Travel and work information. Reply with a number:\n" +
			"1. Before you travel\n2. Work abroad\n3. Get help\n0. Talk to a person"},
	}
	for _, tt := range tests {
		t.Run(tt.node+"/"+tt.lang, func(t *testing.T) {
			t.Parallel()
			if got := tree.RenderSMS(tt.node, tt.lang); got != tt.want {
				t.Errorf("RenderSMS(%q, %q) =\n%s\nwant\n%s", tt.node, tt.lang, got, tt.want)
			}
		})
	}
}

// Every node, rendered in Amharic or Arabic, is wholly in that language: no English slips in
// through a label, the talk option or a missing text.
func TestMenuRenderSMSWhollyInLanguage(t *testing.T) {
	t.Parallel()
	tree := exampleTree(t)
	for _, lang := range []string{"am", "ar"} {
		talk := shipped(t, lang, locales.TalkToPerson)
		for id := range tree.Nodes {
			got := tree.RenderSMS(id, lang)
			if latin.MatchString(got) {
				t.Errorf("RenderSMS(%q, %q) has Latin letters:\n%s", id, lang, got)
			}
			if !strings.HasSuffix(got, "\n0. "+talk) {
				t.Errorf("RenderSMS(%q, %q) does not end with the localized talk option %q:\n%s", id, lang, talk, got)
			}
		}
	}
}

func TestTreeStep(t *testing.T) {
	t.Parallel()
	tree := exampleTree(t)
	notUnderstood := func(lang string) string { return shipped(t, lang, locales.NotUnderstood) + "\n" }
	tests := []struct {
		name                string
		current, lang, text string
		node, answer        string
		talk, understood    bool
		replyPrefix         string
	}{
		{name: "number on a new conversation picks from the root", current: "", lang: "en", text: "2",
			node: "work", understood: true, replyPrefix: "Work abroad:\n1. Your contract"},
		{name: "number picks from the current menu", current: "travel", lang: "en", text: " 3. ",
			node: "travel", answer: "visa", understood: true, replyPrefix: "Check that your visa"},
		{name: "Arabic-Indic digit", current: "start", lang: "ar", text: "٣",
			node: "help", understood: true, replyPrefix: "المساعدة:"},
		{name: "Ethiopic numeral", current: "start", lang: "am", text: "፩",
			node: "travel", understood: true, replyPrefix: "ከጉዞ በፊት፦"},
		{name: "back goes to the parent menu", current: "help", lang: "en", text: "3",
			node: "start", understood: true, replyPrefix: "Travel and work information."},
		{name: "root option", current: "work", lang: "en", text: "3",
			node: "start", understood: true, replyPrefix: "Travel and work information."},
		{name: "answer from an answer's menu", current: "contract", lang: "en", text: "2",
			node: "work", answer: "warning_signs", understood: true, replyPrefix: "Be careful if"},
		{name: "answer going to the root by default", current: "help", lang: "en", text: "2",
			node: "start", answer: "embassy", understood: true, replyPrefix: "Your embassy"},
		{name: "zero talks to a person", current: "work", lang: "am", text: "0",
			node: "work", talk: true, understood: true, replyPrefix: "በውጭ አገር ሥራ፦"},
		{name: "Arabic-Indic zero", current: "", lang: "ar", text: "٠",
			node: "start", talk: true, understood: true},
		{name: "number the menu lacks shows that menu again", current: "help", lang: "en", text: "7",
			node: "help", replyPrefix: notUnderstood("en") + "Get help:"},
		{name: "talk keyword in English", current: "travel", lang: "en", text: "TALK",
			node: "travel", talk: true, understood: true},
		{name: "talk keyword in Amharic", current: "", lang: "am", text: "ሰው",
			node: "start", talk: true, understood: true},
		{name: "talk keyword in Arabic", current: "", lang: "ar", text: "شخص",
			node: "start", talk: true, understood: true},
		{name: "talk label typed out", current: "", lang: "en", text: "talk to a person please",
			node: "start", talk: true, understood: true},
		{name: "typo of a keyword", current: "", lang: "en", text: "pasport",
			node: "travel", answer: "visa", understood: true, replyPrefix: "Check that your visa"},
		{name: "keyword in a sentence", current: "work", lang: "en", text: "How do I check a recruiter?",
			node: "travel", answer: "agency", understood: true, replyPrefix: "Before you pay anyone"},
		{name: "Amharic keyword in a sentence", current: "", lang: "am", text: "ቪዛ እፈልጋለሁ",
			node: "travel", answer: "visa", understood: true, replyPrefix: "ቪዛዎ ለቀረበልዎ"},
		{name: "Amharic keyword with an ending", current: "", lang: "am", text: "ስለ ኤምባሲው",
			node: "start", answer: "embassy", understood: true, replyPrefix: "ኤምባሲዎ"},
		{name: "Arabic article and ta marbuta written as ha", current: "", lang: "ar", text: "التأشيره",
			node: "travel", answer: "visa", understood: true, replyPrefix: "تأكد أن تأشيرتك"},
		{name: "Arabic menu keyword", current: "", lang: "ar", text: "أريد مساعدة",
			node: "help", understood: true, replyPrefix: "المساعدة:"},
		{name: "default language keyword from someone writing another", current: "", lang: "am", text: "embassy",
			node: "start", answer: "embassy", understood: true, replyPrefix: "ኤምባሲዎ"},
		{name: "an option label typed out", current: "", lang: "en", text: "warning signs",
			node: "work", answer: "warning_signs", understood: true},
		{name: "unrelated text gets the root menu", current: "work", lang: "en", text: "the weather is lovely today",
			node: "start", replyPrefix: notUnderstood("en") + "Travel and work information."},
		{name: "unrelated Amharic", current: "", lang: "am", text: "ዛሬ ዝናብ ዘነበ",
			node: "start", replyPrefix: notUnderstood("am") + "የጉዞና የሥራ መረጃ።"},
		{name: "unrelated Arabic", current: "help", lang: "ar", text: "الطقس جميل اليوم",
			node: "start", replyPrefix: notUnderstood("ar") + "معلومات عن السفر والعمل."},
		{name: "empty message", current: "", lang: "en", text: "  ",
			node: "start", replyPrefix: notUnderstood("en")},
		{name: "emoji only", current: "", lang: "en", text: "👍",
			node: "start", replyPrefix: notUnderstood("en")},
		{name: "stale state", current: "removed_menu", lang: "en", text: "1",
			node: "travel", understood: true, replyPrefix: "Before you travel:"},
		{name: "button data", current: "", lang: "ar", text: "n:contract",
			node: "work", answer: "contract", understood: true, replyPrefix: "اقرأ عقدك"},
		{name: "talk button data", current: "help", lang: "ar", text: "talk",
			node: "help", talk: true, understood: true},
		{name: "button data for a node that is gone", current: "", lang: "en", text: "n:gone",
			node: "start", replyPrefix: notUnderstood("en")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tree.Step(tt.current, tt.lang, tt.text)
			if got.Node != tt.node || got.Answer != tt.answer || got.Talk != tt.talk || got.Understood != tt.understood {
				t.Errorf("Step(%q, %q, %q) = {Node %q, Answer %q, Talk %v, Understood %v}, want {%q, %q, %v, %v}",
					tt.current, tt.lang, tt.text, got.Node, got.Answer, got.Talk, got.Understood,
					tt.node, tt.answer, tt.talk, tt.understood)
			}
			if !strings.HasPrefix(got.Reply, tt.replyPrefix) {
				t.Errorf("Reply =\n%s\nwant it to start with\n%s", got.Reply, tt.replyPrefix)
			}
			// The reply lists the options of the node the conversation is now at, so a number in
			// the next message means what the person saw.
			if menu := tree.RenderSMS(got.Node, tt.lang); !strings.HasSuffix(got.Reply, menu) {
				t.Errorf("Reply =\n%s\ndoes not end with the menu of %q:\n%s", got.Reply, got.Node, menu)
			}
			if !strings.HasPrefix(got.Reply, got.Text) || strings.Contains(got.Text, "\n1. ") {
				t.Errorf("Text = %q should be Reply without its numbered options; Reply = %q", got.Text, got.Reply)
			}
		})
	}
}

// Step never leaves a person without a reply, and never quotes back what they wrote: the
// phone may be read by the person they are worried about.
func TestTreeStepNeverSilentNorEchoes(t *testing.T) {
	t.Parallel()
	tree := exampleTree(t)
	messages := []string{"", " ", "?", "0", "1", "9", "99", "-1", "n:", "n:start", "talk", "zanzibar42",
		"my boss Qwertyuiop took my phone", "ዝናብ፡ክርክርክር", "جميلجميل", "भिसा", "วีซ่า", strings.Repeat("a", 5000)}
	for _, lang := range []string{"en", "am", "ar", "ti", "", "not a tag"} {
		for _, current := range append(slices.Sorted(func(yield func(string) bool) {
			for id := range tree.Nodes {
				if !yield(id) {
					return
				}
			}
		}), "", "gone") {
			for _, msg := range messages {
				got := tree.Step(current, lang, msg)
				if strings.TrimSpace(got.Reply) == "" || strings.TrimSpace(got.Text) == "" {
					t.Errorf("Step(%q, %q, %q) replied nothing: %+v", current, lang, msg, got)
				}
				if tree.Nodes[got.Node] == nil || tree.Nodes[got.Node].Kind != chatbot.NodeMenu {
					t.Errorf("Step(%q, %q, %q) left the conversation at %q, not a menu", current, lang, msg, got.Node)
				}
				for _, secret := range []string{"zanzibar42", "Qwertyuiop", "ክርክርክር", "جميلجميل"} {
					if strings.Contains(msg, secret) && strings.Contains(got.Reply, secret) {
						t.Errorf("Step(%q, %q, %q) quotes the message back: %q", current, lang, msg, got.Reply)
					}
				}
			}
		}
	}
}

func TestMenuButtons(t *testing.T) {
	t.Parallel()
	tree := exampleTree(t)
	for _, lang := range []string{"en", "am", "ar"} {
		for id := range tree.Nodes {
			rows := tree.Buttons(id, lang)
			menu := tree.Step(id, lang, "n:"+id).Node // the menu a button press from here shows
			want := len(tree.Nodes[menu].Options) + 1
			if len(rows) != want {
				t.Errorf("Buttons(%q, %q) has %d rows, want %d", id, lang, len(rows), want)
				continue
			}
			last := rows[len(rows)-1]
			if len(last) != 1 || last[0].Text != shipped(t, lang, locales.TalkToPerson) {
				t.Errorf("Buttons(%q, %q) does not end with the localized talk button: %+v", id, lang, last)
			}
			for i, row := range rows {
				if len(row) != 1 {
					t.Errorf("Buttons(%q, %q) row %d has %d buttons, want 1", id, lang, i+1, len(row))
					continue
				}
				b := row[0]
				if len(b.Data) > 64 || b.Data == "" || b.Text == "" {
					t.Errorf("Buttons(%q, %q) row %d = %+v: Telegram needs text and 1 to 64 bytes of data", id, lang, i+1, b)
				}
				if lang != "en" && latin.MatchString(b.Text) {
					t.Errorf("Buttons(%q, %q) row %d label %q is not in %s", id, lang, i+1, b.Text, lang)
				}
				// Pressing the button does what typing its number does.
				number := fmt.Sprint(i + 1)
				if i == len(rows)-1 {
					number = "0"
				}
				pressed, typed := tree.Step(id, lang, b.Data), tree.Step(id, lang, number)
				if pressed != typed {
					t.Errorf("in %q (%s), button %q gives %+v but typing %s gives %+v", id, lang, b.Data, pressed, number, typed)
				}
				if !pressed.Understood {
					t.Errorf("in %q (%s), button %q was not understood", id, lang, b.Data)
				}
			}
		}
	}
}

// A tree may be written in a language Waymark ships no texts for, with its own talk label and
// not-understood line; replies then use them and stay in that language.
func TestMenuOwnSystemTexts(t *testing.T) {
	t.Parallel()
	tree := validTree()
	tree.Languages = []string{"om", "en"}
	tree.TalkLabel = map[string]string{"om": "Nama waliin haasa'i"}
	tree.NotUnderstood = map[string]string{"om": "Dhiifama, hin hubanne."}
	tree.Nodes["start"].Text["om"] = "Filadhu:"
	tree.Nodes["start"].Options[0].Label["om"] = "Viizaa"
	tree.Nodes["start"].Options[1].Label["om"] = "Dabalataa"
	tree.Nodes["more"].Text["om"] = "Dabalataa:"
	tree.Nodes["more"].Options[0].Label["om"] = "Nama"
	tree.Nodes["more"].Options[1].Label["om"] = "Duubatti"
	tree.Nodes["visa"].Text["om"] = "Mirkaneeffadhu."
	for _, n := range tree.Nodes {
		delete(n.Text, "am")
		for _, o := range n.Options {
			delete(o.Label, "am")
		}
	}
	if err := tree.Validate(); err != nil {
		t.Fatal(err)
	}
	got := tree.Step("", "om", "qwerty")
	want := "Dhiifama, hin hubanne.\nFiladhu:\n1. Viizaa\n2. Dabalataa\n0. Nama waliin haasa'i"
	if got.Reply != want || got.Understood {
		t.Errorf("Step = %+v, want Reply %q, not understood", got, want)
	}
	// A person whose language the tree lacks gets the default language, om, wholly.
	if got := tree.RenderSMS("more", "fr"); got != "Dabalataa:\n1. Nama\n2. Duubatti\n0. Nama waliin haasa'i" {
		t.Errorf("RenderSMS(more, fr) = %q", got)
	}
	if got := tree.Step("more", "om", "1"); !got.Talk {
		t.Errorf("an option leading to talk gave %+v", got)
	}
}

// NextBack leads to the menu that leads to this one, not always to the root.
func TestTreeStepBackFromDeepMenu(t *testing.T) {
	t.Parallel()
	tree := validTree()
	tree.Nodes["more"].Options = append(tree.Nodes["more"].Options, chatbot.MenuOption{
		Next: "deeper", Label: map[string]string{"en": "Deeper", "am": "ጥልቅ"},
	})
	tree.Nodes["deeper"] = &chatbot.Node{Kind: chatbot.NodeMenu, Text: map[string]string{"en": "Deeper:", "am": "ጥልቅ፦"},
		Options: []chatbot.MenuOption{
			{Next: "tip", Label: map[string]string{"en": "A tip", "am": "ምክር"}},
			{Next: chatbot.NextBack, Label: map[string]string{"en": "Back", "am": "ተመለስ"}},
		}}
	tree.Nodes["tip"] = &chatbot.Node{Kind: chatbot.NodeAnswer, Next: chatbot.NextBack,
		Text: map[string]string{"en": "A tip.", "am": "ምክር።"}}
	if err := tree.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := tree.Step("deeper", "en", "2"); got.Node != "more" {
		t.Errorf("back from deeper went to %q, want more", got.Node)
	}
	if got := tree.Step("deeper", "en", "1"); got.Node != "deeper" || got.Answer != "tip" {
		t.Errorf("the tip went on to %q (answer %q), want deeper after tip", got.Node, got.Answer)
	}
	if got := tree.Buttons("deeper", "am")[1][0]; got != (chatbot.Option{Text: "ተመለስ", Data: "n:more"}) {
		t.Errorf("back button = %+v, want data n:more", got)
	}
}
