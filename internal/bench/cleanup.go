package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/waymark-org/waymark/campaigns"
	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/internal/errcode"
)

// campaignQueues are the queues the bench's client works besides its own; jobs of other
// workspaces waiting there would be worked by the bench's sandbox wiring.
var campaignQueues = []string{campaigns.QueueFanout, campaigns.SendQueue(channels.KindSandbox),
	campaigns.SendQueue(channels.KindSMS), campaigns.SendQueue(channels.KindTelegram)}

// checkQueuesIdle refuses a run while other campaigns' jobs wait in the campaign queues (or are
// scheduled within the hour): the bench's client would take them, and its sandbox wiring sends
// nothing for other workspaces, so their messages would be held up and the numbers skewed.
func (r *run) checkQueuesIdle(ctx context.Context) error {
	res, err := r.inserter.JobList(ctx, river.NewJobListParams().Queues(campaignQueues...).States(jobStates...).
		Where("state <> 'scheduled' OR scheduled_at < now() + interval '1 hour'").First(1))
	if err != nil {
		return err
	}
	if len(res.Jobs) > 0 {
		j := res.Jobs[0]
		return errcode.New(errcode.Precondition,
			"campaign jobs are waiting in this database (job %d, %s, queue %s): run the benchmark where no campaign is in progress and no worker is running, since it works those queues itself",
			j.ID, j.Kind, j.Queue)
	}
	return nil
}

// The statements that remove a run's rows. Deleting a workspace is nothing the product offers, so
// no domain package has a query for it; rather than give a domain a destructive query only a
// benchmark uses, the bench keeps its three statements here.
//
// The order matters. sandbox_messages.delivery_id refers to deliveries with ON DELETE SET NULL
// and has no index, so every deleted delivery makes PostgreSQL scan sandbox_messages for rows to
// clear: the outbox goes first and is vacuumed, leaving that scan nothing to read, and the
// deliveries go before the workspace's cascade reaches them.
const (
	deleteOutbox     = `DELETE FROM sandbox_messages WHERE workspace_id = $1`
	vacuumOutbox     = `VACUUM sandbox_messages`
	deleteDeliveries = `DELETE FROM deliveries WHERE workspace_id = $1`
	// The cascade takes contacts, identities, consent events, the campaign, its run and the
	// audit log with it.
	deleteWorkspace = `DELETE FROM workspaces WHERE id = $1`
)

// jobDeleteBatch is how many jobs one River delete removes; River allows at most 10,000.
const jobDeleteBatch = 10_000

// cleanup removes what the run made: its River jobs, then its workspace and everything in it. It
// goes on after a failed step so that one failure does not leave the rest behind.
func (r *run) cleanup(ctx context.Context) error {
	start := time.Now()
	var errs []error
	del := func(params *river.JobDeleteManyParams) {
		for {
			res, err := r.inserter.JobDeleteMany(ctx, params.First(jobDeleteBatch))
			if err != nil {
				errs = append(errs, err)
				return
			}
			if len(res.Jobs) == 0 {
				return
			}
		}
	}
	del(river.NewJobDeleteManyParams().Kinds(emptyKind))
	if r.runID != 0 {
		del(river.NewJobDeleteManyParams().Kinds((campaigns.SendArgs{}).Kind(), (campaigns.FanoutArgs{}).Kind()).
			Where("(args->>'run_id')::bigint = @run_id", river.NamedArgs{"run_id": r.runID}))
	}
	if r.campaignID != 0 {
		del(river.NewJobDeleteManyParams().Kinds((campaigns.StartArgs{}).Kind()).
			Where("(args->>'campaign_id')::bigint = @campaign_id", river.NamedArgs{"campaign_id": r.campaignID}))
	}
	if r.workspaceID != 0 {
		del(river.NewJobDeleteManyParams().Kinds((campaigns.ReceiptArgs{}).Kind()).
			Where("(args->>'workspace_id')::bigint = @workspace_id", river.NamedArgs{"workspace_id": r.workspaceID}))
		for _, step := range []struct {
			sql  string
			args []any
		}{
			{deleteOutbox, []any{r.workspaceID}},
			{vacuumOutbox, nil},
			{deleteDeliveries, []any{r.workspaceID}},
			{deleteWorkspace, []any{r.workspaceID}},
		} {
			if _, err := r.pool.Exec(ctx, step.sql, step.args...); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", step.sql, err))
				if step.sql != vacuumOutbox {
					// With the outbox still full, deleting deliveries would scan it once per
					// delivery; stop, and leave the workspace to be found by its name.
					break
				}
			}
		}
	}
	r.log.Info("bench: cleaned up", "seconds", seconds(time.Since(start)))
	return errors.Join(errs...)
}
