package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/waymark-org/waymark/connections"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/web"
)

// secretFlag reads a credential given as "-" from standard input, so that it stays out of the
// shell history and the process list.
func secretFlag(c cmdIO, v string, in *bufio.Reader) (string, error) {
	if v != "-" {
		return v, nil
	}
	line, err := in.ReadString('\n')
	if err != nil && line == "" {
		return "", usageErr("expected the secret on standard input")
	}
	return strings.TrimSpace(line), nil
}

func cmdChannels(ctx context.Context, c cmdIO, args []string) error {
	if len(args) == 0 {
		return usageErr("usage: waymark channels add twilio|telegram [flags] | list | show ID | remove ID | test ID --to ADDRESS")
	}
	sub, rest := args[0], args[1:]
	provider := ""
	if sub == "add" {
		if len(rest) == 0 || (rest[0] != "twilio" && rest[0] != "telegram") {
			return usageErr("usage: waymark channels add twilio|telegram [flags]")
		}
		provider, rest = rest[0], rest[1:]
	}
	fs := flag.NewFlagSet("channels "+sub, flag.ContinueOnError)
	wsName := workspaceFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	name := fs.String("name", "", "a `NAME` for the channel")
	var (
		accountSID, authToken, from, service, keySID, keySecret, senderType, apiURL *string
		botToken, to, text                                                          *string
		rate                                                                        *float64
		polling                                                                     *bool
	)
	switch {
	case provider == "twilio":
		accountSID = fs.String("account-sid", "", "Twilio Account `SID` (AC...)")
		authToken = fs.String("auth-token", "", "Auth `TOKEN` (checks webhook signatures); - reads it from stdin")
		from = fs.String("from", "", "sender `NUMBER` in E.164")
		service = fs.String("messaging-service", "", "Messaging Service `SID` (MG...), instead of --from")
		keySID = fs.String("api-key-sid", "", "API key `SID` (SK...) to send with, instead of the Auth Token")
		keySecret = fs.String("api-key-secret", "", "API key `SECRET`; - reads it from stdin")
		senderType = fs.String("sender-type", "", "long_code, short_code or messaging_service (sets the default rate)")
		rate = fs.Float64("rate", 0, "segments a second (default: 1 for long codes, 100 for short codes)")
		apiURL = fs.String("api-url", "", "replace https://api.twilio.com (tests and proxies)")
	case provider == "telegram":
		botToken = fs.String("bot-token", "", "the `TOKEN` BotFather gave; - reads it from stdin")
		polling = fs.Bool("polling", false, "fetch updates by long polling instead of a webhook (no public address needed)")
		rate = fs.Float64("rate", 0, "messages a second across all chats (default 30)")
		apiURL = fs.String("api-url", "", "replace https://api.telegram.org (a local Bot API server, tests)")
	case sub == "test":
		to = fs.String("to", "", "`ADDRESS` to send the test message to (required)")
		text = fs.String("text", "", "the message `TEXT` (default: a short test line)")
	}
	if err := parseFlags(fs, c, reorder(fs, rest)); err != nil {
		return err
	}
	var id int64
	switch sub {
	case "show", "remove", "test":
		if fs.NArg() != 1 {
			return usageErr("usage: waymark channels %s ID", sub)
		}
		n, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil || n <= 0 {
			return usageErr("channel ID must be a positive whole number, as `waymark channels list` shows")
		}
		id = n
	case "add", "list":
		if fs.NArg() != 0 {
			return usageErr("waymark channels %s takes no arguments", sub)
		}
	default:
		return usageErr("unknown channels command %q", sub)
	}
	var in connections.Input
	if sub == "add" {
		stdin := bufio.NewReader(c.stdin)
		in = connections.Input{Provider: provider, Name: *name}
		var secrets map[string]string
		var err error
		switch provider {
		case "twilio":
			tok, err1 := secretFlag(c, *authToken, stdin)
			sec, err2 := secretFlag(c, *keySecret, stdin)
			if err1 != nil || err2 != nil {
				return usageErr("could not read a secret from standard input")
			}
			in.Twilio = &connections.Twilio{AccountSID: *accountSID, From: *from, MessagingServiceSID: *service,
				SenderType: *senderType, RatePerSecond: *rate, HandlesStop: true, APIBaseURL: *apiURL}
			secrets = map[string]string{"auth_token": tok, "api_key_sid": *keySID, "api_key_secret": sec}
		case "telegram":
			tok, err := secretFlag(c, *botToken, stdin)
			if err != nil {
				return err
			}
			mode := "webhook"
			if *polling {
				mode = "polling"
			}
			in.Telegram = &connections.Telegram{Mode: mode, RatePerSecond: *rate, APIBaseURL: *apiURL}
			secrets = map[string]string{"bot_token": tok}
		}
		b, err := json.Marshal(secrets)
		if err != nil {
			return err
		}
		r := json.RawMessage(b)
		in.Secrets = &r
	}
	e, keys, ws, err := openWorkspace(ctx, c, *wsName)
	if err != nil {
		return err
	}
	defer e.close(ctx)
	a, err := newApp(e, keys)
	if err != nil {
		return err
	}
	show := func(ch connections.Channel) error {
		hooks := web.WebhookURLs(e.cfg.PublicURL, ch)
		if *asJSON {
			return json.NewEncoder(c.stdout).Encode(map[string]any{"channel": ch, "webhooks": hooks})
		}
		fmt.Fprintf(c.stdout, "channel %d: %s over %s (%q)\n", ch.ID, ch.Kind, ch.Provider, ch.Name)
		if t := ch.Twilio; t != nil {
			sender := t.From
			if t.MessagingServiceSID != "" {
				sender = t.MessagingServiceSID
			}
			fmt.Fprintf(c.stdout, "  account %s, sender %s (%s), %g segments/s\n", t.AccountSID, sender, t.SenderType, t.RatePerSecond)
		}
		if t := ch.Telegram; t != nil {
			fmt.Fprintf(c.stdout, "  %s mode, %g messages/s, %g per chat\n", t.Mode, t.RatePerSecond, t.PerChatPerSecond)
		}
		for _, k := range []string{"inbound", "status", "updates"} {
			if u, ok := hooks[k]; ok {
				fmt.Fprintf(c.stdout, "  %s webhook: %s\n", k, u)
			}
		}
		return nil
	}
	by := cliActor()
	switch sub {
	case "add":
		ch, err := a.conns.Add(ctx, ws.ID, in, by)
		if err != nil {
			return err
		}
		if err := a.channels.register(ctx, ch); err != nil {
			_ = a.conns.Remove(ctx, ws.ID, ch.ID, by)
			return err
		}
		return show(ch)
	case "list":
		list, err := a.conns.List(ctx, ws.ID)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(c.stdout).Encode(map[string]any{"channels": list})
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tPROVIDER\tNAME")
		fmt.Fprintln(tw, "-\tsandbox\tbuilt in\tsandbox")
		for _, ch := range list {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", ch.ID, ch.Kind, ch.Provider, ch.Name)
		}
		return tw.Flush()
	case "show":
		ch, err := a.conns.Get(ctx, ws.ID, id)
		if err != nil {
			return err
		}
		return show(ch)
	case "remove":
		if err := a.conns.Remove(ctx, ws.ID, id, by); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "removed channel %d\n", id)
		return nil
	case "test":
		ch, err := a.conns.Get(ctx, ws.ID, id)
		if err != nil {
			return err
		}
		addr, err := contacts.NormalizeAddress(ch.Kind, *to, ws.DefaultCountry)
		if err != nil {
			return usageErr("--to: %v", err)
		}
		msg := *text
		if msg == "" {
			msg = "Test message from Waymark."
		}
		res, err := a.channels.testSend(ctx, ch, addr, msg)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "sent: %s (%s)\n", res.ProviderID, res.Status)
	}
	return nil
}
