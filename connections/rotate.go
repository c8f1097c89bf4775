package connections

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/connections/internal/dbq"
	"github.com/waymark-org/waymark/internal/pii"
)

// EncryptedColumns returns the columns of this package that hold ciphertexts (channel
// credentials), for a key rotation with [pii.RotateColumn].
func EncryptedColumns(pool *pgxpool.Pool) []pii.Column {
	q := dbq.New(pool)
	return []pii.Column{
		pii.NewColumn("channels", "secrets_enc", q.ChannelSecretsToRotate, q.ChannelSecretsReseal,
			func(r dbq.ChannelSecretsToRotateRow) pii.Sealed {
				return pii.Sealed{ID: r.ID, Value: r.SecretsEnc, AAD: aadSecrets}
			}),
	}
}
