package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/connections"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/config"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/messages"
)

// loadKeys returns the keyring that encrypts personal data, or an error that says how to make one.
func loadKeys(cfg *config.Config) (*pii.Keyring, string, error) {
	keys, source, err := pii.Load(cfg.SecretKey, cfg.DataDir)
	if errors.Is(err, pii.ErrNoKey) {
		return nil, "", fmt.Errorf("no key to encrypt personal data: run `waymark keys generate` (writes %s) or set WAYMARK_SECRET_KEY", pii.DefaultKeyFile(cfg.DataDir))
	}
	if err != nil {
		return nil, "", fmt.Errorf("encryption keys: %w", err)
	}
	return keys, source, nil
}

func cmdKeysGenerate(c cmdIO, args []string) error {
	fs := flag.NewFlagSet("keys generate", flag.ContinueOnError)
	add := fs.Bool("add", false, "add a new key to an existing key file (it becomes the key that encrypts; run `waymark keys rotate` next)")
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErr("usage: waymark keys generate [--add]")
	}
	cfg, _, err := loadConfig(c.stderr)
	if err != nil {
		return err
	}
	path := pii.DefaultKeyFile(cfg.DataDir)
	if *add {
		id, err := pii.AppendKey(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "added key %s to %s; back the file up now, then run `waymark keys rotate`\n", id, path)
		return nil
	}
	if err := pii.WriteNewKeyFile(path); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "wrote a new key file %s; back it up now: without it the encrypted personal data cannot be read\n", path)
	return nil
}

// encryptedColumns lists every column that holds ciphertexts, for `keys rotate`. A test compares
// it with the schema, so that a new encrypted column cannot be left out of rotation.
func encryptedColumns(pool *pgxpool.Pool) []pii.Column {
	return slices.Concat(contacts.EncryptedColumns(pool), connections.EncryptedColumns(pool), messages.EncryptedColumns(pool))
}

// rotation is what `keys rotate --json` prints.
type rotation struct {
	Key       string               `json:"key"`
	Columns   []pii.ColumnRotation `json:"columns"`
	Resealed  int64                `json:"resealed"`
	Remaining int64                `json:"remaining"`
}

func cmdKeysRotate(ctx context.Context, c cmdIO, args []string) error {
	fs := flag.NewFlagSet("keys rotate", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	batch := fs.Int("batch", pii.RotationBatch, "values re-encrypted per statement (each batch commits on its own)")
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	if fs.NArg() != 0 || *batch < 1 {
		return usageErr("usage: waymark keys rotate [--json] [--batch N]")
	}
	e, err := openMigrated(ctx, c)
	if err != nil {
		return err
	}
	defer e.close(ctx)
	keys, _, err := loadKeys(e.cfg)
	if err != nil {
		return err
	}
	rep := rotation{Key: keys.NewestKeyID()}
	for _, col := range encryptedColumns(e.pool) {
		r, err := pii.RotateColumn(ctx, keys, col, *batch)
		rep.Resealed += r.Resealed
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted after re-encrypting %d values, which stay so: run `waymark keys rotate` again to finish", rep.Resealed)
			}
			return err
		}
		rep.Columns = append(rep.Columns, r)
		rep.Remaining += r.Remaining
		if !*asJSON {
			fmt.Fprintf(c.stdout, "%s.%s: %d re-encrypted, %d left under older keys\n", r.Table, r.Column, r.Resealed, r.Remaining)
		}
	}
	if *asJSON {
		if err := json.NewEncoder(c.stdout).Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.stdout, "re-encrypted %d values in %d columns with key %s\n", rep.Resealed, len(rep.Columns), rep.Key)
	}
	if rep.Remaining > 0 {
		return fmt.Errorf("%d values are still under an older key: a process without key %s wrote them during the rotation; restart every waymark process so that it loads the key, then run `waymark keys rotate` again", rep.Remaining, rep.Key)
	}
	return nil
}

func cmdContactsImport(ctx context.Context, c cmdIO, args []string) error {
	fs := flag.NewFlagSet("contacts import", flag.ContinueOnError)
	wsName := workspaceFlag(fs)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	country := fs.String("default-country", "", "ISO 3166-1 `CODE` for national numbers of rows without a country (default: the workspace's)")
	source := fs.String("consent-source", "", "where the consent in the file's consent column was given (`TEXT`; required when the column says yes or no)")
	if err := parseFlags(fs, c, reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErr("usage: waymark contacts import FILE.csv [--json] [--consent-source TEXT] [--default-country CODE]")
	}
	path := fs.Arg(0)
	f, err := os.Open(path)
	if err != nil {
		return usageErr("cannot read %s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	e, keys, ws, err := openWorkspace(ctx, c, *wsName)
	if err != nil {
		return err
	}
	defer e.close(ctx)
	rep, err := contacts.NewStore(e.pool, keys).Import(ctx, ws, f, contacts.ImportOptions{
		DefaultCountry: *country, ConsentSource: *source, Actor: cliActor()})
	if err != nil {
		if e, ok := errcode.As(err); errors.Is(err, contacts.ErrUnreadable) || (ok && e.Field == "consent_source") {
			return usageErr("%s: %v", path, err)
		}
		return err
	}
	rejectsFile := ""
	if len(rep.Rejects) > 0 {
		rejectsFile = contacts.RejectsPath(path)
		out, err := os.OpenFile(rejectsFile, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("imported, but cannot write the rejected rows: %w", err)
		}
		werr := contacts.WriteRejects(out, rep.Header, rep.Rejects)
		if err := errors.Join(werr, out.Close()); err != nil {
			return fmt.Errorf("imported, but cannot write the rejected rows: %w", err)
		}
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(struct {
			*contacts.ImportReport
			RejectsFile string `json:"rejects_file"`
		}{rep, rejectsFile})
	}
	fmt.Fprintf(c.stdout, "%d rows: %d created, %d updated, %d rejected\n", rep.Rows, rep.Created, rep.Updated, rep.Rejected)
	if len(rep.UnknownColumns) > 0 {
		fmt.Fprintf(c.stdout, "ignored unknown columns: %v\n", rep.UnknownColumns)
	}
	if rep.ConsentRecorded+rep.ConsentSuppressed > 0 {
		fmt.Fprintf(c.stdout, "consent: %d recorded, %d opt-ins not recorded because the person opted out earlier\n", rep.ConsentRecorded, rep.ConsentSuppressed)
	}
	for _, r := range rep.Rejects {
		col := r.Column
		if col == "" {
			col = "row"
		}
		fmt.Fprintf(c.stdout, "line %d, %s: %s\n", r.Line, col, r.Reason)
	}
	if rejectsFile != "" {
		fmt.Fprintf(c.stdout, "rejected rows, with a reason column, are in %s\n", rejectsFile)
	}
	return nil
}

// reorder moves flags before positional arguments so that `import FILE --json` works as users
// expect; Go's flag package stops at the first non-flag. fs tells which flags take a value.
func reorder(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case len(a) > 1 && a[0] == '-':
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if strings.Contains(name, "=") {
				continue
			}
			if f := fs.Lookup(name); f != nil && !isBool(f) && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	return append(flags, pos...)
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
