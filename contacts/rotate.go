package contacts

import (
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
		pii.NewColumn("contacts", "name_enc", q.ContactNamesToRotate, q.ContactNamesReseal,
			func(r dbq.ContactNamesToRotateRow) pii.Sealed {
				return pii.Sealed{ID: r.ID, Value: r.NameEnc, AAD: NameAAD}
			}),
		pii.NewColumn("contact_identities", "value_enc", q.IdentityValuesToRotate, q.IdentityValuesReseal,
			func(r dbq.IdentityValuesToRotateRow) pii.Sealed {
				return pii.Sealed{ID: r.ID, Value: r.ValueEnc, AAD: IdentityAAD(Kind(r.Kind))}
			}),
	}
}
