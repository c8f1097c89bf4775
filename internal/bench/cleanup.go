package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/waymark-org/waymark/campaigns"
)

// The statements that remove a run's rows. Deleting a workspace is nothing the product offers, so
// no domain package has a query for it; rather than give a domain a destructive query only a
// benchmark uses, the bench keeps its statements here.
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

// deleteEmptyJobs removes the baseline's jobs. Their kind is the bench's alone, and one statement
// removes a million in about a second, where River's JobDeleteMany, ten thousand at a time,
// rescans the table for each batch and takes over a minute.
const deleteEmptyJobs = `DELETE FROM river_job WHERE kind = $1`

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
	if _, err := r.pool.Exec(ctx, deleteEmptyJobs, emptyKind); err != nil {
		errs = append(errs, err)
	}
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
