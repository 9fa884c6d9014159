package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/clink-consortium/clink"
)

// Problem is an RFC 9457 problem document, the body of every error answer of the API.
type Problem struct {
	Type      string             `json:"type"`
	Title     string             `json:"title"`
	Status    int                `json:"status"`
	Detail    string             `json:"detail"`
	Errors    []clink.FieldError `json:"errors"`
	RequestID string             `json:"request_id"`
}

// statusError is an error that decides its own status code. It is for the few answers that no
// domain error kind describes: a body too large (413), a method not allowed (405).
type statusError struct {
	status  int
	message string
}

func (e *statusError) Error() string { return e.message }

// errorStatus maps an error to its HTTP status code. It is the one place where error kinds
// become status codes.
func errorStatus(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.status
	}
	switch clink.ErrorCode(err) {
	case clink.EINVALID:
		return http.StatusUnprocessableEntity
	case clink.EMALFORMED:
		return http.StatusBadRequest
	case clink.ENOTFOUND:
		return http.StatusNotFound
	case clink.ECONFLICT:
		return http.StatusConflict
	case clink.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case clink.EFORBIDDEN:
		return http.StatusForbidden
	default:
		return http.StatusInternalServerError
	}
}

// problemOf builds the problem document of err. Internal errors say only "internal error".
func problemOf(err error, requestID string) Problem {
	status := errorStatus(err)
	p := Problem{
		Type:      "about:blank",
		Title:     http.StatusText(status),
		Status:    status,
		Errors:    []clink.FieldError{},
		RequestID: requestID,
	}
	var se *statusError
	switch {
	case errors.As(err, &se):
		p.Detail = se.message
	case status == http.StatusInternalServerError:
		p.Detail = "internal error"
	default:
		p.Detail = clink.ErrorMessage(err)
		p.Errors = append(p.Errors, clink.ErrorFields(err)...)
	}
	return p
}

// writeError answers r with the problem document of err. Internal errors are logged with their
// full chain; the client sees only the request id to quote.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	id := requestIDFrom(r.Context())
	p := problemOf(err, id)
	if p.Status >= 500 {
		s.logger.Error("request failed", "request_id", id, "method", r.Method, "path", r.URL.Path, "error", err.Error())
	} else {
		s.logger.Debug("request refused", "request_id", id, "method", r.Method, "path", r.URL.Path, "status", p.Status, "error", err.Error())
	}
	writeProblem(w, p, s.logger)
}

func writeProblem(w http.ResponseWriter, p Problem, logger *slog.Logger) {
	b, err := json.Marshal(p)
	if err != nil {
		// A Problem holds only strings and ints; this cannot fail, but never answer nothing.
		logger.Error("encode problem", "error", err)
		b = []byte(fmt.Sprintf(`{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"internal error","errors":[],"request_id":%q}`, p.RequestID))
		p.Status = http.StatusInternalServerError
	}
	h := w.Header()
	if p.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", authChallenge)
	}
	h.Set("Content-Type", "application/problem+json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	w.Write(append(b, '\n'))
}

// malformed returns an EMALFORMED error (400) about one field.
func malformed(field, format string, args ...any) error {
	return &clink.Error{
		Code:    clink.EMALFORMED,
		Message: "malformed request",
		Fields:  clink.FieldErrors{{Field: field, Message: fmt.Sprintf(format, args...)}},
	}
}
