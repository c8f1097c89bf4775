package main

import (
	"encoding/json"
	"flag"
	"io"

	"github.com/waymark-org/waymark/channels"
)

// cmdSMSSegments prints the encoding, segment count and units of a text exactly as given: a final
// newline read from stdin is part of the message.
func cmdSMSSegments(c cmdIO, args []string) error {
	fs := flag.NewFlagSet("sms segments", flag.ContinueOnError)
	text := fs.String("text", "", "the `TEXT` to count instead of reading stdin")
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErr("usage: waymark sms segments [--text TEXT]  (or the text on stdin)")
	}
	s := *text
	textSet := false
	fs.Visit(func(f *flag.Flag) { textSet = textSet || f.Name == "text" })
	if !textSet {
		b, err := io.ReadAll(io.LimitReader(c.stdin, 1<<20))
		if err != nil {
			return usageErr("read stdin: %v", err)
		}
		s = string(b)
	}
	return json.NewEncoder(c.stdout).Encode(channels.CountSegments(s))
}
