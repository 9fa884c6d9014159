package http

import (
	"net/http"

	"github.com/clink-consortium/clink"
)

// accountData is the data of the account page.
type accountData struct {
	Form    form
	Changed bool // the password was just changed
}

// accountPage shows who the user is (name, roles, site) and the form to change the password.
func (s *Server) accountPage(w http.ResponseWriter, r *http.Request) error {
	d := accountData{Form: newForm(), Changed: r.URL.Query().Get("changed") == "1"}
	return s.render(w, r, http.StatusOK, "account", page{Title: "Account", Nav: navAccount, Data: d})
}

// changePassword changes the signed-in user's password: the current password must be right
// (checked with the store's Authenticate, so that wrong guesses count towards the account's
// lock like failed sign-ins), and the new one, typed twice, must pass the password policy
// (SetPassword checks it and audits the change without any password material). A refusal
// shows the form again with the message next to the field; success redirects to
// /account?changed=1. The passwords are never sent back to the browser.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	if err := parsePageForm(w, r); err != nil {
		return err
	}
	u := UserFrom(r.Context())
	f := newForm()
	current, next, again := r.PostForm.Get("current_password"), r.PostForm.Get("new_password"), r.PostForm.Get("confirm_password")
	refuse := func(status int) error {
		return s.render(w, r, status, "account", page{Title: "Account", Nav: navAccount, Data: accountData{Form: f}})
	}
	var fe clink.FieldErrors
	if current == "" {
		fe.Addf("current_password", "is required")
	}
	if next == "" {
		fe.Addf("new_password", "is required")
	} else if next != again {
		fe.Addf("confirm_password", "does not match the new password")
	}
	if err := fe.Err(); err != nil {
		f.refuse(err)
		return refuse(http.StatusUnprocessableEntity)
	}
	if _, err := s.store.Authenticate(r.Context(), u.Username, current); err != nil {
		if clink.ErrorCode(err) != clink.EUNAUTHORIZED {
			return err
		}
		f.Message = "The password was not changed."
		f.Errors["current_password"] = clink.ErrorMessage(err)
		return refuse(http.StatusUnprocessableEntity)
	}
	if err := s.store.SetPassword(r.Context(), u.Username, next); err != nil {
		if !f.refuse(err) {
			return err
		}
		if msg, ok := f.Errors["password"]; ok {
			delete(f.Errors, "password")
			f.Errors["new_password"] = msg
		}
		return refuse(refusedStatus(err))
	}
	// The change ended every session of the user, this one too: keep this browser signed in
	// with a new session.
	id, err := s.store.CreateSession(r.Context(), u.Username)
	if err != nil {
		return err
	}
	setSessionCookie(w, r, id)
	http.Redirect(w, r, "/account?changed=1", http.StatusSeeOther)
	return nil
}
