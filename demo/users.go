package demo

import (
	"crypto/rand"
	"strings"

	"github.com/clink-consortium/clink"
)

// Users returns the demo users, in the order Populate creates them: admin, a researcher per
// site (researcher-zgz ...), viewer, qa, qp, and a clinician per hospital (clinician-mpl,
// clinician-nim), and the GMP operator of Montpellier (operator-mpl). Users without a site hold consortium-wide roles only.
func Users() []*clink.User {
	mk := func(name, full, site string, role string) *clink.User {
		return &clink.User{Username: name, FullName: full, Email: name + "@demo.clink.example", Site: site, Roles: []string{role}}
	}
	out := []*clink.User{mk("admin", "Demo administrator", "", clink.RoleAdmin)}
	for _, st := range sites {
		out = append(out, mk("researcher-"+strings.ToLower(st.Code), "Demo researcher, "+st.Code, st.Code, clink.RoleResearcher))
	}
	out = append(out,
		mk("viewer", "Demo viewer", "", clink.RoleViewer),
		mk("qa", "Demo quality assurance", "", clink.RoleQA),
		mk("qp", "Demo Qualified Person", "", clink.RoleQP))
	// The hospitals that treat patients in the pilot studies; MAD, a hospital too, takes part
	// through its immunogenetics laboratory.
	for _, code := range []string{"MPL", "NIM"} {
		out = append(out, mk("clinician-"+strings.ToLower(code), "Demo clinician, "+code, code, clink.RoleClinician))
	}
	// The GMP unit of Montpellier manufactures the pilot studies' batches.
	out = append(out, mk("operator-mpl", "Demo GMP operator, MPL", "MPL", clink.RoleOperator))
	return out
}

// passwordAlphabet leaves out characters that are easily confused (0 O o 1 l I).
const passwordAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// GeneratePassword returns a random password of 16 characters (from crypto/rand, about 93
// bits) that the password policy accepts for every demo user.
func GeneratePassword() string {
	for {
		b := make([]byte, 16)
		for i := range b {
			b[i] = passwordAlphabet[randIndex(len(passwordAlphabet))]
		}
		p := string(b)
		ok := true
		for _, u := range Users() {
			ok = ok && clink.CheckPassword(u.Username, p) == nil
		}
		if ok {
			return p
		}
	}
}

// randIndex returns a uniform random number in [0, n) for n <= 256, by rejection.
func randIndex(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}
