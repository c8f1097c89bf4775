// Command waymark is the single Waymark binary: API, console, webhooks and workers, and the
// commands that set up and operate an install.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/waymark-org/waymark/internal/errcode"
)

const usage = `waymark: safe multilingual messaging for people on the move

Usage: waymark COMMAND [flags]

Commands:
  serve                          API, webhooks and workers in one process
  worker                         workers only; run more of them to scale out
  migrate                        apply River's and Waymark's database migrations
  demo [--contacts N] [--once] [--json]
                                 set everything up with no configuration and show it working
  workspaces create NAME         create a workspace
  workspaces list                list workspaces
  tokens create --role ROLE      issue an API token (printed once) for the workspace
  tokens list                    list the workspace's tokens (never the tokens themselves)
  tokens revoke ID               stop a token from working
  contacts import FILE.csv       import contacts; rejected rows go to FILE.rejected.csv
  campaign create|list|show|schedule|pause|resume|cancel|status
                                 author, check and send campaigns (status --follow shows progress)
  channels add twilio|telegram|list|show|remove|test
                                 connect Twilio SMS and Telegram bots; test them
  chatbot import FILE            load the workspace's menus and answers (YAML or JSON)
  keys generate [--add]          write the key file that encrypts personal data (or add a key)
  keys rotate [--json]           re-encrypt every encrypted value with the newest key
  sms segments [--text TEXT]     count SMS segments of the text on stdin (or --text) as JSON
  bench [--recipients N] [--json]
                                 measure fan-out and dispatch against River's own rate

Commands that act on a workspace take --workspace NAME (or WAYMARK_WORKSPACE); with one
workspace in the install they use it. Configuration comes from WAYMARK_* environment variables:
see the README. Run 'waymark COMMAND -h' for a command's flags.
`

// exitUsage is the exit code for a command line or input that cannot be used at all.
const exitUsage = 2

// errUsage marks errors in how the command was called.
type errUsage struct{ msg string }

func (e errUsage) Error() string { return e.msg }

func usageErr(format string, args ...any) error { return errUsage{fmt.Sprintf(format, args...)} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit code; tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdin, stdout, stderr)
	if err == nil {
		return 0
	}
	var ue errUsage
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "waymark:", ue.msg)
		return exitUsage
	}
	if errors.Is(err, errHelp) {
		return 0
	}
	if e, ok := errcode.As(err); ok && e.Code != errcode.Internal {
		fmt.Fprintln(stderr, "waymark:", e.Error())
	} else {
		fmt.Fprintln(stderr, "waymark:", err)
	}
	return 1
}

var errHelp = errors.New("help shown")

func dispatch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageErr("no command given")
	}
	c := cmdIO{stdin: stdin, stdout: stdout, stderr: stderr}
	cmd, rest := args[0], args[1:]
	sub := ""
	if len(rest) > 0 {
		sub = rest[0]
	}
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "serve":
		return cmdServe(ctx, c, rest, true)
	case "worker":
		return cmdServe(ctx, c, rest, false)
	case "migrate":
		return cmdMigrate(ctx, c, rest)
	case "demo":
		return cmdDemo(ctx, c, rest)
	case "workspaces":
		switch sub {
		case "create":
			return cmdWorkspacesCreate(ctx, c, rest[1:])
		case "list":
			return cmdWorkspacesList(ctx, c, rest[1:])
		}
		return usageErr("usage: waymark workspaces create NAME | waymark workspaces list")
	case "tokens":
		switch sub {
		case "create":
			return cmdTokensCreate(ctx, c, rest[1:])
		case "list":
			return cmdTokensList(ctx, c, rest[1:])
		case "revoke":
			return cmdTokensRevoke(ctx, c, rest[1:])
		}
		return usageErr("usage: waymark tokens create --role ROLE | tokens list | tokens revoke ID")
	case "channels":
		return cmdChannels(ctx, c, rest)
	case "keys":
		switch sub {
		case "generate":
			return cmdKeysGenerate(c, rest[1:])
		case "rotate":
			return cmdKeysRotate(ctx, c, rest[1:])
		}
		return usageErr("usage: waymark keys generate [--add] | waymark keys rotate [--json] [--batch N]")
	case "contacts":
		if sub == "import" {
			return cmdContactsImport(ctx, c, rest[1:])
		}
		return usageErr("usage: waymark contacts import FILE.csv [--json]")
	case "campaign", "campaigns":
		return cmdCampaign(ctx, c, rest)
	case "chatbot":
		return cmdChatbot(ctx, c, rest)
	case "bench":
		return cmdBench(ctx, c, rest)
	case "sms":
		if sub == "segments" {
			return cmdSMSSegments(c, rest[1:])
		}
		return usageErr("usage: waymark sms segments [--text TEXT]")
	}
	fmt.Fprint(stderr, usage)
	return usageErr("unknown command %q", cmd)
}

// cmdIO carries a command's standard streams so tests can capture them.
type cmdIO struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}
