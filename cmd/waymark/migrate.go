package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/waymark-org/waymark/migrations"
)

func cmdMigrate(ctx context.Context, c cmdIO, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	e, err := openEnv(ctx, c)
	if err != nil {
		return err
	}
	defer e.close(ctx)
	res, err := migrations.Migrate(ctx, e.pool, e.logger)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(res)
	}
	if len(res.RiverApplied)+len(res.WaymarkApplied) == 0 {
		fmt.Fprintln(c.stdout, "the database is up to date")
		return nil
	}
	fmt.Fprintf(c.stdout, "applied %d River and %d Waymark migrations\n", len(res.RiverApplied), len(res.WaymarkApplied))
	return nil
}
