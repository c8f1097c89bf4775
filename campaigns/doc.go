// Package campaigns owns information campaigns from the author's text to each recipient's
// delivery: content per language and its rendering, audiences, schedules and quiet hours, the
// campaign state machine, the fan-out that writes one delivery per recipient with the jobs that
// send them, the send step with its classified provider errors, and delivery statuses that only
// move forward.
package campaigns
