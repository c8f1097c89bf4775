package web

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/waymark-org/waymark/internal/errcode"
)

// statusOf is the one place where domain error codes become HTTP statuses.
var statusOf = map[errcode.Code]int{
	errcode.Invalid:      http.StatusBadRequest,
	errcode.NotFound:     http.StatusNotFound,
	errcode.Conflict:     http.StatusConflict,
	errcode.Unauthorized: http.StatusUnauthorized,
	errcode.Forbidden:    http.StatusForbidden,
	errcode.TooLarge:     http.StatusRequestEntityTooLarge,
	errcode.Unavailable:  http.StatusServiceUnavailable,
	errcode.Internal:     http.StatusInternalServerError,
	errcode.RateLimited:  http.StatusTooManyRequests,
	errcode.Unsupported:  http.StatusNotImplemented,
	errcode.Precondition: http.StatusConflict,
}

// StatusOf returns the HTTP status for a domain error code.
func StatusOf(code errcode.Code) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    errcode.Code `json:"code"`
	Message string       `json:"message"`
	Field   string       `json:"field,omitempty"`
}

// writeError answers with the error's status and JSON body. Internal errors are logged here, once,
// and the client sees only a generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := errcode.As(err)
	if joined, isJoin := err.(interface{ Unwrap() []error }); ok && isJoin {
		// Validation that reports every problem at once: show them all, with the first field.
		var msgs []string
		for _, one := range joined.Unwrap() {
			if oe, ok := errcode.As(one); ok {
				msgs = append(msgs, oe.Error())
			}
		}
		e = &errcode.Error{Code: e.Code, Field: e.Field, Message: strings.Join(msgs, "; ")}
	}
	if !ok || e.Code == errcode.Internal {
		s.deps.Logger.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		e = errcode.New(errcode.Internal, "internal error; the server log has the details")
	}
	if e.Code == errcode.Unauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="waymark"`)
	}
	writeJSON(w, StatusOf(e.Code), errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, Field: e.Field}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
