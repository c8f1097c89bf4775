package campaigns

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/waymark-org/waymark/campaigns/internal/dbq"
	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/internal/ratelimit"
)

// SenderFor returns the sender of a workspace's channel kind and its rate limit. campaignID is
// passed so the sandbox can file what it records under the campaign.
type SenderFor func(ctx context.Context, workspaceID int64, campaignID *int64, kind channels.Kind) (channels.Sender, ratelimit.Limit, error)

// TxCommitter is implemented by a sender that keeps its own record of what it sent (the sandbox's
// outbox) for the transaction that records a send job's results, so that both commit together.
// Send calls CommitTx once per job, in that transaction.
type TxCommitter interface {
	CommitTx(ctx context.Context, tx pgx.Tx) error
}

// ErrNoChannel is what SenderFor returns for a kind the workspace has not configured.
var ErrNoChannel = errors.New("no channel of this kind is configured in the workspace")

// MaxSnoozes bounds how often one delivery may be throttled before it fails: River's snoozes use
// no attempts, so without a cap a provider that always throttles would hold a message for ever.
const MaxSnoozes = 50

// SendOutcome tells the worker what River should do with the send job.
type SendOutcome struct {
	// Snooze, when positive, asks for the job to run again after that long: some deliveries
	// wait for rate budget or a provider's throttle.
	Snooze time.Duration
	// Retry, when set, is a temporary failure: River retries the job with backoff.
	Retry error
	// Completed says finish was called inside the transaction that recorded the results.
	Completed bool
	Sent      int
	Failed    int
}

// Send sends a send job's deliveries. Deliveries are claimed (queued -> sending) and rate budget
// taken in one transaction; then each message is rendered in its one language and handed to the
// channel; then the results are recorded, with finish (River's JobCompleteTx) in the same
// transaction when nothing is left to do. A job run twice sends once: a second run finds nothing
// queued. The exception is a crash between a provider accepting a message and the commit that
// records it: on the job's next attempt those deliveries (left "sending") go again, so at most
// the messages in flight at the instant of a crash can be sent twice.
func (s *Store) Send(ctx context.Context, args SendArgs, attempt int, senders SenderFor, renderers *RendererCache,
	finish func(ctx context.Context, tx pgx.Tx) error) (SendOutcome, error) {
	var out SendOutcome
	if attempt > 1 {
		// The previous attempt died mid-send; its in-flight deliveries go again.
		if err := s.q.DeliveriesRequeueSending(ctx, args.DeliveryIDs); err != nil {
			return out, err
		}
	}
	claimed, err := s.claim(ctx, args, senders, renderers, &out)
	if err != nil {
		return out, err
	}
	// Providers answer in tens to hundreds of milliseconds: a job's messages go out a few at a
	// time, not one after another.
	results := make([]sendResult, len(claimed))
	var wg sync.WaitGroup
	sem := make(chan struct{}, SendConcurrency)
	for i, m := range claimed {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			res, err := m.sender.Send(ctx, m.msg)
			results[i] = sendResult{res: res, err: err}
		}()
	}
	wg.Wait()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return out, err
	}
	defer tx.Rollback(ctx)
	q := s.q.WithTx(tx)
	var receipts []int64
	var receiptWS int64
	var sent dbq.DeliveriesSentParams
	for i, m := range claimed {
		r := results[i]
		if r.err == nil {
			segs := m.msg.Segments
			if r.res.Segments > 0 {
				segs = r.res.Segments
			}
			sent.Ids = append(sent.Ids, m.msg.DeliveryID)
			sent.ProviderIds = append(sent.ProviderIds, r.res.ProviderID)
			sent.Segments = append(sent.Segments, int32(segs))
			out.Sent++
			if m.sender.Kind() == channels.KindSandbox {
				receipts = append(receipts, m.msg.DeliveryID)
				receiptWS = m.workspaceID
			}
			continue
		}
		se := channels.Classify(r.err)
		switch se.Class {
		case channels.Throttled:
			if m.snoozes+1 >= MaxSnoozes {
				if err := s.fail(ctx, q, m.msg.DeliveryID, channels.StatusFailed, se.Code, "throttled too often: "+se.Reason); err != nil {
					return out, err
				}
				out.Failed++
				continue
			}
			if err := q.DeliveryRequeue(ctx, dbq.DeliveryRequeueParams{ID: m.msg.DeliveryID, Snoozed: 1, ErrorCode: se.Code, ErrorReason: se.Reason}); err != nil {
				return out, err
			}
			out.Snooze = max(out.Snooze, se.RetryAfter, time.Second)
		case channels.Temporary:
			if err := q.DeliveryRequeue(ctx, dbq.DeliveryRequeueParams{ID: m.msg.DeliveryID, ErrorCode: se.Code, ErrorReason: se.Reason}); err != nil {
				return out, err
			}
			out.Retry = fmt.Errorf("temporary send failure: %w", se)
		case channels.RecipientStopped:
			if err := s.fail(ctx, q, m.msg.DeliveryID, channels.StatusFailed, se.Code, "the recipient opted out at the provider: "+se.Reason); err != nil {
				return out, err
			}
			if m.contactID != nil {
				if err := s.contacts.OptOutTx(ctx, tx, m.workspaceID, *m.contactID, m.sender.Kind(), contacts.SourceProvider,
					map[string]any{"provider_code": se.Code, "delivery_id": m.msg.DeliveryID}); err != nil {
					return out, err
				}
			}
			out.Failed++
		default:
			if err := s.fail(ctx, q, m.msg.DeliveryID, channels.StatusFailed, se.Code, se.Reason); err != nil {
				return out, err
			}
			out.Failed++
		}
	}
	if len(sent.Ids) > 0 {
		if c, ok := claimed[0].sender.(TxCommitter); ok {
			if err := c.CommitTx(ctx, tx); err != nil {
				return out, err
			}
		}
		if err := q.DeliveriesSent(ctx, sent); err != nil {
			return out, err
		}
	}
	if len(receipts) > 0 {
		if _, err := s.jobs.InsertTx(ctx, tx, ReceiptArgs{WorkspaceID: receiptWS, DeliveryIDs: receipts},
			&river.InsertOpts{ScheduledAt: time.Now().Add(ReceiptDelay)}); err != nil {
			return out, err
		}
	}
	if out.Snooze == 0 && out.Retry == nil {
		if err := finish(ctx, tx); err != nil {
			return out, err
		}
		out.Completed = true
	}
	return out, tx.Commit(ctx)
}

