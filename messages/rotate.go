package messages

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/messages/internal/dbq"
)

// EncryptedColumns returns the columns of this package that hold ciphertexts (inbound senders
// and texts, the answers' texts and buttons, the sandbox outbox's addresses and texts), for a
// key rotation with [pii.RotateColumn]. Blind indexes are not among them: they derive from the
// first key, which rotation keeps, so they never change.
func EncryptedColumns(pool *pgxpool.Pool) []pii.Column {
	q := dbq.New(pool)
	return []pii.Column{
		pii.NewColumn("inbound_messages", "from_enc", q.InboundFromToRotate, q.InboundFromReseal,
			func(r dbq.InboundFromToRotateRow) pii.Sealed {
				return pii.Sealed{ID: r.ID, Value: r.FromEnc, AAD: aadInboundFrom(channels.Kind(r.ChannelKind))}
			}),
		pii.NewColumn("inbound_messages", "text_enc", q.InboundTextToRotate, q.InboundTextReseal,
			func(r dbq.InboundTextToRotateRow) pii.Sealed {
				return pii.Sealed{ID: r.ID, Value: r.TextEnc, AAD: aadInboundText(channels.Kind(r.ChannelKind))}
			}),
		pii.NewColumn("replies", "text_enc", q.ReplyTextToRotate, q.ReplyTextReseal,
			func(r dbq.ReplyTextToRotateRow) pii.Sealed {
				return pii.Sealed{ID: r.ID, Value: r.TextEnc, AAD: aadReplyText(channels.Kind(r.ChannelKind))}
			}),
		pii.NewColumn("replies", "buttons_enc", q.ReplyButtonsToRotate, q.ReplyButtonsReseal,
			func(r dbq.ReplyButtonsToRotateRow) pii.Sealed {
				return pii.Sealed{ID: r.ID, Value: r.ButtonsEnc, AAD: aadReplyButtons(channels.Kind(r.ChannelKind))}
			}),
		pii.NewColumn("sandbox_messages", "to_enc", q.OutboxToToRotate, q.OutboxToReseal,
			func(r dbq.OutboxToToRotateRow) pii.Sealed {
				return pii.Sealed{ID: r.ID, Value: r.ToEnc, AAD: aadOutboxTo}
			}),
		pii.NewColumn("sandbox_messages", "text_enc", q.OutboxTextToRotate, q.OutboxTextReseal,
			func(r dbq.OutboxTextToRotateRow) pii.Sealed {
				return pii.Sealed{ID: r.ID, Value: r.TextEnc, AAD: aadOutboxText}
			}),
	}
}
