package http

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"net/http"
	"strings"

	"github.com/clink-consortium/clink"
)

//go:embed templates/*.html
var templateFS embed.FS

// templates are the server-rendered pages, parsed once at start-up: a broken template stops
// the program before it serves anything.
var templates = template.Must(template.New("").Funcs(template.FuncMap{"join": strings.Join}).
	ParseFS(templateFS, "templates/*.html"))

// maxLoginForm bounds the body of a sign-in form.
const maxLoginForm = 16 << 10

// pageCSP is the Content-Security-Policy of the web pages: nothing but this origin's own
// resources, no inline script, forms posted only here, and no framing (clickjacking).
const pageCSP = "default-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// UIRoutes returns the route table of the web pages. Their permissions follow the rules of
// the API's; a page that needs a signed-in user redirects a visitor who is not to /login.
func (s *Server) UIRoutes() []Route { return append([]Route(nil), s.uiRoutes...) }

func (s *Server) uiRouteTable() []Route {
	return []Route{
		{"GET", "/login", "loginPage", PermPublic, s.loginPage},
		{"POST", "/login", "login", PermPublic, s.login},
		{"GET", "/{$}", "home", PermRead, s.home},
		{"POST", "/logout", "logout", PermRead, s.logout},
	}
}

// guardPage is guard for web pages: a visitor who is not signed in is sent to /login (303)
// instead of answered 401.
func (s *Server) guardPage(rt Route) handlerFunc {
	if rt.Perm == PermPublic {
		return rt.Handle
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
			return err
		}
		ctx := context.WithValue(r.Context(), userKey{}, u)
		ctx = context.WithValue(ctx, permKey{}, rt.Perm)
		ctx = clink.WithActor(ctx, u.Username)
		if !permits(u, rt.Perm, u.Site) {
			return forbidden(u, rt.Perm, "")
		}
		return rt.Handle(w, r.WithContext(ctx))
	}
}

// render writes the page template name with data and status.
func (s *Server) render(w http.ResponseWriter, status int, name string, data any) error {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, data); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	return nil
}

// loginForm is the data of the sign-in page.
type loginForm struct {
	Username string
	Error    string
}

// loginPage serves the sign-in form.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, http.StatusOK, "login", loginForm{})
}

// login checks the form's username and password with the store. On success it opens a new
// session, whatever session cookie the request carried (no session fixation), sets its
// cookie and sends the browser to /. On failure it shows the form again with the store's
// message (bad credentials, throttled or locked) and the typed username, with status 401.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginForm)
	if err := r.ParseForm(); err != nil {
		return s.render(w, http.StatusBadRequest, "login", loginForm{Error: "The sign-in form could not be read; please try again."})
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	password := r.PostForm.Get("password")
	form := loginForm{Username: username}
	if username == "" || password == "" {
		form.Error = "Enter your username and password."
		return s.render(w, http.StatusUnauthorized, "login", form)
	}
	u, err := s.store.Authenticate(r.Context(), username, password)
	if clink.ErrorCode(err) == clink.EUNAUTHORIZED {
		form.Error = clink.ErrorMessage(err)
		return s.render(w, http.StatusUnauthorized, "login", form)
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

// home is the signed-in start page: who the user is, and a sign-out button.
func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, http.StatusOK, "home", struct{ User *clink.User }{UserFrom(r.Context())})
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