// SendConcurrency is how many of a job's messages are with the provider at once.
const SendConcurrency = 8

// ReceiptDelay is how long after a send the sandbox reports delivery, like a real handset would.
const ReceiptDelay = 300 * time.Millisecond

type outgoing struct {
	msg         channels.Message
	sender      channels.Sender
	workspaceID int64
	contactID   *int64
	snoozes     int
}

type sendResult struct {
	res channels.Result
	err error
}

func (s *Store) fail(ctx context.Context, q *dbq.Queries, id int64, status channels.Status, code, reason string) error {
	rank := int16(status.Rank())
	if status == "skipped" {
		rank = 80
	}
	return q.DeliveryFail(ctx, dbq.DeliveryFailParams{ID: id, Status: string(status), StatusRank: rank, ErrorCode: code, ErrorReason: reason})
}

// claim locks the job's queued deliveries, drops those no longer reachable, renders the rest and
// takes rate budget for as many as the budget allows, marking them sending.
//
// Everything that may need the pool (the campaign, its renderer, the channel's sender) is
// resolved before the transaction begins, and the transaction does all its work on its own
// connection: a job holding one connection while waiting for a second would, with as many busy
// workers as the pool has connections, wait for ever.
func (s *Store) claim(ctx context.Context, args SendArgs, senders SenderFor, renderers *RendererCache, out *SendOutcome) ([]outgoing, error) {
	c, err := s.campaignOfRun(ctx, args.RunID)
	if err != nil {
		return nil, err
	}
	if c.State != StateSending {
		// Paused: the deliveries stay queued and Resume gives them new jobs. Cancelled: Cancel
		// already cancelled every queued delivery.
		return nil, nil
	}
	r, err := renderers.get(ctx, s, c)
	if err != nil {
		return nil, err
	}
	sender, limit, senderErr := senders(ctx, c.workspaceID, &c.ID, args.Channel)
	if senderErr != nil && !errors.Is(senderErr, ErrNoChannel) {
		return nil, senderErr
	}

	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	q := s.q.WithTx(tx)
	rows, err := q.DeliveriesClaim(ctx, args.DeliveryIDs)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	// Checked again with the deliveries locked: a pause or cancel committed since the read above
	// wins.
	if rows[0].CampaignState != StateSending {
		return nil, tx.Commit(ctx)
	}
	if senderErr != nil {
		for _, d := range rows {
			if err := s.fail(ctx, q, d.ID, channels.StatusFailed, "no-channel", fmt.Sprintf("no %s channel is configured in this workspace", args.Channel)); err != nil {
				return nil, err
			}
			out.Failed++
		}
		return nil, tx.Commit(ctx)
	}
	var claimed []outgoing
	var ids []int64
	cost := 0.0
	// A job sends at most one burst of its channel's budget at a time; the rest of its
	// deliveries wait for the next run, so a large job cannot overdraw a slow channel.
	burst := limit.Burst
	if burst <= 0 {
		burst = max(1, limit.PerSecond)
	}
	leftover := 0.0
	for _, d := range rows {
		if leftover > 0 {
			leftover++
			continue
		}
		if !d.Reachable || d.AddressEnc == nil {
			if err := s.fail(ctx, q, d.ID, "skipped", "", "no longer reachable: opted out, suppressed or address removed before sending"); err != nil {
				return nil, err
			}
			out.Failed++
			continue
		}
		to, err := s.keys.DecryptString(d.AddressEnc, contacts.IdentityAAD(args.Channel))
		if err != nil {
			return nil, fmt.Errorf("decrypt address of delivery %d: %w", d.ID, err)
		}
		name := ""
		if d.NameEnc != nil {
			if name, err = s.keys.DecryptString(d.NameEnc, contacts.NameAAD); err != nil {
				return nil, fmt.Errorf("decrypt name of delivery %d: %w", d.ID, err)
			}
		}
		text, err := r.Render(d.Language, name)
		if err != nil {
			if err := s.fail(ctx, q, d.ID, channels.StatusFailed, "render", "the text could not be rendered: "+err.Error()); err != nil {
				return nil, err
			}
			out.Failed++
			continue
		}
		segs := channels.CountSegments(text).Segments
		one := 1.0
		if args.Channel == channels.KindSMS {
			one = float64(segs)
		}
		if !limit.Unlimited() && len(ids) > 0 && cost+one > burst {
			leftover = one
			continue
		}
		cost += one
		ids = append(ids, d.ID)
		claimed = append(claimed, outgoing{sender: sender, workspaceID: d.WorkspaceID, contactID: d.ContactID, snoozes: int(d.Snoozes),
			msg: channels.Message{DeliveryID: d.ID, To: to, Text: text, Language: d.Language, Segments: segs}})
	}
	if len(ids) > 0 && !limit.Unlimited() {
		// Taken in tx, after rendering: the bucket's row lock is held only for the statements
		// left (marking sending, commit), and a refused or failed claim gives its budget back.
		wait, err := ratelimit.Take(ctx, tx, fmt.Sprintf("send:%d:%s", c.workspaceID, args.Channel), limit, cost)
		if err != nil {
			return nil, err
		}
		if wait > 0 {
			// Out of budget: keep what was skipped or failed, leave the rest queued, and come
			// back when there is budget.
			out.Snooze = wait
			return nil, tx.Commit(ctx)
		}
	}
	if leftover > 0 {
		// Come back when the budget for the rest has had time to refill.
		out.Snooze = max(out.Snooze, time.Duration(leftover/limit.PerSecond*float64(time.Second)), 50*time.Millisecond)
	}
	if err := q.DeliveriesMarkSending(ctx, ids); err != nil {
		return nil, err
	}
	return claimed, tx.Commit(ctx)
}

