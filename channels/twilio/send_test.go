package twilio_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/channels/channeltest"
	"github.com/waymark-org/waymark/channels/twilio"
)

// Test credentials: shaped like Twilio's, random enough that a leaked piece is recognisable.
const (
	accountSID   = "AC0123456789abcdef0123456789abcdef"
	authToken    = "f3a9c1d27b8e4650a1c3e5f7092b4d6e"
	apiKeySID    = "SK5f1e2d3c4b5a69788796a5b4c3d2e1f0"
	apiKeySecret = "Zq8xW2vN7mK4pR9tL3yH6jB1cF5gD0sA"
	serviceSID   = "MGfedcba9876543210fedcba9876543210"
	ourNumber    = "+14155550100"
	theirNumber  = "+251900000001"
	messagesPath = "/2010-04-01/Accounts/" + accountSID + "/Messages.json"
)

var secrets = []string{authToken, apiKeySecret}

// amharic is a two-segment UCS-2 text ("Before travelling for work abroad, check the contract.").
const amharic = "ለሥራ ወደ ውጭ አገር ከመሄድዎ በፊት ውሉን ያረጋግጡ። ቪዛዎን እና ፓስፖርትዎን ለማንም አይስጡ። ጥያቄ ካለዎት ይህን መልእክት ይመልሱ።"

// created is Twilio's 201 answer to a Messages create, as the API sends it.
func created(sid, status, segments string) string {
	return fmt.Sprintf(`{"account_sid": %q, "api_version": "2010-04-01", "body": "…", "date_created": "Thu, 12 Jun 2025 10:30:00 +0000", "date_sent": null, "date_updated": "Thu, 12 Jun 2025 10:30:00 +0000", "direction": "outbound-api", "error_code": null, "error_message": null, "from": %q, "messaging_service_sid": null, "num_media": "0", "num_segments": %q, "price": null, "price_unit": "USD", "sid": %q, "status": %q, "subresource_uris": {"media": "/2010-04-01/Accounts/%s/Messages/%s/Media.json"}, "to": %q, "uri": "/2010-04-01/Accounts/%s/Messages/%s.json"}`,
		accountSID, ourNumber, segments, sid, status, accountSID, sid, theirNumber, accountSID, sid)
}

// twilioError is Twilio's JSON error answer.
func twilioError(code, status int, message string) string {
	return fmt.Sprintf(`{"code": %d, "message": %q, "more_info": "https://www.twilio.com/docs/errors/%d", "status": %d}`,
		code, message, code, status)
}

func baseConfig() twilio.Config {
	return twilio.Config{AccountSID: accountSID, AuthToken: authToken, From: ourNumber}
}

// newSender builds a Sender for c against the fake server.
func newSender(c twilio.Config) channeltest.NewSender {
	return func(serverURL string, _ *slog.Logger) channels.Sender {
		cfg := c
		cfg.BaseURL = serverURL
		s, err := twilio.New(cfg)
		if err != nil {
			panic(err)
		}
		return s
	}
}

func message(text string) channels.Message {
	return channels.Message{DeliveryID: 77, To: theirNumber, Text: text, Language: "am", Segments: 2}
}

// failing is an exchange that answers a Messages create with a status and body.
func failing(status int, body string) channeltest.Exchange {
	return channeltest.Exchange{Path: messagesPath, Status: status, Body: body}
}

