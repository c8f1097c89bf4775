package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/waymark-org/waymark/channels"
)

// RawUpdate is one update as Telegram sent it: ID is its update_id, Body its JSON, byte for byte,
// to store before anything else happens and to parse with ParseUpdate.
type RawUpdate struct {
	ID   int64
	Body []byte
}

// MaxPollTimeout is the longest long-poll GetUpdates asks for; Telegram holds a poll open for
// at most about this long anyway.
const MaxPollTimeout = 50 * time.Second

// pollLimit is how many updates one poll returns at most, Telegram's maximum.
const pollLimit = 100

// maxPollBody bounds a getUpdates answer: 100 updates of a few KB each.
const maxPollBody = 16 << 20

// GetUpdates asks Telegram for the updates from offset on (the last stored update_id + 1; 0 for
// all pending), waiting up to timeout (at most MaxPollTimeout) for one to arrive, and returns
// them raw, in order. Telegram forgets the updates below the offset of a later call, so a loop
// that loses nothing stores what this returns, commits, and only then asks again with the
// highest id + 1; go-telegram/bot's own loop advances the offset as soon as updates are in
// memory, so a crash there loses them.
//
// The call is bounded by the client's timeout plus the poll's. Errors are *channels.SendError:
// Throttled with RetryAfter on 429, Permanent 409 while a webhook is set (call DeleteWebhook),
// Temporary otherwise.
func (c *Client) GetUpdates(ctx context.Context, offset int64, timeout time.Duration) ([]RawUpdate, error) {
	timeout = min(max(timeout, 0), MaxPollTimeout)
	body, err := json.Marshal(map[string]any{
		"offset":          offset,
		"limit":           pollLimit,
		"timeout":         int(timeout / time.Second),
		"allowed_updates": allowedUpdates,
	})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.serverURL+"/bot"+c.token+"/getUpdates", bytes.NewReader(body))
	if err != nil {
		return nil, errors.New(c.redact(err.Error()))
	}
	req.Header.Set("Content-Type", "application/json")
	hc := &http.Client{Transport: c.transport, Timeout: c.timeout + timeout}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = c.redact(ue.URL)
		}
		return nil, c.pollError(ctx, 0, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxPollBody+1))
	if err != nil {
		return nil, c.pollError(ctx, resp.StatusCode, err)
	}
	if len(raw) > maxPollBody {
		return nil, c.pollError(ctx, resp.StatusCode, errors.New("getUpdates answer too large"))
	}
	var ans struct {
		apiError
		OK     bool              `json:"ok"`
		Result []json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil {
		return nil, c.pollError(ctx, resp.StatusCode, fmt.Errorf("getUpdates answer is not JSON: %w", err))
	}
	if !ans.OK {
		code := ans.ErrorCode
		if code == 0 {
			code = resp.StatusCode
		}
		desc := c.redact(ans.Description)
		return nil, classifyAPIError(code, desc, ans.Parameters.RetryAfter, fmt.Errorf("getUpdates: %d %s", code, desc))
	}
	updates := make([]RawUpdate, 0, len(ans.Result))
	for _, r := range ans.Result {
		var head struct {
			UpdateID *int64 `json:"update_id"`
		}
		if err := json.Unmarshal(r, &head); err != nil || head.UpdateID == nil {
			return nil, &channels.SendError{Class: channels.Temporary, Code: CodeBadAnswer,
				Reason: "getUpdates returned an update without update_id"}
		}
		updates = append(updates, RawUpdate{ID: *head.UpdateID, Body: bytes.Clone(r)})
	}
	return updates, nil
}

func (c *Client) pollError(ctx context.Context, status int, err error) error {
	safe := &channels.RedactedError{Msg: c.redact(err.Error()), Err: err}
	switch {
	case status >= 400:
		return classifyAPIError(status, fmt.Sprintf("HTTP %d without a Bot API error", status), 0, safe)
	case ctx.Err() != nil:
		return &channels.SendError{Class: channels.Temporary, Code: CodeCancelled, Reason: "getUpdates cancelled", Err: safe}
	case status != 0:
		return &channels.SendError{Class: channels.Temporary, Code: CodeBadAnswer, Reason: "getUpdates answer could not be read", Err: safe}
	}
	return &channels.SendError{Class: channels.Temporary, Code: CodeNoAnswer,
		Reason: "no answer from Telegram (" + netReason(err) + ")", Err: safe}
}

// apiError is the error part of a Bot API answer.
type apiError struct {
	ErrorCode   int    `json:"error_code"`
	Description string `json:"description"`
	Parameters  struct {
		RetryAfter      int   `json:"retry_after"`
		MigrateToChatID int64 `json:"migrate_to_chat_id"`
	} `json:"parameters"`
}

// decodeAPIError reads an ok:false answer; ok is false for anything else (a proxy's HTML page).
func decodeAPIError(body []byte) (apiError, bool) {
	var a struct {
		apiError
		OK *bool `json:"ok"`
	}
	if json.Unmarshal(body, &a) != nil || a.OK == nil || *a.OK || a.ErrorCode == 0 {
		return apiError{}, false
	}
	return a.apiError, true
}
