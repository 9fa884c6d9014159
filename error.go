package clink

import (
	"errors"
	"fmt"
	"strings"
)

// Error kinds. The set is closed: every error a user can see maps to one of these, and the
// http adapter maps each kind to a status code in exactly one place.
const (
	EINVALID      = "invalid"      // input breaks a rule: 422, or 400 when it cannot be parsed
	EMALFORMED    = "malformed"    // input cannot be parsed at all (bad JSON): 400
	ENOTFOUND     = "not_found"    // 404
	ECONFLICT     = "conflict"     // the request clashes with the current state: 409
	EUNAUTHORIZED = "unauthorized" // 401
	EFORBIDDEN    = "forbidden"    // 403
	EINTERNAL     = "internal"     // a fault of ours: 500, details only in the log
)

// FieldError says what is wrong with one field of the input.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e FieldError) String() string { return e.Field + ": " + e.Message }

// FieldErrors collects field errors while a record is validated.
type FieldErrors []FieldError

// Addf records a problem with field.
func (fe *FieldErrors) Addf(field, format string, args ...any) {
	*fe = append(*fe, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Prefix returns the errors with prefix+"." in front of each field name.
func (fe FieldErrors) Prefix(prefix string) FieldErrors {
	out := make(FieldErrors, len(fe))
	for i, e := range fe {
		out[i] = FieldError{Field: prefix + "." + e.Field, Message: e.Message}
	}
	return out
}

// Err returns nil when nothing was recorded, else an EINVALID *Error carrying every field error.
func (fe FieldErrors) Err() error {
	if len(fe) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "invalid input", Fields: append(FieldErrors(nil), fe...)}
}

// Error is a domain error: a kind, a message fit for users, and for invalid input the list of
// fields at fault.
type Error struct {
	Code    string
	Message string
	Fields  FieldErrors
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.String()
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}

// Errorf returns an *Error of kind code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error about one field.
func Invalid(field, format string, args ...any) *Error {
	var fe FieldErrors
	fe.Addf(field, format, args...)
	return fe.Err().(*Error)
}

// ErrorCode returns the kind of err: the Code of the first *Error in its chain, EINTERNAL for
// any other error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var b *AuditBreak
	if errors.As(err, &b) {
		return ECONFLICT
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err; internal errors say only "internal error".
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "internal error"
}

// ErrorFields returns the field errors of err, if any.
func ErrorFields(err error) FieldErrors {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}