func TestSend(t *testing.T) {
	t.Parallel()
	cases := []channeltest.SendCase{
		{
			Name:    "from a number",
			Message: message(amharic),
			Exchanges: []channeltest.Exchange{{
				Path:          messagesPath,
				BasicAuthUser: accountSID,
				Fields:        map[string]string{"To": theirNumber, "From": ourNumber, "Body": amharic},
				Absent:        []string{"MessagingServiceSid", "StatusCallback", "ValidityPeriod"},
				Check: func(t testing.TB, r *channeltest.Request) {
					if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
						t.Errorf("Content-Type = %q", ct)
					}
				},
				Status: http.StatusCreated,
				Body:   created("SM0000000000000000000000000000a001", "queued", "2"),
			}},
			Want: channels.Result{ProviderID: "SM0000000000000000000000000000a001", Status: channels.StatusQueued, Segments: 2},
		},
		{
			Name:    "1600 characters is the most Twilio takes",
			Message: message(strings.Repeat("a", 1600)),
			Exchanges: []channeltest.Exchange{{
				Path: messagesPath, Fields: map[string]string{"Body": strings.Repeat("a", 1600)},
				Status: http.StatusCreated, Body: created("SM0000000000000000000000000000a002", "queued", "11"),
			}},
			Want: channels.Result{ProviderID: "SM0000000000000000000000000000a002", Status: channels.StatusQueued, Segments: 11},
		},
		{
			Name:    "1601 characters fail before calling",
			Message: message(strings.Repeat("a", 1601)),
			Err: &channeltest.WantError{Class: channels.Permanent, Code: twilio.CodeBodyTooLong,
				ReasonContains: []string{"1601", "1600"}},
		},
		{
			Name:    "emoji count as two",
			Message: message(strings.Repeat("😀", 801)),
			Err:     &channeltest.WantError{Class: channels.Permanent, Code: twilio.CodeBodyTooLong, ReasonContains: []string{"1602"}},
		},
		{
			Name:    "no text fails before calling",
			Message: message(""),
			Err:     &channeltest.WantError{Class: channels.Permanent, Code: twilio.CodeNoBody},
		},
		{
			Name:    "no number fails before calling",
			Message: channels.Message{DeliveryID: 1, Text: "hi"},
			Err:     &channeltest.WantError{Class: channels.Permanent, Code: twilio.CodeNoAddress},
		},
		{
			Name:    "cancelled context is not sent",
			Message: message("hi"),
			Context: func(t *testing.T) context.Context {
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				return ctx
			},
			Err: &channeltest.WantError{Class: channels.Temporary, Code: twilio.CodeCancelled},
		},
		{
			Name:      "21610 unsubscribed recipient stopped",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{failing(400, twilioError(21610, 400, "Attempt to send to unsubscribed recipient"))},
			Err: &channeltest.WantError{Class: channels.RecipientStopped, Code: "21610",
				ReasonContains: []string{"unsubscribed recipient"}},
		},
		{
			Name:    "20429 with Retry-After is throttled for that long",
			Message: message("hi"),
			Exchanges: []channeltest.Exchange{{Path: messagesPath, Status: 429, Header: map[string]string{"Retry-After": "3"},
				Body: twilioError(20429, 429, "Too Many Requests")}},
			Err: &channeltest.WantError{Class: channels.Throttled, Code: "20429", RetryAfter: 3 * time.Second},
		},
		{
			Name:      "429 without a hint is throttled with none",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{failing(429, twilioError(20429, 429, "Too Many Requests"))},
			Err:       &channeltest.WantError{Class: channels.Throttled, Code: "20429"},
		},
		{
			Name:      "429 from a gateway is throttled too",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{{Path: messagesPath, Status: 429, Header: map[string]string{"Content-Type": "text/html", "Retry-After": "10"}, Body: "<html>slow down</html>"}},
			Err:       &channeltest.WantError{Class: channels.Throttled, Code: "429", RetryAfter: 10 * time.Second},
		},
		{
			Name:      "21611 queue full is throttled",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{failing(400, twilioError(21611, 400, "This 'From' number has exceeded the maximum number of queued messages"))},
			Err:       &channeltest.WantError{Class: channels.Throttled, Code: "21611"},
		},
		{
			Name:      "21211 invalid number is permanent, number redacted",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{failing(400, twilioError(21211, 400, "The 'To' number "+theirNumber+" is not a valid phone number."))},
			Err: &channeltest.WantError{Class: channels.Permanent, Code: "21211",
				ReasonContains: []string{"The 'To' number <number> is not a valid phone number."}},
		},
		{
			Name:      "21614 not a mobile number is permanent",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{failing(400, twilioError(21614, 400, "'To' number is not a valid mobile number"))},
			Err:       &channeltest.WantError{Class: channels.Permanent, Code: "21614", ReasonContains: []string{"not a valid mobile number"}},
		},
		{
			Name:      "21408 region not enabled is permanent",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{failing(400, twilioError(21408, 400, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: "+theirNumber))},
			Err:       &channeltest.WantError{Class: channels.Permanent, Code: "21408", ReasonContains: []string{"region", "<number>"}},
		},
		{
			Name:      "21612 unreachable is permanent",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{failing(400, twilioError(21612, 400, "The 'To' phone number is not currently reachable via SMS"))},
			Err:       &channeltest.WantError{Class: channels.Permanent, Code: "21612"},
		},
		{
			Name:      "an unlisted 4xx code is permanent",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{failing(400, twilioError(21999, 400, "Something new"))},
			Err:       &channeltest.WantError{Class: channels.Permanent, Code: "21999", ReasonContains: []string{"Something new"}},
		},
		{
			Name:      "an empty message falls back to our description",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{failing(400, `{"code": 21606, "status": 400}`)},
			Err:       &channeltest.WantError{Class: channels.Permanent, Code: "21606", ReasonContains: []string{"not a valid message-capable"}},
		},
		{
			Name:      "20003 rejected credentials wait for a fix",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{failing(401, twilioError(20003, 401, "Authentication Error - invalid username"))},
			Err:       &channeltest.WantError{Class: channels.Temporary, Code: "20003", ReasonContains: []string{"credentials"}},
		},
		{
			Name:      "5xx is temporary",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{failing(500, twilioError(20500, 500, "Internal Server Error"))},
			Err:       &channeltest.WantError{Class: channels.Temporary, Code: "20500"},
		},
		{
			Name:      "a proxy's error page is temporary",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{{Path: messagesPath, Status: 502, Header: map[string]string{"Content-Type": "text/html"}, Body: "<html><body>Bad Gateway</body></html>"}},
			Err:       &channeltest.WantError{Class: channels.Temporary, Code: "502", ReasonContains: []string{"may have been accepted"}},
		},
		{
			Name:      "an unreadable success is temporary, outcome unknown",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{{Path: messagesPath, Status: 201, Body: `{"sid": `}},
			Err:       &channeltest.WantError{Class: channels.Temporary, Code: twilio.CodeBadAnswer},
		},
		{
			Name:      "a success without a SID is temporary",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{{Path: messagesPath, Status: 201, Body: `{"status": "queued"}`}},
			Err:       &channeltest.WantError{Class: channels.Temporary, Code: twilio.CodeBadAnswer},
		},
		{
			Name:    "the caller's deadline aborts the call",
			Message: message("hi"),
			Context: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
				t.Cleanup(cancel)
				return ctx
			},
			Exchanges: []channeltest.Exchange{{Path: messagesPath, Delay: 10 * time.Second, Status: 201,
				Body: created("SM0000000000000000000000000000a003", "queued", "1")}},
			Err: &channeltest.WantError{Class: channels.Temporary, Code: twilio.CodeCancelled, ReasonContains: []string{"may have been accepted"}},
		},
		{
			Name:      "an answer echoing a credential is redacted",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{failing(400, twilioError(21211, 400, "bad request for "+authToken+" / "+accountSID+":"+authToken))},
			Err:       &channeltest.WantError{Class: channels.Permanent, Code: "21211", ReasonContains: []string{"<secret>"}},
		},
	}
	for i := range cases {
		cases[i].Secrets = secrets
	}
	channeltest.RunSendCases(t, cases, newSender(baseConfig()))
}

func TestSendConfigurations(t *testing.T) {
	t.Parallel()
	const sid = "SM0000000000000000000000000000b001"

	service := baseConfig()
	service.From = ""
	service.MessagingServiceSID = serviceSID
	channeltest.RunSendCases(t, []channeltest.SendCase{{
		Name:    "from a Messaging Service",
		Message: message("hello"),
		Exchanges: []channeltest.Exchange{{
			Path:   messagesPath,
			Fields: map[string]string{"To": theirNumber, "MessagingServiceSid": serviceSID, "Body": "hello"},
			Absent: []string{"From"},
			Status: http.StatusCreated,
			// A Messaging Service accepts first and counts segments later.
			Body: strings.Replace(created(sid, "accepted", "0"), `"messaging_service_sid": null`, `"messaging_service_sid": "`+serviceSID+`"`, 1),
		}},
		Want:    channels.Result{ProviderID: sid, Status: channels.StatusQueued},
		Secrets: secrets,
	}}, newSender(service))

	both := service
	both.From = ourNumber
	channeltest.RunSendCases(t, []channeltest.SendCase{{
		Name:    "a Messaging Service is preferred to a number",
		Message: message("hello"),
		Exchanges: []channeltest.Exchange{{Path: messagesPath, Fields: map[string]string{"MessagingServiceSid": serviceSID},
			Absent: []string{"From"}, Status: http.StatusCreated, Body: created(sid, "accepted", "0")}},
		Want:    channels.Result{ProviderID: sid, Status: channels.StatusQueued},
		Secrets: secrets,
	}}, newSender(both))

	callback := baseConfig()
	callback.StatusCallback = func(id int64) string {
		return fmt.Sprintf("https://waymark.example/hooks/twilio/3/status?d=%d", id)
	}
	callback.ValidityPeriod = time.Hour
	channeltest.RunSendCases(t, []channeltest.SendCase{{
		Name:    "with a status callback naming the delivery and a validity period",
		Message: message("hello"),
		Exchanges: []channeltest.Exchange{{Path: messagesPath, Fields: map[string]string{
			"StatusCallback": "https://waymark.example/hooks/twilio/3/status?d=77",
			"ValidityPeriod": "3600",
		}, Status: http.StatusCreated, Body: created(sid, "queued", "1")}},
		Want:    channels.Result{ProviderID: sid, Status: channels.StatusQueued, Segments: 1},
		Secrets: secrets,
	}}, newSender(callback))

	key := baseConfig()
	key.APIKeySID, key.APIKeySecret = apiKeySID, apiKeySecret
	channeltest.RunSendCases(t, []channeltest.SendCase{{
		Name:    "with an API key",
		Message: message("hello"),
		Exchanges: []channeltest.Exchange{{
			// The account still names the path; the key authenticates.
			Path:          messagesPath,
			BasicAuthUser: apiKeySID,
			Check: func(t testing.TB, r *channeltest.Request) {
				want := "Basic " + base64.StdEncoding.EncodeToString([]byte(apiKeySID+":"+apiKeySecret))
				if got := r.Header.Get("Authorization"); got != want {
					t.Errorf("Authorization is not the API key's")
				}
			},
			Status: http.StatusCreated, Body: created(sid, "queued", "1"),
		}},
		Want:    channels.Result{ProviderID: sid, Status: channels.StatusQueued, Segments: 1},
		Secrets: secrets,
	}}, newSender(key))

	slow := baseConfig()
	slow.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond}
	channeltest.RunSendCases(t, []channeltest.SendCase{{
		Name:    "the HTTP client's timeout bounds the call",
		Message: message("hello"),
		Exchanges: []channeltest.Exchange{{Path: messagesPath, Delay: 10 * time.Second, Status: http.StatusCreated,
			Body: created(sid, "queued", "1")}},
		Err:     &channeltest.WantError{Class: channels.Temporary, Code: twilio.CodeNoAnswer, ReasonContains: []string{"timed out", "may have been accepted"}},
		Secrets: secrets,
	}}, newSender(slow))
}

