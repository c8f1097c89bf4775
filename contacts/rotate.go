package contacts

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/contacts/internal/dbq"
	"github.com/waymark-org/waymark/internal/pii"
)

// RotationReport counts the values a key rotation re-encrypted.
type RotationReport struct {
	Names      int `json:"names"`
	Identities int `json:"identities"`
}

// rotateBatch bounds each transaction of a rotation, so a large install is not locked at once.
const rotateBatch = 1000

// sealed is one encrypted value of a column being rotated.
type sealed struct {
	id    int64
	value []byte
	aad   string
}

// RotateKeys re-encrypts every contact name and address not yet under the newest key. It is safe
// to interrupt and run again: values already rotated are skipped. Blind indexes do not change,
// because they derive from the first key, which rotation keeps.
func RotateKeys(ctx context.Context, pool *pgxpool.Pool, keys *pii.Keyring) (RotationReport, error) {
	var rep RotationReport
	q := dbq.New(pool)
	var err error
	rep.Names, err = rotateColumn(ctx, pool, keys,
		func(after int64) ([]sealed, error) {
			rows, err := q.ContactNamesToRotate(ctx, dbq.ContactNamesToRotateParams{AfterID: after, MaxRows: rotateBatch})
			out := make([]sealed, len(rows))
			for i, r := range rows {
				out[i] = sealed{r.ID, r.NameEnc, NameAAD}
			}
			return out, err
		},
		func(q *dbq.Queries, id int64, enc []byte) error {
			return q.ContactNameSet(ctx, dbq.ContactNameSetParams{ID: id, NameEnc: enc})
		})
	if err != nil {
		return rep, fmt.Errorf("rotate contact names: %w", err)
	}
	rep.Identities, err = rotateColumn(ctx, pool, keys,
		func(after int64) ([]sealed, error) {
			rows, err := q.IdentityValuesToRotate(ctx, dbq.IdentityValuesToRotateParams{AfterID: after, MaxRows: rotateBatch})
			out := make([]sealed, len(rows))
			for i, r := range rows {
				out[i] = sealed{r.ID, r.ValueEnc, IdentityAAD(Kind(r.Kind))}
			}
			return out, err
		},
		func(q *dbq.Queries, id int64, enc []byte) error {
			return q.IdentityValueSet(ctx, dbq.IdentityValueSetParams{ID: id, ValueEnc: enc})
		})
	if err != nil {
		return rep, fmt.Errorf("rotate contact addresses: %w", err)
	}
	return rep, nil
}

// rotateColumn walks a column in id order, a batch per transaction, re-encrypting what needs it.
func rotateColumn(ctx context.Context, pool *pgxpool.Pool, keys *pii.Keyring,
	fetch func(after int64) ([]sealed, error), store func(q *dbq.Queries, id int64, enc []byte) error) (int, error) {
	n := 0
	for after := int64(0); ; {
		rows, err := fetch(after)
		if err != nil || len(rows) == 0 {
			return n, err
		}
		tx, err := pool.Begin(ctx)
		if err != nil {
			return n, err
		}
		q := dbq.New(tx)
		for _, r := range rows {
			after = r.id
			if !keys.NeedsRotation(r.value) {
				continue
			}
			plain, err := keys.Decrypt(r.value, []byte(r.aad))
			if err == nil {
				var enc []byte
				if enc, err = keys.Encrypt(plain, []byte(r.aad)); err == nil {
					err = store(q, r.id, enc)
				}
			}
			if err != nil {
				_ = tx.Rollback(ctx)
				return n, fmt.Errorf("row %d: %w", r.id, err)
			}
			n++
		}
		if err := tx.Commit(ctx); err != nil {
			return n, err
		}
	}
}