// RendererCache keeps one renderer per campaign, since campaigns do not change while sending
// (Update refuses a sending campaign).
type RendererCache struct {
	mu sync.Mutex
	m  map[int64]cachedRenderer
}

type cachedRenderer struct {
	r       *Renderer
	updated time.Time
}

// NewRendererCache returns an empty cache; one per process.
func NewRendererCache() *RendererCache { return &RendererCache{m: map[int64]cachedRenderer{}} }

func (rc *RendererCache) get(ctx context.Context, s *Store, c Campaign) (*Renderer, error) {
	rc.mu.Lock()
	cr, ok := rc.m[c.ID]
	rc.mu.Unlock()
	if ok && cr.updated.Equal(c.UpdatedAt) {
		return cr.r, nil
	}
	ws, err := s.ws.Get(ctx, c.workspaceID)
	if err != nil {
		return nil, err
	}
	opts, err := s.renderOptions(ctx, ws.ID, c)
	if err != nil {
		return nil, err
	}
	r, err := NewRenderer(c.Contents, opts)
	if err != nil {
		return nil, err
	}
	rc.mu.Lock()
	rc.m[c.ID] = cachedRenderer{r: r, updated: c.UpdatedAt}
	rc.mu.Unlock()
	return r, nil
}

type locationCache struct {
	mu sync.Mutex
	m  map[string]*time.Location
}

