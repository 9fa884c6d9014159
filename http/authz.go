package http

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/clink-consortium/clink"
)

// Permission names what a route lets its caller do. Every route of the route table carries
// one, and NewServer refuses a table with a route that has none, so that no route can be added
// without deciding who may use it.
//
// The rules live here, in the HTTP adapter, rather than in the domain package: they decide
// which requests of this API a user may make, and the store has no notion of a caller beyond
// the actor its writes are attributed to. When the web pages arrive they will be routes of this
// package too, with the same Permission values and the same rule function, permits.
type Permission string

// The permissions of the API's routes.
const (
	// PermPublic needs no credentials: the health check and the OpenAPI documents.
	PermPublic Permission = "public"
	// PermRead reads research data of every site: any enabled user (research data carries no
	// patient identifier, and sharing it across the consortium is the point).
	PermRead Permission = "read"
	// PermCreateSite creates a site: admins only.
	PermCreateSite Permission = "create-site"
	// PermCreateComponent adds a component to the catalogue: admins, or a researcher for a
	// component of their own site.
	PermCreateComponent Permission = "create-component"
	// PermWriteResearch creates or changes donors, protocols, cultures, observations and
	// assays: a researcher whose site is the record's site.
	PermWriteResearch Permission = "write-research"

	// Clinical manufacturing (issue 8, gmp.md §1.2). Research roles (researcher, viewer) never
	// see manufacturing records, which name patients by their pseudonymous codes.

	// PermReadGMP reads batches, their records, treatment requests, patients (identity only
	// for the clinicians of the patient's hospital) and release specifications: operators,
	// QA, QPs, clinicians and admins.
	PermReadGMP Permission = "read-gmp"
	// PermManufacture creates batches and records their steps, results and deviations: an
	// operator of the batch's site.
	PermManufacture Permission = "manufacture"
	// PermSign signs batch records: QA and QPs (the manufacturing service checks which
	// meaning each may sign and the four-eyes rules).
	PermSign Permission = "sign"
	// PermClinical creates patients and treatment requests: a clinician of the hospital.
	PermClinical Permission = "clinical"
	// PermCustody records chain-of-custody scans: an operator of the batch's site or a
	// clinician of the patient's hospital.
	PermCustody Permission = "custody"
	// PermEditSpec writes a new version of a release specification: admins.
	PermEditSpec Permission = "edit-spec"
)

// valid reports whether p is one of the permissions above.
func (p Permission) valid() bool {
	switch p {
	case PermPublic, PermRead, PermCreateSite, PermCreateComponent, PermWriteResearch,
		PermReadGMP, PermManufacture, PermSign, PermClinical, PermCustody, PermEditSpec:
		return true
	}
	return false
}

// siteScoped reports whether the decision depends on the site of the record written, which
// only the handler knows: it calls (*Server).authorize with that site.
func (p Permission) siteScoped() bool {
	switch p {
	case PermCreateComponent, PermWriteResearch, PermManufacture, PermClinical, PermCustody:
		return true
	}
	return false
}

// permits is the one rule function: whether user u may do p to a record of site. It is called
// twice for a site-scoped permission: by the route guard with the user's own site (could the
// user do this anywhere?), and by the handler with the record's site once it is known.
func permits(u *clink.User, p Permission, site string) bool {
	if p == PermPublic {
		return true
	}
	if u == nil || u.Disabled {
		return false
	}
	switch p {
	case PermRead:
		return true
	case PermCreateSite:
		return u.HasRole(clink.RoleAdmin)
	case PermCreateComponent:
		return u.HasRole(clink.RoleAdmin) || researcherOf(u, site)
	case PermWriteResearch:
		// Admins administer users and sites; viewer, qa, qp and clinician do not write
		// research data (least privilege).
		return researcherOf(u, site)
	case PermReadGMP:
		return u.HasRole(clink.RoleAdmin) || u.HasRole(clink.RoleOperator) || u.HasRole(clink.RoleQA) ||
			u.HasRole(clink.RoleQP) || u.HasRole(clink.RoleClinician)
	case PermManufacture:
		return roleAt(u, clink.RoleOperator, site)
	case PermSign:
		return u.HasRole(clink.RoleQA) || u.HasRole(clink.RoleQP)
	case PermClinical:
		return roleAt(u, clink.RoleClinician, site)
	case PermCustody:
		return roleAt(u, clink.RoleOperator, site) || roleAt(u, clink.RoleClinician, site)
	case PermEditSpec:
		return u.HasRole(clink.RoleAdmin)
	}
	return false
}

