package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/waymark-org/waymark/workspaces"
)

func cmdWorkspacesCreate(ctx context.Context, c cmdIO, args []string) error {
	fs := flag.NewFlagSet("workspaces create", flag.ContinueOnError)
	country := fs.String("default-country", "", "ISO 3166-1 `CODE` used to read national phone numbers")
	asJSON := fs.Bool("json", false, "print the workspace as JSON")
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErr("usage: waymark workspaces create [--default-country CODE] NAME")
	}
	e, err := openMigrated(ctx, c)
	if err != nil {
		return err
	}
	defer e.close(ctx)
	ws, err := workspaces.NewStore(e.pool).Create(ctx, fs.Arg(0), *country)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(ws)
	}
	fmt.Fprintf(c.stdout, "created workspace %q (id %d)\nnext: waymark tokens create --workspace %q --role admin\n", ws.Name, ws.ID, ws.Name)
	return nil
}

func cmdWorkspacesList(ctx context.Context, c cmdIO, args []string) error {
	fs := flag.NewFlagSet("workspaces list", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	e, err := openMigrated(ctx, c)
	if err != nil {
		return err
	}
	defer e.close(ctx)
	all, err := workspaces.NewStore(e.pool).List(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(map[string]any{"workspaces": all})
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tDEFAULT COUNTRY\tCREATED")
	for _, w := range all {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", w.ID, w.Name, w.DefaultCountry, w.CreatedAt.Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

func cmdTokensCreate(ctx context.Context, c cmdIO, args []string) error {
	fs := flag.NewFlagSet("tokens create", flag.ContinueOnError)
	wsName := workspaceFlag(fs)
	roleName := fs.String("role", "", "`ROLE` of the token: admin, author, operator or viewer (required)")
	userName := fs.String("user", "", "`NAME` of the user the token acts as (default: the role's name)")
	label := fs.String("name", "", "a `LABEL` to tell the token apart")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	if *roleName == "" || fs.NArg() != 0 {
		return usageErr("usage: waymark tokens create --role admin|author|operator|viewer [--user NAME] [--name LABEL]")
	}
	role, err := workspaces.ParseRole(*roleName)
	if err != nil {
		return usageErr("%v", err)
	}
	e, ws, err := openMigratedWorkspace(ctx, c, *wsName)
	if err != nil {
		return err
	}
	defer e.close(ctx)
	plain, tok, err := workspaces.NewStore(e.pool).CreateToken(ctx, ws.ID, role, *userName, *label, cliActor())
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(map[string]any{"token": plain, "workspace": ws.Name, "details": tok})
	}
	fmt.Fprintf(c.stderr, "%s token %d for workspace %q; it is shown once and stored only as a hash:\n", tok.Role, tok.ID, ws.Name)
	fmt.Fprintln(c.stdout, plain)
	return nil
}

func cmdTokensList(ctx context.Context, c cmdIO, args []string) error {
	fs := flag.NewFlagSet("tokens list", flag.ContinueOnError)
	wsName := workspaceFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	e, ws, err := openMigratedWorkspace(ctx, c, *wsName)
	if err != nil {
		return err
	}
	defer e.close(ctx)
	tokens, err := workspaces.NewStore(e.pool).ListTokens(ctx, ws.ID)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(map[string]any{"tokens": tokens})
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROLE\tUSER\tNAME\tENDS WITH\tCREATED\tSTATE")
	for _, t := range tokens {
		state := "active"
		if t.RevokedAt != nil {
			state = "revoked"
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t…%s\t%s\t%s\n", t.ID, t.Role, t.UserID, t.Name, t.Hint, t.CreatedAt.Format("2006-01-02 15:04"), state)
	}
	return tw.Flush()
}

func cmdTokensRevoke(ctx context.Context, c cmdIO, args []string) error {
	fs := flag.NewFlagSet("tokens revoke", flag.ContinueOnError)
	wsName := workspaceFlag(fs)
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErr("usage: waymark tokens revoke ID")
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		return usageErr("token ID must be a positive whole number, as `waymark tokens list` shows")
	}
	e, ws, err := openMigratedWorkspace(ctx, c, *wsName)
	if err != nil {
		return err
	}
	defer e.close(ctx)
	if _, err := workspaces.NewStore(e.pool).RevokeToken(ctx, ws.ID, id, cliActor()); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "revoked token %d\n", id)
	return nil
}
