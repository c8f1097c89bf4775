package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/waymark-org/waymark/chatbot"
)

// cmdChatbot imports a workspace's chatbot tree from a YAML or JSON file.
func cmdChatbot(ctx context.Context, c cmdIO, args []string) error {
	if len(args) == 0 || args[0] != "import" {
		return usageErr("usage: waymark chatbot import FILE (YAML or JSON)")
	}
	fs := flag.NewFlagSet("chatbot import", flag.ContinueOnError)
	wsName := workspaceFlag(fs)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, c, reorder(fs, args[1:])); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErr("usage: waymark chatbot import FILE (YAML or JSON)")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return usageErr("cannot read %s: %v", fs.Arg(0), err)
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	f.Close()
	if err != nil {
		return usageErr("cannot read %s: %v", fs.Arg(0), err)
	}
	e, ws, err := openMigratedWorkspace(ctx, c, *wsName)
	if err != nil {
		return err
	}
	defer e.close(ctx)
	tree, err := chatbot.NewStore(e.pool).Import(ctx, ws.ID, data, cliActor())
	if err != nil {
		return usageErr("%s:\n%v", fs.Arg(0), err)
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(map[string]any{"nodes": len(tree.Nodes), "languages": tree.Languages, "warnings": tree.Warnings()})
	}
	fmt.Fprintf(c.stdout, "imported a chatbot of %d nodes in %v\n", len(tree.Nodes), tree.Languages)
	for _, w := range tree.Warnings() {
		fmt.Fprintf(c.stdout, "warning: %s: %s\n", w.Field, w.Message)
	}
	return nil
}
