package http

import (
	"context"
	"net/http"
	"strings"

	"github.com/clink-consortium/clink"
)

// maxLoginForm bounds the body of a sign-in form.
const maxLoginForm = 16 << 10

// guardPage is guard for web pages: a visitor who is not signed in is sent to /login (303)
// instead of answered 401, and an error the handler returns is answered as an HTML page
// (renderError) rather than a problem document.
func (s *Server) guardPage(rt Route) handlerFunc {
	handle := func(w http.ResponseWriter, r *http.Request) error {
		if err := rt.Handle(w, r); err != nil {
			s.renderError(w, r, err)
		}
		return nil
	}
	if rt.Perm == PermPublic {
		return handle
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		u, err := s.authenticate(r)
		if clink.ErrorCode(err) == clink.EUNAUTHORIZED {
			if _, cerr := r.Cookie(SessionCookie); cerr == nil {
				clearSessionCookie(w, r)
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return nil
		}
		if err != nil {
			s.renderError(w, r, err)
			return nil
		}
		ctx := context.WithValue(r.Context(), userKey{}, u)
		ctx = context.WithValue(ctx, permKey{}, rt.Perm)
		ctx = clink.WithActor(ctx, u.Username)
		r = r.WithContext(ctx)
		if !permits(u, rt.Perm, u.Site) {
			s.renderError(w, r, forbidden(u, rt.Perm, ""))
			return nil
		}
		return handle(w, r)
	}
}

// loginForm is the data of the sign-in page.
type loginForm struct {
	Username string
	Error    string
}

// loginPage serves the sign-in form.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, http.StatusOK, "login", page{Title: "Sign in", Data: loginForm{}})
}

// login checks the form's username and password with the store. On success it opens a new
// session, whatever session cookie the request carried (no session fixation), sets its
// cookie and sends the browser to /. On failure it shows the form again with the store's
// message (bad credentials, throttled or locked) and the typed username, with status 401.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginForm)
	show := func(status int, form loginForm) error {
		return s.render(w, r, status, "login", page{Title: "Sign in", Data: form})
	}
	if err := r.ParseForm(); err != nil {
		return show(http.StatusBadRequest, loginForm{Error: "The sign-in form could not be read; please try again."})
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	password := r.PostForm.Get("password")
	form := loginForm{Username: username}
	if username == "" || password == "" {
		form.Error = "Enter your username and password."
		return show(http.StatusUnauthorized, form)
	}
	u, err := s.store.Authenticate(r.Context(), username, password)
	if clink.ErrorCode(err) == clink.EUNAUTHORIZED {
		form.Error = clink.ErrorMessage(err)
		return show(http.StatusUnauthorized, form)
	}
	if err != nil {
		return err
	}
	id, err := s.store.CreateSession(clink.WithActor(r.Context(), u.Username), u.Username)
	if err != nil {
		return err
	}
	setSessionCookie(w, r, id)
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// logout ends the request's session, if it has one, forgets its cookie and sends the browser
// to /login. A user signed in by API token has no session to end.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		if err := s.store.EndSession(r.Context(), c.Value); err != nil && clink.ErrorCode(err) != clink.EUNAUTHORIZED {
			return err
		}
		clearSessionCookie(w, r)
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}
