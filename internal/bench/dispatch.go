package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waymark-org/waymark/campaigns"
	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/channels/sandbox"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/internal/ratelimit"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/worker"
	"github.com/waymark-org/waymark/workspaces"
)

// stopTimeout is how long running jobs get to finish when a phase stops its River client.
const stopTimeout = 30 * time.Second

// errForeignWorkspace answers a send or receipt of a workspace other than the bench's. The
// pre-flight check makes it unreachable unless a campaign starts elsewhere during the run; an
// ordinary error makes River retry that job later rather than send it through the bench's
// sandbox.
var errForeignWorkspace = errors.New("waymark bench is working this queue: it sends only its own workspace's messages")

// sandboxWiring is the sandbox channel as the binary wires it (cmd/waymark): one Sandbox with the
// default settings, recording a send job's messages into the outbox with its results, with
// unlimited rate.
type sandboxWiring struct {
	workspaceID int64
	pool        *pgxpool.Pool
	outbox      *messages.Outbox
	sb          *sandbox.Sandbox
}

func (w *sandboxWiring) senders(ctx context.Context, workspaceID int64, campaignID *int64, kind channels.Kind) (channels.Sender, ratelimit.Limit, error) {
	if workspaceID != w.workspaceID {
		return nil, ratelimit.Limit{}, errForeignWorkspace
	}
	if kind != channels.KindSandbox {
		return nil, ratelimit.Limit{}, campaigns.ErrNoChannel
	}
	return w.sb.WithRecorder(w.outbox.BatchRecorder(workspaceID, campaignID)), ratelimit.Limit{}, nil
}

func (w *sandboxWiring) receipts(ctx context.Context, workspaceID int64) (func(int64) channels.Status, error) {
	if workspaceID != w.workspaceID {
		return nil, errForeignWorkspace
	}
	return w.sb.Receipt, nil
}

// dispatch starts a River client built by worker.NewClient, as `waymark worker` builds it, and
// times it from Start until the send jobs fan-out wrote have sent all want deliveries. Completion
// is counted from River's job events rather than by polling the deliveries table, which would
// compete with the work being timed; the count is then checked against the table.
func (r *run) dispatch(ctx context.Context, want int) (time.Duration, error) {
	wiring := &sandboxWiring{workspaceID: r.workspaceID, pool: r.pool, outbox: messages.NewOutbox(r.pool, r.keys), sb: sandbox.New(nil, sandbox.Settings{})}
	deps := worker.Deps{Workspaces: workspaces.NewStore(r.pool), Campaigns: r.campaigns, Senders: wiring.senders, SandboxReceipts: wiring.receipts, Outbox: wiring.outbox}
	client, err := worker.NewClient(r.pool, deps, worker.Options{Logger: r.log, SendWorkers: r.opts.Workers,
		FetchCooldown: fetchCooldown, FetchPollInterval: fetchPollInterval})
	if err != nil {
		return 0, err
	}
	// Periodic maintenance (audit pruning, run completion) belongs to the real workers; left in,
	// it would insert jobs the bench could not tell from theirs when cleaning up.
	client.PeriodicJobs().Clear()
	// One event per send and receipt job at most, and a full buffer drops events.
	events, cancel := client.SubscribeConfig(&river.SubscribeConfig{ChanSize: 2*want + 10_000,
		Kinds: []river.EventKind{river.EventKindJobCompleted}})
	defer cancel()

	start := time.Now()
	if err := client.Start(ctx); err != nil {
		return 0, err
	}
	defer stopClient(ctx, client)
	sent := 0
	err = waitEvents(ctx, events, func(e *river.Event) (bool, error) {
		if e.Job.Kind != (campaigns.SendArgs{}).Kind() {
			return false, nil
		}
		var args campaigns.SendArgs
		if err := json.Unmarshal(e.Job.EncodedArgs, &args); err != nil {
			return false, err
		}
		if args.RunID == r.runID {
			sent += len(args.DeliveryIDs)
		}
		return sent >= want, nil
	}, func() string { return fmt.Sprintf("%d of %d deliveries in completed send jobs", sent, want) })
	elapsed := time.Since(start)
	if err != nil {
		return elapsed, err
	}
	// A send job completes only once its deliveries are recorded; check that the table agrees.
	st, err := r.campaigns.Stats(ctx, r.workspaceID, r.campaignID)
	if err != nil {
		return elapsed, err
	}
	if st.Queued != 0 || st.Sent != int64(want) || st.Failed != 0 {
		return elapsed, fmt.Errorf("after dispatch %d deliveries are sent, %d still queued and %d failed; want %d sent", st.Sent, st.Queued, st.Failed, want)
	}
	return elapsed, nil
}

// waitEvents feeds events to count until it reports done. It fails when ctx ends or when no
// event at all arrives for stallTimeout; progress describes how far it got, for that error.
func waitEvents(ctx context.Context, events <-chan *river.Event, count func(*river.Event) (bool, error), progress func() string) error {
	stall := time.NewTimer(stallTimeout)
	defer stall.Stop()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return fmt.Errorf("River closed the event stream at %s", progress())
			}
			done, err := count(e)
			if err != nil || done {
				return err
			}
			stall.Reset(stallTimeout)
		case <-stall.C:
			return fmt.Errorf("no job completed for %s: stalled at %s", stallTimeout, progress())
		case <-ctx.Done():
			return fmt.Errorf("%w at %s", ctx.Err(), progress())
		}
	}
}

// stopClient stops a phase's client, letting running jobs finish, even when ctx was cancelled.
func stopClient(ctx context.Context, client *river.Client[pgx.Tx]) {
	_ = worker.Stop(context.WithoutCancel(ctx), client, stopTimeout)
}

// jobStates are the states of jobs that a started client would still work.
var jobStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled, rivertype.JobStatePending}

// idleKinds are the job kinds whose presence does not stop a run: periodic maintenance, which
// any worker may have left behind and which the bench's client works correctly, and the bench's
// own, which cleanup removes.
var idleKinds = []string{worker.AuditPruneArgs{}.Kind(), worker.MessagePruneArgs{}.Kind(), campaigns.ProgressArgs{}.Kind(), emptyKind}

// checkQueuesIdle refuses a run while other jobs wait in the database (or are scheduled within
// the hour). The bench's client works every Waymark queue, and its wiring sends nothing for other
// workspaces and answers no inbound message, so their jobs would be held up or fail, and the
// numbers would be skewed.
func (r *run) checkQueuesIdle(ctx context.Context) error {
	res, err := r.inserter.JobList(ctx, river.NewJobListParams().States(jobStates...).
		Where("kind <> ALL(@idle_kinds) AND (state <> 'scheduled' OR scheduled_at < now() + interval '1 hour')",
			river.NamedArgs{"idle_kinds": idleKinds}).First(1))
	if err != nil {
		return err
	}
	if len(res.Jobs) > 0 {
		j := res.Jobs[0]
		return errcode.New(errcode.Precondition,
			"jobs are waiting in this database (job %d, %s in queue %s): run the benchmark where no campaign is in progress and no worker is running, since it works those queues itself",
			j.ID, j.Kind, j.Queue)
	}
	return nil
}
