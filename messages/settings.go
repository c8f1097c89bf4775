package messages

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/messages/internal/dbq"
)

// SandboxSettings are how a workspace's sandbox channel behaves. The zero value, a sandbox that
// sends everything at once and delivers it, is what a workspace has until it saves settings.
type SandboxSettings struct {
	// FailShare of deliveries fail permanently.
	FailShare float64 `json:"fail_share"`
	// ThrottleShare of send attempts are throttled.
	ThrottleShare float64 `json:"throttle_share"`
	// UndeliveredShare of sent messages get an "undelivered" receipt.
	UndeliveredShare float64 `json:"undelivered_share"`
	// RatePerSecond is how many messages a second the sandbox accepts; 0 means no limit.
	RatePerSecond float64 `json:"rate_per_second"`
	// UpdatedAt is when the settings were last saved; nil while the defaults apply.
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

// MaxSandboxRate bounds RatePerSecond: far above anything a worker reaches, and well inside the
// column's real (float4) precision.
const MaxSandboxRate = 1_000_000

// Validate reports the first setting out of range, naming its field.
func (s SandboxSettings) Validate() error {
	for _, share := range []struct {
		field string
		v     float64
	}{
		{"fail_share", s.FailShare},
		{"throttle_share", s.ThrottleShare},
		{"undelivered_share", s.UndeliveredShare},
	} {
		if !(share.v >= 0 && share.v <= 1) {
			return errcode.Field(share.field, "a share is a number from 0 to 1")
		}
	}
	if !(s.RatePerSecond >= 0 && s.RatePerSecond <= MaxSandboxRate) {
		return errcode.Field("rate_per_second", "a rate is a number of messages per second from 0 (no limit) to %d", MaxSandboxRate)
	}
	return nil
}

// SandboxSettings returns workspaceID's sandbox settings, or the defaults if it never saved any.
func (o *Outbox) SandboxSettings(ctx context.Context, workspaceID int64) (SandboxSettings, error) {
	row, err := o.q.SandboxSettingsGet(ctx, workspaceID)
	if err != nil {
		if err := notFound(err, "sandbox settings"); errcode.CodeOf(err) == errcode.NotFound {
			return SandboxSettings{}, nil
		}
		return SandboxSettings{}, err
	}
	return settingsFromRow(row), nil
}

// SaveSandboxSettings validates s and stores it as workspaceID's sandbox settings, returning them
// as stored.
func (o *Outbox) SaveSandboxSettings(ctx context.Context, workspaceID int64, s SandboxSettings) (SandboxSettings, error) {
	if err := s.Validate(); err != nil {
		return SandboxSettings{}, err
	}
	row, err := o.q.SandboxSettingsUpsert(ctx, dbq.SandboxSettingsUpsertParams{
		WorkspaceID: workspaceID, FailShare: float32(s.FailShare), ThrottleShare: float32(s.ThrottleShare),
		UndeliveredShare: float32(s.UndeliveredShare), RatePerSecond: float32(s.RatePerSecond),
	})
	if isForeignKeyViolation(err) {
		return SandboxSettings{}, errcode.New(errcode.NotFound, "no such workspace")
	}
	if err != nil {
		return SandboxSettings{}, err
	}
	return settingsFromRow(row), nil
}

func settingsFromRow(r dbq.SandboxSetting) SandboxSettings {
	at := r.UpdatedAt
	return SandboxSettings{FailShare: fromReal(r.FailShare), ThrottleShare: fromReal(r.ThrottleShare),
		UndeliveredShare: fromReal(r.UndeliveredShare), RatePerSecond: fromReal(r.RatePerSecond), UpdatedAt: &at}
}

// fromReal widens a real (float4) column to the decimal it was saved as: float64(float32(0.1)) is
// 0.10000000149011612, which is not what anyone typed.
func fromReal(f float32) float64 {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return float64(f)
	}
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	return v
}