func newLocationCache() *locationCache { return &locationCache{m: map[string]*time.Location{}} }

func (lc *locationCache) get(name string) *time.Location {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if l, ok := lc.m[name]; ok {
		return l
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		l = time.UTC
	}
	lc.m[name] = l
	return l
}

// TestSendResult reports a test send.
type TestSendResult struct {
	Language   string `json:"language"`
	Text       string `json:"text"`
	ProviderID string `json:"provider_id"`
	Segments   int    `json:"segments"`
}

// TestSend renders the campaign in language (or the workspace default) and sends it to one
// address over the channel kind, without a delivery row: authors check how it looks on a phone.
func (s *Store) TestSend(ctx context.Context, workspaceID, id int64, kind channels.Kind, to, language string, senders SenderFor) (TestSendResult, error) {
	c, err := s.Get(ctx, workspaceID, id)
	if err != nil {
		return TestSendResult{}, err
	}
	opts, err := s.renderOptions(ctx, workspaceID, c)
	if err != nil {
		return TestSendResult{}, err
	}
	r, err := NewRenderer(c.Contents, opts)
	if err != nil {
		return TestSendResult{}, err
	}
	lang, _, ok := r.Resolve(language)
	if !ok {
		return TestSendResult{}, errcode.Field("language", "the campaign has no text for %q or its fallbacks", language)
	}
	text, err := r.Render(lang, "")
	if err != nil {
		return TestSendResult{}, err
	}
	ws, err := s.ws.Get(ctx, workspaceID)
	if err != nil {
		return TestSendResult{}, err
	}
	addr, err := contacts.NormalizeAddress(kind, to, ws.DefaultCountry)
	if err != nil {
		return TestSendResult{}, errcode.Field("to", "%v", err)
	}
	sender, _, err := senders(ctx, workspaceID, &c.ID, kind)
	if errors.Is(err, ErrNoChannel) {
		return TestSendResult{}, errcode.Field("channel", "no %s channel is configured in this workspace", kind)
	}
	if err != nil {
		return TestSendResult{}, err
	}
	segs := channels.CountSegments(text).Segments
	res, err := sender.Send(ctx, channels.Message{To: addr, Text: text, Language: lang, Segments: segs})
	if err != nil {
		se := channels.Classify(err)
		return TestSendResult{}, errcode.Wrap(err, errcode.Unavailable, "the %s channel refused the test message (%s)", kind, se.Error())
	}
	if c, ok := sender.(TxCommitter); ok {
		if err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return c.CommitTx(ctx, tx) }); err != nil {
			return TestSendResult{}, err
		}
	}
	return TestSendResult{Language: lang, Text: text, ProviderID: res.ProviderID, Segments: segs}, nil
}
