package contacts

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/contacts/internal/dbq"
	"github.com/waymark-org/waymark/internal/pii"
)

// EncryptedColumns returns the columns of this package that hold ciphertexts (contact names and
// addresses), for a key rotation with [pii.RotateColumn]. Blind indexes are not among them: they
// derive from the first key, which rotation keeps, so they never change.
func EncryptedColumns(pool *pgxpool.Pool) []pii.Column {
	q := dbq.New(pool)
	return []pii.Column{
		{Table: "contacts", Name: "name_enc",
			Stale: func(ctx context.Context, header []byte, after int64, limit int) ([]pii.Sealed, error) {
				rows, err := q.ContactNamesToRotate(ctx, dbq.ContactNamesToRotateParams{Header: header, AfterID: after, MaxRows: int32(limit)})
				out := make([]pii.Sealed, len(rows))
				for i, r := range rows {
					out[i] = pii.Sealed{ID: r.ID, Value: r.NameEnc, AAD: NameAAD}
				}
				return out, err
			},
			Reseal: func(ctx context.Context, ids []int64, was, sealed [][]byte) (int64, error) {
				return q.ContactNamesReseal(ctx, dbq.ContactNamesResealParams{Ids: ids, Was: was, Sealed: sealed})
			}},
		{Table: "contact_identities", Name: "value_enc",
			Stale: func(ctx context.Context, header []byte, after int64, limit int) ([]pii.Sealed, error) {
				rows, err := q.IdentityValuesToRotate(ctx, dbq.IdentityValuesToRotateParams{Header: header, AfterID: after, MaxRows: int32(limit)})
				out := make([]pii.Sealed, len(rows))
				for i, r := range rows {
					out[i] = pii.Sealed{ID: r.ID, Value: r.ValueEnc, AAD: IdentityAAD(Kind(r.Kind))}
				}
				return out, err
			},
			Reseal: func(ctx context.Context, ids []int64, was, sealed [][]byte) (int64, error) {
				return q.IdentityValuesReseal(ctx, dbq.IdentityValuesResealParams{Ids: ids, Was: was, Sealed: sealed})
			}},
	}
}
