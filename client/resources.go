package client

import (
	"context"
	"net/url"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/cytotox"
	"github.com/clink-consortium/clink/design"
	"github.com/clink-consortium/clink/kinetics"
	"github.com/clink-consortium/clink/optimizer"
)

// Health is the answer of the health check.
type Health struct {
	Status  string `json:"status"`
	Version string `json:"version"`
}

// Health reports whether the server and its database answer. A server whose database does
// not answer gives an *Error with status 503.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var h Health
	_, err := c.do(ctx, "GET", "/healthz", nil, nil, &h)
	if err != nil {
		return nil, err
	}
	return &h, nil
}

// OpenAPI returns the server's OpenAPI document in YAML.
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) {
	var b []byte
	_, err := c.do(ctx, "GET", "/openapi.yaml", nil, nil, &b)
	return b, err
}

// get decodes the record at path into a new T.
func get[T any](ctx context.Context, c *Client, path string, q url.Values) (*T, error) {
	var v T
	if _, err := c.do(ctx, "GET", path, q, nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// send sends body to path with method and decodes the answer into a new T.
func send[T any](ctx context.Context, c *Client, method, path string, body any) (*T, error) {
	var v T
	if _, err := c.do(ctx, method, path, nil, body, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Sites.

// ListSites returns every site.
func (c *Client) ListSites(ctx context.Context) (*List[*clink.Site], error) {
	return get[List[*clink.Site]](ctx, c, "/sites", nil)
}

// CreateSite creates a site and returns it as stored.
func (c *Client) CreateSite(ctx context.Context, s *clink.Site) (*clink.Site, error) {
	return send[clink.Site](ctx, c, "POST", "/sites", s)
}

// GetSite returns the site with the given code.
func (c *Client) GetSite(ctx context.Context, code string) (*clink.Site, error) {
	return get[clink.Site](ctx, c, refPath("/sites", code), nil)
}

// Donors.

// DonorQuery filters and pages a list of donors; empty fields do not filter.
type DonorQuery struct {
	Site, HCMV, NKG2C, KIR string
	Limit, Offset          int
}

// ListDonors returns a page of donors.
func (c *Client) ListDonors(ctx context.Context, q DonorQuery) (*List[*clink.Donor], error) {
	v := url.Values{}
	setIf(v, "site", q.Site)
	setIf(v, "hcmv", q.HCMV)
	setIf(v, "nkg2c", q.NKG2C)
	setIf(v, "kir", q.KIR)
	return get[List[*clink.Donor]](ctx, c, "/donors", pageValues(v, q.Limit, q.Offset))
}

// CreateDonor registers a donor and returns it as stored, with its generated code.
func (c *Client) CreateDonor(ctx context.Context, d *clink.Donor) (*clink.Donor, error) {
	return send[clink.Donor](ctx, c, "POST", "/donors", d)
}

// GetDonor returns the donor with the given id.
func (c *Client) GetDonor(ctx context.Context, id int64) (*clink.Donor, error) {
	return get[clink.Donor](ctx, c, idPath("/donors", id), nil)
}

// GetDonorByCode returns the donor with the given code.
func (c *Client) GetDonorByCode(ctx context.Context, code string) (*clink.Donor, error) {
	return get[clink.Donor](ctx, c, refPath("/donors", code), nil)
}

// UpdateDonor corrects the donor d.ID with the fields of d, giving the reason.
func (c *Client) UpdateDonor(ctx context.Context, d *clink.Donor, reason string) (*clink.Donor, error) {
	body := struct {
		*clink.Donor
		Reason string `json:"reason"`
	}{d, reason}
	return send[clink.Donor](ctx, c, "PUT", idPath("/donors", d.ID), body)
}

// Components.

// ListComponents returns the catalogue, or the components of one category when category is
// not empty.
func (c *Client) ListComponents(ctx context.Context, category string) (*List[*clink.Component], error) {
	v := url.Values{}
	setIf(v, "category", category)
	return get[List[*clink.Component]](ctx, c, "/components", v)
}

// CreateComponent adds a component to the catalogue.
func (c *Client) CreateComponent(ctx context.Context, comp *clink.Component) (*clink.Component, error) {
	return send[clink.Component](ctx, c, "POST", "/components", comp)
}

// GetComponent returns the component with the given id.
func (c *Client) GetComponent(ctx context.Context, id int64) (*clink.Component, error) {
	return get[clink.Component](ctx, c, idPath("/components", id), nil)
}

// Protocols.

// ProtocolQuery filters and pages a list of protocol versions; empty fields do not filter.
type ProtocolQuery struct {
	Site, Name    string
	Limit, Offset int
}

// ListProtocols returns a page of protocol versions.
func (c *Client) ListProtocols(ctx context.Context, q ProtocolQuery) (*List[*clink.Protocol], error) {
	v := url.Values{}
	setIf(v, "site", q.Site)
	setIf(v, "name", q.Name)
	return get[List[*clink.Protocol]](ctx, c, "/protocols", pageValues(v, q.Limit, q.Offset))
}

// CreateProtocol creates a protocol version: version 1 of a new name, or with Version 0 the
// next version of an existing name.
func (c *Client) CreateProtocol(ctx context.Context, p *clink.Protocol) (*clink.Protocol, error) {
	return send[clink.Protocol](ctx, c, "POST", "/protocols", p)
}

// GetProtocol returns the protocol version with the given id.
func (c *Client) GetProtocol(ctx context.Context, id int64) (*clink.Protocol, error) {
	return get[clink.Protocol](ctx, c, idPath("/protocols", id), nil)
}

// UpdateProtocol edits the protocol version p.ID, which no culture may use, giving the reason.
func (c *Client) UpdateProtocol(ctx context.Context, p *clink.Protocol, reason string) (*clink.Protocol, error) {
	body := struct {
		*clink.Protocol
		Reason string `json:"reason"`
	}{p, reason}
	return send[clink.Protocol](ctx, c, "PUT", idPath("/protocols", p.ID), body)
}

// CreateProtocolVersion creates the next version of protocol id with the fields of p (whose
// name and version are left empty).
func (c *Client) CreateProtocolVersion(ctx context.Context, id int64, p *clink.Protocol) (*clink.Protocol, error) {
	return send[clink.Protocol](ctx, c, "POST", idPath("/protocols", id)+"/versions", p)
}

// DiffProtocols returns what changed from protocol version from to version to.
func (c *Client) DiffProtocols(ctx context.Context, from, to int64) (*clink.ProtocolDiff, error) {
	v := url.Values{}
	setID(v, "to", to)
	return get[clink.ProtocolDiff](ctx, c, idPath("/protocols", from)+"/diff", v)
}

// Cultures.

// CultureQuery filters and pages a list of cultures; zero fields do not filter. Donor is a
// donor's id or code.
type CultureQuery struct {
	Site       string
	ProtocolID int64
	Donor      string
	Status     string
	Limit      int
	Offset     int
}

// ListCultures returns a page of cultures.
func (c *Client) ListCultures(ctx context.Context, q CultureQuery) (*List[*clink.Culture], error) {
	v := url.Values{}
	setIf(v, "site", q.Site)
	setID(v, "protocol", q.ProtocolID)
	setIf(v, "donor", q.Donor)
	setIf(v, "status", q.Status)
	return get[List[*clink.Culture]](ctx, c, "/cultures", pageValues(v, q.Limit, q.Offset))
}

// CreateCulture starts a culture; the donor is named by Donor (code) or DonorID, the protocol
// by ProtocolID or ProtocolName and ProtocolVersion.
func (c *Client) CreateCulture(ctx context.Context, cu *clink.Culture) (*clink.Culture, error) {
	return send[clink.Culture](ctx, c, "POST", "/cultures", cu)
}

// GetCulture returns the culture with the given id.
func (c *Client) GetCulture(ctx context.Context, id int64) (*clink.Culture, error) {
	return get[clink.Culture](ctx, c, idPath("/cultures", id), nil)
}

// GetCultureByCode returns the culture with the given code.
func (c *Client) GetCultureByCode(ctx context.Context, code string) (*clink.Culture, error) {
	return get[clink.Culture](ctx, c, refPath("/cultures", code), nil)
}

// SetCultureStatus completes or stops culture id.
func (c *Client) SetCultureStatus(ctx context.Context, id int64, ch clink.CultureStatusChange) (*clink.Culture, error) {
	return send[clink.Culture](ctx, c, "POST", idPath("/cultures", id)+"/status", ch)
}

// CultureMetrics is the expansion kinetics of a culture.
type CultureMetrics struct {
	CultureID int64            `json:"culture_id"`
	Culture   string           `json:"culture"`
	Site      string           `json:"site"`
	Metrics   kinetics.Metrics `json:"metrics"`
}

// CultureMetrics returns the expansion kinetics of culture id from its non-voided observations.
func (c *Client) CultureMetrics(ctx context.Context, id int64) (*CultureMetrics, error) {
	return get[CultureMetrics](ctx, c, idPath("/cultures", id)+"/metrics", nil)
}

// Observations.

// ObservationQuery pages a culture's observations; voided ones are left out unless asked for.
type ObservationQuery struct {
	IncludeVoided bool
	Limit, Offset int
}

// ListObservations returns a page of the observations of culture id.
func (c *Client) ListObservations(ctx context.Context, cultureID int64, q ObservationQuery) (*List[*clink.Observation], error) {
	v := url.Values{}
	if q.IncludeVoided {
		v.Set("include_voided", "true")
	}
	return get[List[*clink.Observation]](ctx, c, idPath("/cultures", cultureID)+"/observations", pageValues(v, q.Limit, q.Offset))
}

// CreateObservation records an observation of culture cultureID.
func (c *Client) CreateObservation(ctx context.Context, cultureID int64, o *clink.Observation) (*clink.Observation, error) {
	return send[clink.Observation](ctx, c, "POST", idPath("/cultures", cultureID)+"/observations", o)
}

// GetObservation returns the observation with the given id.
func (c *Client) GetObservation(ctx context.Context, id int64) (*clink.Observation, error) {
	return get[clink.Observation](ctx, c, idPath("/observations", id), nil)
}

// UpdateObservation corrects observation o.ID with the fields of o, giving the reason.
func (c *Client) UpdateObservation(ctx context.Context, o *clink.Observation, reason string) (*clink.Observation, error) {
	body := struct {
		*clink.Observation
		Reason string `json:"reason"`
	}{o, reason}
	return send[clink.Observation](ctx, c, "PUT", idPath("/observations", o.ID), body)
}

// VoidObservation voids observation id with a reason.
func (c *Client) VoidObservation(ctx context.Context, id int64, reason string) (*clink.Observation, error) {
	body := struct {
		Reason string `json:"reason"`
	}{reason}
	return send[clink.Observation](ctx, c, "POST", idPath("/observations", id)+"/void", body)
}

// Assays.

// Assay is a cytotoxicity assay as the server shows it: the raw readings and the specific
// lysis computed from them (nil, with LysisError, when it cannot be computed).
type Assay struct {
	clink.Assay
	Lysis      *cytotox.Result `json:"lysis"`
	LysisError string          `json:"lysis_error,omitempty"`
}

// AssayQuery filters and pages a list of assays. Culture is a culture's id or code.
type AssayQuery struct {
	Site, Culture string
	Limit, Offset int
}

// ListAssays returns a page of assays.
func (c *Client) ListAssays(ctx context.Context, q AssayQuery) (*List[*Assay], error) {
	v := url.Values{}
	setIf(v, "site", q.Site)
	setIf(v, "culture", q.Culture)
	return get[List[*Assay]](ctx, c, "/assays", pageValues(v, q.Limit, q.Offset))
}

// ListCultureAssays returns a page of the assays of culture id.
func (c *Client) ListCultureAssays(ctx context.Context, cultureID int64, limit, offset int) (*List[*Assay], error) {
	return get[List[*Assay]](ctx, c, idPath("/cultures", cultureID)+"/assays", pageValues(url.Values{}, limit, offset))
}

// CreateAssay records an assay of culture cultureID.
func (c *Client) CreateAssay(ctx context.Context, cultureID int64, a *clink.Assay) (*Assay, error) {
	return send[Assay](ctx, c, "POST", idPath("/cultures", cultureID)+"/assays", a)
}

// GetAssay returns the assay with the given id.
func (c *Client) GetAssay(ctx context.Context, id int64) (*Assay, error) {
	return get[Assay](ctx, c, idPath("/assays", id), nil)
}

// Design spaces.

// DesignSpaceQuery filters and pages a list of design space versions; empty fields do not
// filter, and void versions are left out unless IncludeVoided.
type DesignSpaceQuery struct {
	Name, Site    string
	IncludeVoided bool
	Limit, Offset int
}

// ListDesignSpaces returns a page of design space versions, by name and version.
func (c *Client) ListDesignSpaces(ctx context.Context, q DesignSpaceQuery) (*List[*clink.DesignSpace], error) {
	v := url.Values{}
	setIf(v, "name", q.Name)
	setIf(v, "site", q.Site)
	if q.IncludeVoided {
		v.Set("include_voided", "true")
	}
	return get[List[*clink.DesignSpace]](ctx, c, "/design-spaces", pageValues(v, q.Limit, q.Offset))
}

// CreateDesignSpace saves a design space: version 1 of a new name or, with Version 0 and a
// known name, its next version. It returns the version as stored.
func (c *Client) CreateDesignSpace(ctx context.Context, d *clink.DesignSpace) (*clink.DesignSpace, error) {
	return send[clink.DesignSpace](ctx, c, "POST", "/design-spaces", d)
}

// GetDesignSpace returns the design space version with the given id.
func (c *Client) GetDesignSpace(ctx context.Context, id int64) (*clink.DesignSpace, error) {
	return get[clink.DesignSpace](ctx, c, idPath("/design-spaces", id), nil)
}

// GetDesignSpaceByRef returns the design space version ref names: NAME (its latest version
// that is not void) or NAME@VERSION (that version, void or not).
func (c *Client) GetDesignSpaceByRef(ctx context.Context, ref string) (*clink.DesignSpace, error) {
	return get[clink.DesignSpace](ctx, c, refPath("/design-spaces", ref), nil)
}

// VoidDesignSpace voids the design space version id with a reason.
func (c *Client) VoidDesignSpace(ctx context.Context, id int64, reason string) (*clink.DesignSpace, error) {
	body := struct {
		Reason string `json:"reason"`
	}{reason}
	return send[clink.DesignSpace](ctx, c, "POST", idPath("/design-spaces", id)+"/void", body)
}

// Optimizer.

// SuggestionRequest asks the optimizer for the next batch of conditions in a stored design
// space. Objectives are one or two of nk_fold, lu30, purity and viability (maximised);
// constraints read "purity>=70"; Donors (0 means 1) is how many donors the batch splits across.
type SuggestionRequest struct {
	Space       string   `json:"space"` // NAME or NAME@VERSION
	Objectives  []string `json:"objectives"`
	Constraints []string `json:"constraints,omitempty"`
	Batch       int      `json:"batch"`
	Donors      int      `json:"donors,omitempty"`
	Seed        uint64   `json:"seed"`
	// Dependence asks for the partial dependence of the first objective on every factor.
	Dependence bool `json:"dependence,omitempty"`
}

// SuggestionPlan is the optimizer's answer: the plan, the design space version it was made
// in (NAME@VERSION) and, per donor, the numbers (1-based) of the suggestions its cells go to.
type SuggestionPlan struct {
	optimizer.Plan
	SpaceRef  string  `json:"space_ref"`
	DonorPlan [][]int `json:"donor_plan"`
}

// Suggest asks for the next batch of conditions, learnt from the cultures whose protocol
// versions lie in the design space. Nothing is stored.
func (c *Client) Suggest(ctx context.Context, req SuggestionRequest) (*SuggestionPlan, error) {
	return send[SuggestionPlan](ctx, c, "POST", "/optimizer/suggestions", req)
}

// DraftRequest turns a condition of a design space (a suggestion's point, in natural units)
// into the next version of protocol version Protocol. Note starts the draft's description.
type DraftRequest struct {
	Space    string       `json:"space"`
	Point    design.Point `json:"point"`
	Protocol int64        `json:"protocol"`
	Note     string       `json:"note,omitempty"`
}

// CreateDraft creates the draft protocol version of req, as a researcher of the base
// protocol's site, and returns it as stored.
func (c *Client) CreateDraft(ctx context.Context, req DraftRequest) (*clink.Protocol, error) {
	return send[clink.Protocol](ctx, c, "POST", "/optimizer/drafts", req)
}

// Audit.

// AuditQuery filters and pages the audit trail; zero fields do not filter.
type AuditQuery struct {
	Entity        string
	EntityID      int64
	User          string    // who made the writes
	From, To      time.Time // events at or after From and before To
	Limit, Offset int
}

// ListAuditEvents returns a page of the audit trail.
func (c *Client) ListAuditEvents(ctx context.Context, q AuditQuery) (*List[*clink.AuditEvent], error) {
	v := url.Values{}
	setIf(v, "entity", q.Entity)
	setID(v, "entity_id", q.EntityID)
	setIf(v, "user", q.User)
	if !q.From.IsZero() {
		v.Set("from", q.From.UTC().Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.UTC().Format(time.RFC3339Nano))
	}
	return get[List[*clink.AuditEvent]](ctx, c, "/audit", pageValues(v, q.Limit, q.Offset))
}

// History returns every audit event of one record, oldest first: its creation, corrections,
// status changes and void, each with the user, the reason and the changed fields. It reads the
// audit trail page by page.
func (c *Client) History(ctx context.Context, entity string, id int64) ([]*clink.AuditEvent, error) {
	var out []*clink.AuditEvent
	for {
		page, err := c.ListAuditEvents(ctx, AuditQuery{Entity: entity, EntityID: id, Limit: clink.MaxLimit, Offset: len(out)})
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if len(page.Items) == 0 || len(out) >= page.Total {
			return out, nil
		}
	}
}
