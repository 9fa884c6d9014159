package http

import (
	"errors"
	"net/http"
	"time"

	"github.com/clink-consortium/clink"
)

// SessionCookie is the name of the cookie that carries a web session's id.
const SessionCookie = "clink_session"

// Sessions returns the Authenticator of web sessions: the cookie SessionCookie, checked with
// store.SessionUser under the idle timeout idle (clink.DefaultSessionIdle when idle is not
// positive). A request without the cookie has no credentials of this kind.
func Sessions(store clink.UserStore, idle time.Duration) Authenticator {
	if idle <= 0 {
		idle = clink.DefaultSessionIdle
	}
	return AuthenticatorFunc(func(r *http.Request) (*clink.User, error) {
		c, err := r.Cookie(SessionCookie)
		if errors.Is(err, http.ErrNoCookie) || (err == nil && c.Value == "") {
			return nil, ErrNoCredentials
		}
		if err != nil {
			return nil, errUnauthenticated
		}
		return store.SessionUser(r.Context(), c.Value, idle)
	})
}

// setSessionCookie gives the browser the session id: HttpOnly (no script reads it),
// SameSite=Lax (not sent with cross-site POSTs), for every path, Secure when the request came
// over TLS. It has no expiry: it lasts as long as the browser session, and the server ends it
// sooner after the idle timeout.
func setSessionCookie(w http.ResponseWriter, r *http.Request, id string) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
}

// clearSessionCookie tells the browser to forget the session cookie.
func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
}

// crossOriginProtection refuses state-changing requests (every method but GET, HEAD and
// OPTIONS) that a browser marks as cross-site, by Sec-Fetch-Site or by an Origin that is not
// the request's host, with a 403 problem. Requests without those headers, such as API
// clients', pass.
func (s *Server) crossOriginProtection() *http.CrossOriginProtection {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(s.adapt(func(w http.ResponseWriter, r *http.Request) error {
		return clink.Errorf(clink.EFORBIDDEN, "cross-origin request refused: a %s from another site is not accepted", r.Method)
	}))
	return cop
}
