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

// Work handles one message; a failed reply is retried with backoff.
func (w *InboundWorker) Work(ctx context.Context, job *river.Job[chatbot.HandleArgs]) error {
	return w.Handler.Handle(ctx, job.Args)
}
