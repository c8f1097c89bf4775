// Package twilio is the SMS channel over Twilio's Programmable Messaging API (twilio-go): it
// sends with classified errors, checks the X-Twilio-Signature of inbound messages and status
// callbacks, and parses both.
//
// It never touches the database and never logs: the wiring stores what it parses and records
// what it sends. Credentials never appear in its errors.
package twilio

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"time"
)

// Config is one Twilio channel's settings, as a workspace stores them.
type Config struct {
	// AccountSID is the account ("AC" and 32 hex digits); it names the account in API paths and
	// is not secret.
	AccountSID string
	// AuthToken checks webhook signatures, and authenticates sends when no API key is set.
	// Secret.
	AuthToken string
	// APIKeySID ("SK...") and APIKeySecret, when set, authenticate sends instead of the Auth
	// Token, so that a leaked sending credential can be revoked without changing the token
	// every webhook is signed with. The secret is secret.
	APIKeySID, APIKeySecret string
	// From is the sender: an E.164 number or an alphanumeric sender ID (up to 11 characters,
	// where the destination allows one). Used when MessagingServiceSID is empty.
	From string
	// MessagingServiceSID ("MG...") sends through a Messaging Service, which pools senders and
	// applies Advanced Opt-Out; preferred when set, and then From is not sent.
	MessagingServiceSID string
	// StatusCallback returns the absolute URL Twilio posts delivery receipts to for a delivery,
	// or nil for no receipts. The URL should identify the delivery (see Sender.Send).
	StatusCallback func(deliveryID int64) string
	// ValidityPeriod is how long Twilio may queue a message before failing it (code 30001); 0
	// keeps Twilio's default, at most 10 h (36000 s, Twilio's maximum).
	ValidityPeriod time.Duration
	// HTTPClient carries the API calls. Its Transport is used as is (nil: http.DefaultTransport)
	// and its Timeout bounds each call (0: DefaultTimeout, never unbounded); its redirect policy
	// and cookie jar are not used. nil: a client of our own honouring HTTPS_PROXY/NO_PROXY and
	// the system certificate store, with DefaultTimeout and a 10 s TLS handshake.
	HTTPClient *http.Client
	// BaseURL, for tests, is the scheme://host that replaces https://api.twilio.com, which
	// twilio-go does not let us change.
	BaseURL string
}

// DefaultTimeout bounds one API call when the HTTP client sets no timeout of its own. Twilio
// answers in well under a second; a call still open after this long is more likely stuck behind
// a proxy than about to succeed.
const DefaultTimeout = 15 * time.Second

// MaxValidityPeriod is Twilio's longest queueing time for a message.
const MaxValidityPeriod = 10 * time.Hour

var (
	accountSIDPattern = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	apiKeySIDPattern  = regexp.MustCompile(`^SK[0-9a-fA-F]{32}$`)
	serviceSIDPattern = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	e164Pattern       = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	// Alphanumeric sender IDs: 1 to 11 of letters, digits and spaces, with at least one letter
	// (Twilio's rule, so the ID is not mistaken for a number).
	alphaSenderPattern = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	hasLetter          = regexp.MustCompile(`[A-Za-z]`)
	// twilio-go refuses any user name or password that is not plain alphanumeric, with an error
	// that would otherwise surface on the first send.
	alphanumeric = regexp.MustCompile(`^[A-Za-z0-9]+$`)
)

// Validate reports every problem with the settings at once. Errors name the field, never the
// value of a secret.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if !accountSIDPattern.MatchString(c.AccountSID) {
		bad("AccountSID must be \"AC\" followed by 32 hexadecimal digits")
	}
	if c.AuthToken == "" {
		bad("AuthToken is required: it checks the signature of every webhook")
	} else if !alphanumeric.MatchString(c.AuthToken) {
		bad("AuthToken must contain only letters and digits")
	}
	switch {
	case c.APIKeySID == "" && c.APIKeySecret == "":
	case c.APIKeySID == "" || c.APIKeySecret == "":
		bad("APIKeySID and APIKeySecret must be set together")
	default:
		if !apiKeySIDPattern.MatchString(c.APIKeySID) {
			bad("APIKeySID must be \"SK\" followed by 32 hexadecimal digits")
		}
		if !alphanumeric.MatchString(c.APIKeySecret) {
			bad("APIKeySecret must contain only letters and digits")
		}
	}
	switch {
	case c.MessagingServiceSID != "":
		if !serviceSIDPattern.MatchString(c.MessagingServiceSID) {
			bad("MessagingServiceSID must be \"MG\" followed by 32 hexadecimal digits")
		}
	case c.From == "":
		bad("From or MessagingServiceSID is required")
	case e164Pattern.MatchString(c.From):
	case alphaSenderPattern.MatchString(c.From) && hasLetter.MatchString(c.From):
	default:
		bad("From must be an E.164 number such as +14155550100 or an alphanumeric sender ID of at most 11 characters")
	}
	if c.StatusCallback != nil {
		// The callback is a function of the delivery; trying one shows a misconfigured public URL
		// at start rather than as silently missing receipts.
		if u, err := url.Parse(c.StatusCallback(1)); err != nil || !u.IsAbs() || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("StatusCallback must return an absolute http(s) URL")
		}
	}
	if c.ValidityPeriod < 0 || c.ValidityPeriod > MaxValidityPeriod {
		bad("ValidityPeriod must be between 0 and 10h")
	} else if c.ValidityPeriod > 0 && c.ValidityPeriod < time.Second {
		bad("ValidityPeriod must be at least 1s when set")
	}
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || u.Scheme == "" || u.Host == "" {
			bad("BaseURL must be scheme://host")
		}
	}
	return errors.Join(errs...)
}

// defaultTransport is what Go's default transport does, written out so that every timeout is a
// decision: the proxy comes from HTTPS_PROXY/NO_PROXY, certificates are checked against the
// system store (SSL_CERT_FILE included), and no step can wait forever.
func defaultTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: DefaultTimeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   16,
		ForceAttemptHTTP2:     true,
	}
}
