// Package errcode gives domain errors a code, a message fit to show a user and the field it is
// about. Domain packages return them; the web layer maps each code to an HTTP status in one table
// and the CLI prints the message. Anything else is an internal error, logged once at the edge.
package errcode

import (
	"errors"
	"fmt"
)

// Code classifies a domain error.
type Code string

// The codes a domain error can carry.
const (
	Invalid      Code = "invalid"      // the request or input is malformed or breaks a rule
	NotFound     Code = "not_found"    // no such record in this workspace
	Conflict     Code = "conflict"     // the record exists, or its state does not allow this
	Unauthorized Code = "unauthorized" // no valid credentials
	Forbidden    Code = "forbidden"    // valid credentials without the needed role
	TooLarge     Code = "too_large"    // the input is bigger than allowed
	Unavailable  Code = "unavailable"  // a dependency is down; try again later
	Internal     Code = "internal"     // a bug or an unexpected failure; details are only logged
	RateLimited  Code = "rate_limited" // too many requests; try again later
	Unsupported  Code = "unsupported"  // the request asks for something this install does not do
	Precondition Code = "precondition" // a required step has not been taken (e.g. consent)
)

// Error is a domain error with a code. Message is safe to show to the user: it never holds
// personal data or secrets.
type Error struct {
	Code    Code
	Message string
	Field   string // the input field at fault, if any
	Err     error  // the underlying cause, for logs and errors.Is; never shown
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Unwrap exposes the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error with code and a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Field returns an Invalid error about one input field.
func Field(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a code and message to a cause.
func Wrap(err error, code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// CodeOf returns the code of the first *Error in err's chain, or Internal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// As returns the first *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
