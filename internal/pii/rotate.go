package pii

import (
	"context"
	"fmt"
)

// RotationBatch is how many values [RotateColumn] reads and rewrites at a time when the caller
// names no batch size. Each batch is written by one statement, so a rotation holds no long
// transaction and locks at most this many rows at once.
const RotationBatch = 1000

// Sealed is one stored ciphertext as a rotation reads it: the id of its row, the ciphertext, and
// the associated data it was sealed with.
type Sealed struct {
	ID    int64
	Value []byte
	AAD   string
}

// Column is one encrypted column for [RotateColumn]. Its two functions run the column's own
// queries, so that this package stays free of the database and each domain keeps its SQL.
type Column struct {
	// Table and Name name the column in reports and errors, as in the schema.
	Table, Name string

	// Stale returns, in ascending id order, up to limit non-null values of rows whose id is
	// above after and whose value does not begin with header ([Keyring.NewestHeader]).
	Stale func(ctx context.Context, header []byte, after int64, limit int) ([]Sealed, error)

	// Reseal sets the value of row ids[i] to sealed[i] wherever the row still holds was[i], in
	// one statement, and returns how many rows it changed. A row that was rewritten or deleted
	// after Stale read it keeps what its writer left: rotation never overwrites newer data.
	Reseal func(ctx context.Context, ids []int64, was, sealed [][]byte) (int64, error)
}

// StaleParams is the parameter struct sqlc generates for a column's query of stale values, one
// that takes @after_id, @header and @max_rows in that order (see [Column.Stale]).
type StaleParams interface {
	~struct {
		AfterID int64
		Header  []byte
		MaxRows int32
	}
}

// ResealParams is the parameter struct sqlc generates for a column's reseal statement, one that
// takes @ids, @was and @sealed in that order (see [Column.Reseal]).
type ResealParams interface {
	~struct {
		Ids    []int64
		Was    [][]byte
		Sealed [][]byte
	}
}

// NewColumn returns the Column table.name that runs the column's generated queries: stale reads
// stale values, which toSealed maps to what a rotation needs (the row's value and its associated
// data), and reseal stores the re-encrypted ones. Each domain then declares a column in a few
// lines and keeps its SQL.
func NewColumn[S StaleParams, R ResealParams, Row any](table, name string,
	stale func(context.Context, S) ([]Row, error), reseal func(context.Context, R) (int64, error),
	toSealed func(Row) Sealed) Column {
	return Column{Table: table, Name: name,
		Stale: func(ctx context.Context, header []byte, after int64, limit int) ([]Sealed, error) {
			rows, err := stale(ctx, S{AfterID: after, Header: header, MaxRows: int32(limit)})
			out := make([]Sealed, len(rows))
			for i, r := range rows {
				out[i] = toSealed(r)
			}
			return out, err
		},
		Reseal: func(ctx context.Context, ids []int64, was, sealed [][]byte) (int64, error) {
			return reseal(ctx, R{Ids: ids, Was: was, Sealed: sealed})
		}}
}

// ColumnRotation reports what [RotateColumn] did to one column.
type ColumnRotation struct {
	Table  string `json:"table"`
	Column string `json:"column"`
	// Resealed counts the values this run re-encrypted with the newest key.
	Resealed int64 `json:"resealed"`
	// Remaining counts the values still under an older key when the column was done. They
	// were written during the run by a process that does not hold the newest key yet; once
	// every process does, running the rotation again takes them too.
	Remaining int64 `json:"remaining"`
}

// RotateColumn re-encrypts with the newest key every value of col that is under an older key,
// walking the rows in id order batch values at a time (RotationBatch when batch is not
// positive), then counts what is left under older keys.
//
// Every batch is committed on its own, so an interrupted rotation keeps what it did, and running
// it again continues with what is left: values already under the newest key are not read again.
// Readers keep working throughout as long as their keyring holds both the old and the new keys.
// A value that cannot be decrypted stops the rotation with an error naming its table, column
// and row id, never its contents.
func RotateColumn(ctx context.Context, keys *Keyring, col Column, batch int) (ColumnRotation, error) {
	rep := ColumnRotation{Table: col.Table, Column: col.Name}
	header := keys.NewestHeader()
	if header == nil {
		return rep, ErrNoKey
	}
	if batch <= 0 {
		batch = RotationBatch
	}
	err := walkStale(ctx, col, header, batch, func(rows []Sealed) error {
		ids := make([]int64, 0, len(rows))
		was := make([][]byte, 0, len(rows))
		sealed := make([][]byte, 0, len(rows))
		for _, r := range rows {
			if !keys.NeedsRotation(r.Value) {
				continue
			}
			plain, err := keys.Decrypt(r.Value, []byte(r.AAD))
			if err != nil {
				return fmt.Errorf("row %d: %w", r.ID, err)
			}
			enc, err := keys.Encrypt(plain, []byte(r.AAD))
			clear(plain)
			if err != nil {
				return fmt.Errorf("row %d: %w", r.ID, err)
			}
			ids, was, sealed = append(ids, r.ID), append(was, r.Value), append(sealed, enc)
		}
		if len(ids) == 0 {
			return nil
		}
		n, err := col.Reseal(ctx, ids, was, sealed)
		rep.Resealed += n
		return err
	})
	if err != nil {
		return rep, fmt.Errorf("rotate %s.%s: %w", col.Table, col.Name, err)
	}
	// What a concurrent writer sealed with an older key, or committed behind the walk, is
	// still stale; count it so that the caller can tell the operator to run again.
	err = walkStale(ctx, col, header, batch, func(rows []Sealed) error {
		rep.Remaining += int64(len(rows))
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("count %s.%s: %w", col.Table, col.Name, err)
	}
	return rep, nil
}

// walkStale hands each batch of col's stale values to f, in id order, until none are left.
func walkStale(ctx context.Context, col Column, header []byte, batch int, f func([]Sealed) error) error {
	for after := int64(0); ; {
		if err := ctx.Err(); err != nil {
			return err
		}
		rows, err := col.Stale(ctx, header, after, batch)
		if err != nil || len(rows) == 0 {
			return err
		}
		last := rows[len(rows)-1].ID
		if last <= after {
			// A query that does not honour after would loop for ever.
			return fmt.Errorf("stale values out of order: row %d after row %d", last, after)
		}
		if err := f(rows); err != nil {
			return err
		}
		after = last
	}
}
