package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/waymark-org/waymark/internal/bench"
	"github.com/waymark-org/waymark/migrations"
)

// cmdBench measures fan-out and dispatch on the configured database against River's own
// empty-job rate, in a private workspace it removes afterwards.
func cmdBench(ctx context.Context, c cmdIO, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	n := fs.Int("recipients", bench.DefaultRecipients, "how many recipients (`N`)")
	workers := fs.Int("workers", 0, "River workers for the send queue and the baseline (`N`; default 20, as `waymark worker` runs)")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	if fs.NArg() != 0 || *n < 1 || *n > 10_000_000 {
		return usageErr("usage: waymark bench [--recipients N] [--workers N] [--json]  (N from 1 to 10000000)")
	}
	e, err := openEnv(ctx, c)
	if err != nil {
		return err
	}
	defer e.close(ctx)
	if _, err := migrations.Migrate(ctx, e.pool, e.logger); err != nil {
		return err
	}
	keys, _, err := loadKeys(e.cfg)
	if err != nil {
		return err
	}
	res, err := bench.Run(ctx, e.pool, keys, bench.Options{Recipients: *n, Workers: *workers, Logger: e.logger})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(res)
	}
	fmt.Fprintf(c.stdout, "machine: %s\n", res.Machine)
	fmt.Fprintf(c.stdout, "recipients:          %d (seeded in %.1f s)\n", res.Recipients, res.SeedSeconds)
	fmt.Fprintf(c.stdout, "fan-out:             %.1f s, %.0f deliveries/s\n", res.FanoutSeconds, res.FanoutPerSecond)
	fmt.Fprintf(c.stdout, "dispatch (sandbox):  %.1f s, %.0f messages/s\n", res.DispatchSeconds, res.DispatchPerSecond)
	fmt.Fprintf(c.stdout, "River alone:         insert %.0f jobs/s, work %.0f empty jobs/s\n", res.RiverInsertPerSecond, res.RiverWorkPerSecond)
	fmt.Fprintf(c.stdout, "dispatch vs River:   %.2fx\n", res.DispatchVsRiver)
	return nil
}
