package messages

import (
	"context"

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
		{Table: "inbound_messages", Name: "from_enc",
			Stale: func(ctx context.Context, header []byte, after int64, limit int) ([]pii.Sealed, error) {
				rows, err := q.InboundFromToRotate(ctx, dbq.InboundFromToRotateParams{Header: header, AfterID: after, MaxRows: int32(limit)})
				out := make([]pii.Sealed, len(rows))
				for i, r := range rows {
					out[i] = pii.Sealed{ID: r.ID, Value: r.FromEnc, AAD: aadInboundFrom(channels.Kind(r.ChannelKind))}
				}
				return out, err
			},
			Reseal: func(ctx context.Context, ids []int64, was, sealed [][]byte) (int64, error) {
				return q.InboundFromReseal(ctx, dbq.InboundFromResealParams{Ids: ids, Was: was, Sealed: sealed})
			}},
		{Table: "inbound_messages", Name: "text_enc",
			Stale: func(ctx context.Context, header []byte, after int64, limit int) ([]pii.Sealed, error) {
				rows, err := q.InboundTextToRotate(ctx, dbq.InboundTextToRotateParams{Header: header, AfterID: after, MaxRows: int32(limit)})
				out := make([]pii.Sealed, len(rows))
				for i, r := range rows {
					out[i] = pii.Sealed{ID: r.ID, Value: r.TextEnc, AAD: aadInboundText(channels.Kind(r.ChannelKind))}
				}
				return out, err
			},
			Reseal: func(ctx context.Context, ids []int64, was, sealed [][]byte) (int64, error) {
				return q.InboundTextReseal(ctx, dbq.InboundTextResealParams{Ids: ids, Was: was, Sealed: sealed})
			}},
		{Table: "replies", Name: "text_enc",
			Stale: func(ctx context.Context, header []byte, after int64, limit int) ([]pii.Sealed, error) {
				rows, err := q.ReplyTextToRotate(ctx, dbq.ReplyTextToRotateParams{Header: header, AfterID: after, MaxRows: int32(limit)})
				out := make([]pii.Sealed, len(rows))
				for i, r := range rows {
					out[i] = pii.Sealed{ID: r.ID, Value: r.TextEnc, AAD: aadReplyText(channels.Kind(r.ChannelKind))}
				}
				return out, err
			},
			Reseal: func(ctx context.Context, ids []int64, was, sealed [][]byte) (int64, error) {
				return q.ReplyTextReseal(ctx, dbq.ReplyTextResealParams{Ids: ids, Was: was, Sealed: sealed})
			}},
		{Table: "replies", Name: "buttons_enc",
			Stale: func(ctx context.Context, header []byte, after int64, limit int) ([]pii.Sealed, error) {
				rows, err := q.ReplyButtonsToRotate(ctx, dbq.ReplyButtonsToRotateParams{Header: header, AfterID: after, MaxRows: int32(limit)})
				out := make([]pii.Sealed, len(rows))
				for i, r := range rows {
					out[i] = pii.Sealed{ID: r.ID, Value: r.ButtonsEnc, AAD: aadReplyButtons(channels.Kind(r.ChannelKind))}
				}
				return out, err
			},
			Reseal: func(ctx context.Context, ids []int64, was, sealed [][]byte) (int64, error) {
				return q.ReplyButtonsReseal(ctx, dbq.ReplyButtonsResealParams{Ids: ids, Was: was, Sealed: sealed})
			}},
		{Table: "sandbox_messages", Name: "to_enc",
			Stale: func(ctx context.Context, header []byte, after int64, limit int) ([]pii.Sealed, error) {
				rows, err := q.OutboxToToRotate(ctx, dbq.OutboxToToRotateParams{Header: header, AfterID: after, MaxRows: int32(limit)})
				out := make([]pii.Sealed, len(rows))
				for i, r := range rows {
					out[i] = pii.Sealed{ID: r.ID, Value: r.ToEnc, AAD: aadOutboxTo}
				}
				return out, err
			},
			Reseal: func(ctx context.Context, ids []int64, was, sealed [][]byte) (int64, error) {
				return q.OutboxToReseal(ctx, dbq.OutboxToResealParams{Ids: ids, Was: was, Sealed: sealed})
			}},
		{Table: "sandbox_messages", Name: "text_enc",
			Stale: func(ctx context.Context, header []byte, after int64, limit int) ([]pii.Sealed, error) {
				rows, err := q.OutboxTextToRotate(ctx, dbq.OutboxTextToRotateParams{Header: header, AfterID: after, MaxRows: int32(limit)})
				out := make([]pii.Sealed, len(rows))
				for i, r := range rows {
					out[i] = pii.Sealed{ID: r.ID, Value: r.TextEnc, AAD: aadOutboxText}
				}
				return out, err
			},
			Reseal: func(ctx context.Context, ids []int64, was, sealed [][]byte) (int64, error) {
				return q.OutboxTextReseal(ctx, dbq.OutboxTextResealParams{Ids: ids, Was: was, Sealed: sealed})
			}},
	}
}
