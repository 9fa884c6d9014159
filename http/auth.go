package http

import (
	"errors"
	"net/http"
	"strings"

	"github.com/clink-consortium/clink"
)

// Authenticator finds the user who sends a request. The server tries its authenticators in
// order: the first that returns a user wins; one that returns ErrNoCredentials lets the next
// try; any other error ends the search (an EUNAUTHORIZED error answers 401, anything else
// 500). Bearer tokens are one authenticator (BearerTokens); the web session cookie is
// another (Sessions, session.go).
type Authenticator interface {
	AuthenticateRequest(r *http.Request) (*clink.User, error)
}

// AuthenticatorFunc adapts a function to the Authenticator interface.
type AuthenticatorFunc func(r *http.Request) (*clink.User, error)

// AuthenticateRequest calls f(r).
func (f AuthenticatorFunc) AuthenticateRequest(r *http.Request) (*clink.User, error) { return f(r) }

// ErrNoCredentials is what an Authenticator answers for a request that carries no credentials
// of its kind.
var ErrNoCredentials = errors.New("no credentials of this kind in the request")

// errUnauthenticated is the one answer to every request that does not authenticate: missing,
// malformed, unknown, revoked or expired token, or a disabled user. It tells an attacker
// nothing about which.
var errUnauthenticated = &clink.Error{Code: clink.EUNAUTHORIZED,
	Message: "authentication required: send an active API token in an Authorization: Bearer header, or sign in at /login"}

// authChallenge is the WWW-Authenticate header of 401 answers, naming the realm.
const authChallenge = `Bearer realm="clink"`

// maxTokenLength bounds the token of a bearer header; CLINK's tokens have 52 characters.
const maxTokenLength = 200

// BearerTokens returns the Authenticator of API tokens: "Authorization: Bearer <token>",
// checked with store.AuthenticateToken. A request without an Authorization header has no
// credentials of this kind; a header that is not a well-formed bearer token is refused.
func BearerTokens(store clink.UserStore) Authenticator {
	return AuthenticatorFunc(func(r *http.Request) (*clink.User, error) {
		values := r.Header.Values("Authorization")
		if len(values) == 0 {
			return nil, ErrNoCredentials
		}
		if len(values) > 1 {
			return nil, errUnauthenticated
		}
		token, ok := bearerToken(values[0])
		if !ok {
			return nil, errUnauthenticated
		}
		return store.AuthenticateToken(r.Context(), token)
	})
}

// bearerToken reads the token of an Authorization header value "Bearer <token>" (RFC 6750
// §2.1: the scheme is case-insensitive; the token is token68 characters).
func bearerToken(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	if token == "" || len(token) > maxTokenLength {
		return "", false
	}
	for _, c := range token {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.ContainsRune("-._~+/=", c):
		default:
			return "", false
		}
	}
	return token, true
}

// authenticate returns the user of r from the first authenticator that knows it. Every
// refusal is errUnauthenticated; a failure of ours (the database is down) stays internal.
func (s *Server) authenticate(r *http.Request) (*clink.User, error) {
	for _, a := range s.authenticators {
		u, err := a.AuthenticateRequest(r)
		switch {
		case errors.Is(err, ErrNoCredentials):
			continue
		case err != nil:
			if clink.ErrorCode(err) == clink.EUNAUTHORIZED {
				return nil, errUnauthenticated
			}
			return nil, err
		case u == nil || u.Disabled:
			return nil, errUnauthenticated
		}
		return u, nil
	}
	return nil, errUnauthenticated
}