// roleAt reports whether u holds role at site.
func roleAt(u *clink.User, role, site string) bool {
	return u.HasRole(role) && u.Site != "" && u.Site == site
}

// researcherOf reports whether u is a researcher of site.
func researcherOf(u *clink.User, site string) bool {
	return u.HasRole(clink.RoleResearcher) && u.Site != "" && u.Site == site
}

// forbidden explains why u may not do p to a record of site.
func forbidden(u *clink.User, p Permission, site string) error {
	who := fmt.Sprintf("user %s (%s", u.Username, strings.Join(u.Roles, ", "))
	if u.Site != "" {
		who += " at " + u.Site
	}
	who += ")"
	var need string
	switch p {
	case PermCreateSite:
		need = "creating a site needs the admin role"
	case PermCreateComponent:
		need = "creating a component needs the admin role, or the researcher role at the component's site"
	case PermWriteResearch:
		need = "writing research data needs the researcher role at the record's site"
	case PermReadGMP:
		need = "manufacturing records are for operators, QA, QPs, clinicians and admins"
	case PermManufacture:
		need = "recording a batch needs the operator role at the batch's site"
	case PermSign:
		need = "signing a batch record needs the qa or qp role"
	case PermClinical:
		need = "patients and treatment requests need the clinician role at the patient's hospital"
	case PermCustody:
		need = "custody scans need the operator role at the batch's site or the clinician role at the patient's hospital"
	case PermEditSpec:
		need = "release specifications are revised by admins"
	default:
		need = "this needs a permission you do not have"
	}
	if site != "" && p.siteScoped() {
		need += " (" + site + ")"
	}
	return clink.Errorf(clink.EFORBIDDEN, "forbidden: %s; %s", need, who)
}

type userKey struct{}
type permKey struct{}

// UserFrom returns the authenticated user of a request's context, or nil on public routes.
func UserFrom(ctx context.Context) *clink.User {
	u, _ := ctx.Value(userKey{}).(*clink.User)
	return u
}

// guard wraps the handler of rt with authentication and the route-level permission check.
// Public routes are served as they are. On the others the user is authenticated (401
// otherwise), put in the context, named as the actor of the request's writes, and checked
// against the route's permission at the user's own site (403 otherwise); site-scoped
// handlers then check the record's site with authorize.
func (s *Server) guard(rt Route) handlerFunc {
	if rt.Perm == PermPublic {
		return rt.Handle
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		u, err := s.authenticate(r)
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

// authorize checks that the request's user may apply its route's permission to a record of
// site. Handlers of site-scoped routes call it once they know the record's site: the body's
// site for a new record, the stored record's (or its culture's) for everything else. A site
// that is not a site code is invalid input (422), so that an empty site is named as such
// rather than refused as forbidden.
func (s *Server) authorize(r *http.Request, site string) error {
	u := UserFrom(r.Context())
	p, _ := r.Context().Value(permKey{}).(Permission)
	if u == nil || !p.valid() {
		// A handler called outside its guard: refuse rather than guess.
		return clink.Errorf(clink.EINTERNAL, "authorize: no authenticated user or permission in the request")
	}
	if !siteParamRE.MatchString(site) {
		return clink.Invalid("site", "%q is not a site code (three capital letters, e.g. ZGZ)", site)
	}
	if !permits(u, p, site) {
		return forbidden(u, p, site)
	}
	return nil
}