func TestSendNetworkError(t *testing.T) {
	t.Parallel()
	c := baseConfig()
	// A port nothing listens on: the connection is refused at once.
	c.BaseURL = "http://127.0.0.1:1"
	s, err := twilio.New(c)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Send(t.Context(), message("hello"))
	channeltest.CheckSendOutcome(t, res, err, channels.Result{}, &channeltest.WantError{Class: channels.Temporary, Code: twilio.CodeNoAnswer})
	channeltest.AssertNoSecrets(t, secrets, err.Error(), fmt.Sprintf("%+v", channels.Classify(err).Err))
	if strings.Contains(channels.Classify(err).Reason, accountSID) {
		t.Errorf("reason quotes the request URL: %q", channels.Classify(err).Reason)
	}
}

func TestKind(t *testing.T) {
	t.Parallel()
	s, err := twilio.New(baseConfig())
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind() != channels.KindSMS {
		t.Fatalf("Kind = %q", s.Kind())
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	badSecret := "not-alnum!" + authToken
	cases := []struct {
		name   string
		edit   func(*twilio.Config)
		fields []string // each must be named in the error
	}{
		{"valid from a number", func(*twilio.Config) {}, nil},
		{"valid alphanumeric sender", func(c *twilio.Config) { c.From = "Info Line" }, nil},
		{"valid with a service and a key", func(c *twilio.Config) {
			c.From, c.MessagingServiceSID, c.APIKeySID, c.APIKeySecret = "", serviceSID, apiKeySID, apiKeySecret
		}, nil},
		{"bad account", func(c *twilio.Config) { c.AccountSID = "AC123" }, []string{"AccountSID"}},
		{"no token", func(c *twilio.Config) { c.AuthToken = "" }, []string{"AuthToken"}},
		{"token with symbols", func(c *twilio.Config) { c.AuthToken = badSecret }, []string{"AuthToken"}},
		{"key without secret", func(c *twilio.Config) { c.APIKeySID = apiKeySID }, []string{"APIKeySID", "APIKeySecret"}},
		{"bad key secret", func(c *twilio.Config) { c.APIKeySID, c.APIKeySecret = apiKeySID, badSecret }, []string{"APIKeySecret"}},
		{"bad key", func(c *twilio.Config) { c.APIKeySID, c.APIKeySecret = "AK1", apiKeySecret }, []string{"APIKeySID"}},
		{"no sender", func(c *twilio.Config) { c.From = "" }, []string{"From", "MessagingServiceSID"}},
		{"bad number", func(c *twilio.Config) { c.From = "0712345678" }, []string{"From"}},
		{"sender ID too long", func(c *twilio.Config) { c.From = "InformationLine" }, []string{"From"}},
		{"bad service", func(c *twilio.Config) { c.MessagingServiceSID = "MG1" }, []string{"MessagingServiceSID"}},
		{"relative callback", func(c *twilio.Config) {
			c.StatusCallback = func(id int64) string { return fmt.Sprintf("/hooks/twilio/status?d=%d", id) }
		}, []string{"StatusCallback"}},
		{"validity too long", func(c *twilio.Config) { c.ValidityPeriod = 11 * time.Hour }, []string{"ValidityPeriod"}},
		{"validity too short", func(c *twilio.Config) { c.ValidityPeriod = time.Millisecond }, []string{"ValidityPeriod"}},
		{"several at once", func(c *twilio.Config) { c.AccountSID, c.From = "", "" }, []string{"AccountSID", "From"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := baseConfig()
			c.edit(&cfg)
			err := cfg.Validate()
			if len(c.fields) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			for _, f := range c.fields {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("error %q does not name %s", err, f)
				}
			}
			channeltest.AssertNoSecrets(t, []string{authToken, apiKeySecret, badSecret}, err.Error())
			if _, nerr := twilio.New(cfg); nerr == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
}
