package connections

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/connections/internal/dbq"
	"github.com/waymark-org/waymark/internal/pii"
)

// EncryptedColumns returns the columns of this package that hold ciphertexts (channel
// credentials), for a key rotation with [pii.RotateColumn].
func EncryptedColumns(pool *pgxpool.Pool) []pii.Column {
	q := dbq.New(pool)
	return []pii.Column{
		{Table: "channels", Name: "secrets_enc",
			Stale: func(ctx context.Context, header []byte, after int64, limit int) ([]pii.Sealed, error) {
				rows, err := q.ChannelSecretsToRotate(ctx, dbq.ChannelSecretsToRotateParams{Header: header, AfterID: after, MaxRows: int32(limit)})
				out := make([]pii.Sealed, len(rows))
				for i, r := range rows {
					out[i] = pii.Sealed{ID: r.ID, Value: r.SecretsEnc, AAD: aadSecrets}
				}
				return out, err
			},
			Reseal: func(ctx context.Context, ids []int64, was, sealed [][]byte) (int64, error) {
				return q.ChannelSecretsReseal(ctx, dbq.ChannelSecretsResealParams{Ids: ids, Was: was, Sealed: sealed})
			}},
	}
}
