package worker

import (
	"context"

	"github.com/riverqueue/river"

	"github.com/waymark-org/waymark/chatbot"
)

// InboundWorker hands stored inbound messages to the chatbot.
type InboundWorker struct {
	river.WorkerDefaults[chatbot.HandleArgs]
	Handler *chatbot.Handler
}

// Work handles one message. An answer that failed for a reason that may pass (a network error, a
// provider's 5xx, a throttle longer than the handler waits out) fails the job, and River runs it
// again with backoff: the run applies nothing twice and sends only the answers still pending.
func (w *InboundWorker) Work(ctx context.Context, job *river.Job[chatbot.HandleArgs]) error {
	return w.Handler.Handle(ctx, job.Args)
}
