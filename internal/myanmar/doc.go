// Package myanmar owns Waymark's handling of Burmese text in the legacy Zawgyi
// encoding: telling it from Unicode Burmese ([IsZawgyi]) and converting it to
// Unicode ([ToUnicode], [Normalize]), so that inbound messages are stored and
// matched against keywords in one encoding.
//
// Zawgyi is a font, not an encoding Unicode knows: it draws Burmese from the
// Myanmar block's code points but gives many of them other meanings. It stores
// the vowel sign E (U+1031) and medial RA before their consonant, as they are
// drawn; its asat is U+1039 (Unicode's virama), its medials YA, RA, WA and HA
// sit one code point below Unicode's (U+103A to U+103D); and it uses U+1060 to
// U+1097, which Unicode gives to Mon, Shan and Karen, for stacked consonants,
// kinzi and glyph variants. The same bytes therefore read as different words
// in the two encodings, and a keyword typed in Zawgyi never equals the shipped
// Unicode keyword.
//
// # Limits
//
// Detection is rule-based, not a trained model (google/myanmar-tools uses a
// Markov model; ICU's Zawgyi-my transform is the converter it pairs with). It
// counts sequences that are invalid in one encoding and well-formed in the
// other, such as U+1031 before its consonant, U+1039 with no consonant after
// it, or a Zawgyi stacked form after a consonant, and says Zawgyi only when
// that evidence clearly outweighs the Unicode evidence. Text without such a
// sequence is left alone: many short words are spelled with the same code
// points in both encodings (then nothing needs converting) or differ only in
// ways each encoding allows (Zawgyi ရပ္ပါ for ရပ်ပါ reads in Unicode as a
// Pali-style stacked consonant), and a wrong conversion garbles Unicode text.
// Short messages are therefore converted only when they contain a sequence
// that Unicode forbids.
//
// The converter reorders each syllable into Unicode's storage order and maps
// Zawgyi's glyph variants to the letters they draw. It does not repair
// spelling: a Zawgyi typist's wide medial RA placed before the wrong
// consonant, or a digit typed for a look-alike letter other than ၀ for ဝ and
// ၇ for ရ, stays as typed. Other languages written in the Myanmar script
// (Shan, Mon, Karen) use the code points Zawgyi reused and are not modelled;
// Normalize is meant for text that is Burmese or not Myanmar script at all.
//
// The Zawgyi code point meanings follow the Zawgyi-One font as documented by
// the Rabbit converter and google/myanmar-tools.
package myanmar
