package clink

import "regexp"

// Site kinds.
const (
	SiteLab       = "lab"
	SiteHospital  = "hospital"
	SiteChemistry = "chemistry"
)

var siteCodeRE = regexp.MustCompile(`^[A-Z]{3}$`)

// Site is one group of the consortium. Every record belongs to a site; the site code
// (ZGZ, BCN, MAD, MPL, NIM, TLS) is how records name it.
type Site struct {
	ID   int64  `json:"id"`
	Code string `json:"code"`
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Site repeats Code so that every record's JSON carries its site.
	Site string `json:"site"`
	Meta
}

// Validate checks the site's own fields.
func (s *Site) Validate() error {
	var fe FieldErrors
	if !siteCodeRE.MatchString(s.Code) {
		fe.Addf("code", "%q is not a site code (three capital letters, e.g. ZGZ)", s.Code)
	}
	if s.Name == "" {
		fe.Addf("name", "is required")
	} else if len(s.Name) > 200 {
		fe.Addf("name", "is longer than 200 characters")
	}
	if !oneOf(s.Kind, SiteLab, SiteHospital, SiteChemistry) {
		fe.Addf("kind", "%q is not one of lab, hospital, chemistry", s.Kind)
	}
	return fe.Err()
}

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}
