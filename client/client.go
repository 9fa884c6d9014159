// Package client is a Go client of CLINK's REST API. It is what the command line and the
// end-to-end tests use to talk to a server; every route of the API has a typed method.
//
// Errors answered by the server are *Error values carrying the problem document, including
// the field errors of invalid input:
//
//	_, err := c.CreateObservation(ctx, cultureID, &obs)
//	var e *client.Error
//	if errors.As(err, &e) && e.Status == 422 {
//		for _, f := range e.Errors { fmt.Println(f.Field, f.Message) }
//	}
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/clink-consortium/clink"
)

// Client talks to one CLINK server.
type Client struct {
	// BaseURL is the server's root, e.g. http://localhost:8080; the client adds /api/v1/.
	BaseURL string
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Token is the API token sent as "Authorization: Bearer <token>" (clink token create);
	// empty sends no credentials, which only the health check and the OpenAPI documents accept.
	Token string
}

// Option configures a Client made by New.
type Option func(*Client)

// WithToken makes the client authenticate with the API token t.
func WithToken(t string) Option { return func(c *Client) { c.Token = t } }

// New returns a client of the server at baseURL.
func New(baseURL string, opts ...Option) *Client {
	c := &Client{BaseURL: strings.TrimRight(baseURL, "/")}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Error is an error answer of the server: its status code and the fields of its RFC 9457
// problem document.
type Error struct {
	Status    int
	Type      string
	Title     string
	Detail    string
	Errors    []clink.FieldError
	RequestID string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", e.Status, e.Title)
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	for i, f := range e.Errors {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field + ": " + f.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request " + e.RequestID + ")")
	}
	return b.String()
}

// Field returns the message of the first error about field, and whether there is one.
func (e *Error) Field(field string) (string, bool) {
	for _, f := range e.Errors {
		if f.Field == field {
			return f.Message, true
		}
	}
	return "", false
}

// List is a page of a list answer and the number of items that match the filter.
type List[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// do sends a request to path (below /api/v1) with query and, when body is not nil, body as
// JSON, and decodes a successful answer into out. The answer's headers are returned.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) (http.Header, error) {
	u := c.BaseURL + "/api/v1" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode body: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 400 {
		return resp.Header, errorOf(resp, data)
	}
	if out != nil {
		if raw, ok := out.(*[]byte); ok {
			*raw = data
			return resp.Header, nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return resp.Header, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return resp.Header, nil
}

// errorOf builds the *Error of an error answer; a body that is not a problem document becomes
// the detail.
func errorOf(resp *http.Response, data []byte) *Error {
	e := &Error{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode)}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var p struct {
		Type      string             `json:"type"`
		Title     string             `json:"title"`
		Detail    string             `json:"detail"`
		Errors    []clink.FieldError `json:"errors"`
		RequestID string             `json:"request_id"`
	}
	if (mt == "application/problem+json" || mt == "application/json") && json.Unmarshal(data, &p) == nil {
		e.Type, e.Detail, e.Errors, e.RequestID = p.Type, p.Detail, p.Errors, p.RequestID
		if p.Title != "" {
			e.Title = p.Title
		}
		return e
	}
	e.Detail = strings.TrimSpace(string(data))
	if len(e.Detail) > 500 {
		e.Detail = e.Detail[:500] + "..."
	}
	return e
}

// pageValues adds limit and offset to q when they are set.
func pageValues(q url.Values, limit, offset int) url.Values {
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if offset != 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	return q
}

func setIf(q url.Values, name, value string) {
	if value != "" {
		q.Set(name, value)
	}
}

func setID(q url.Values, name string, id int64) {
	if id != 0 {
		q.Set(name, strconv.FormatInt(id, 10))
	}
}

func idPath(prefix string, id int64) string { return prefix + "/" + strconv.FormatInt(id, 10) }

func refPath(prefix, ref string) string { return prefix + "/" + url.PathEscape(ref) }
