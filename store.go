package clink

import (
	"context"
	"encoding/json"
	"time"
)

// DonorFilter selects donors. Empty fields do not filter.
type DonorFilter struct {
	Site  string
	HCMV  string
	NKG2C string
	KIR   string // kir_haplotype
	Page
}

// ProtocolFilter selects protocol versions. Empty fields do not filter.
type ProtocolFilter struct {
	Site string
	Name string
	Page
}

// CultureFilter selects cultures. Zero fields do not filter.
type CultureFilter struct {
	Site       string
	DonorID    int64
	ProtocolID int64
	Status     string
	Page
}

// ObservationFilter selects a culture's observations; voided ones are left out unless asked for.
type ObservationFilter struct {
	CultureID int64
	// ProtocolID selects the observations of the cultures of one protocol version.
	ProtocolID    int64
	IncludeVoided bool
	Page
}

// AssayFilter selects cytotoxicity assays. Zero fields do not filter.
type AssayFilter struct {
	Site      string
	CultureID int64
	// ProtocolID selects the assays of the cultures of one protocol version.
	ProtocolID int64
	Page
}

// AuditFilter selects audit events. Zero fields do not filter.
type AuditFilter struct {
	Entity   string
	EntityID int64
	Actor    string    // who made the write
	From     time.Time // events at or after From
	To       time.Time // events before To
	Page
}

// AuditEvent records one write: who, when, what and why, with the record before and after.
// The store writes it in the same transaction as the change it describes.
type AuditEvent struct {
	ID int64 `json:"id"`
	// Seq is the event's place in the hash chain (1, 2, 3 ...); PrevHash is the hash of the
	// event before it (AuditGenesis for the first) and Hash its own (see ComputeHash).
	Seq      int64           `json:"seq"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
	Time     time.Time       `json:"time"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"` // create, update, void, status, revoke (tokens), login_failed, lock, unlock
	Entity   string          `json:"entity"` // site, donor, component, protocol, culture, observation, assay, user, token
	EntityID int64           `json:"entity_id"`
	Site     string          `json:"site"`
	Reason   string          `json:"reason"`
	Before   json.RawMessage `json:"before"`
	After    json.RawMessage `json:"after"`
	// UserID is the id of the user named by Actor, or 0 when the actor is a process (demo,
	// import, cli) without a user account.
	UserID int64 `json:"user_id"`
	// Changes lists every field that differs between Before and After (see AuditChanges).
	Changes []FieldChange `json:"changes"`
}

// FieldChange is the old and new value of one top-level field of an audited record, as JSON
// (null when the field is absent or null on that side).
type FieldChange struct {
	Field string          `json:"field"`
	Old   json.RawMessage `json:"old"`
	New   json.RawMessage `json:"new"`
}

// CultureStatusChange moves a culture to a new status; stopping needs a reason.
type CultureStatusChange struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// Store keeps CLINK's records. Every method that writes runs in one transaction, validates its
// input first (so bad input changes nothing), fills Meta from the context's actor and the
// store's clock, and writes an AuditEvent. Lists answer the page of items and the total count
// that matches the filter.
//
// Errors carry a kind (see ErrorCode): EINVALID with field errors for bad values, ENOTFOUND
// for missing records, ECONFLICT for writes that clash with existing data.
type Store interface {
	CreateSite(ctx context.Context, s *Site) error
	FindSiteByCode(ctx context.Context, code string) (*Site, error)
	ListSites(ctx context.Context) ([]*Site, error)

	// CreateDonor generates the donor's code when it is empty.
	CreateDonor(ctx context.Context, d *Donor) error
	FindDonorByID(ctx context.Context, id int64) (*Donor, error)
	FindDonorByCode(ctx context.Context, code string) (*Donor, error)
	FindDonors(ctx context.Context, f DonorFilter) ([]*Donor, int, error)
	// UpdateDonor corrects a donor's fields (not its code or site); reason is required.
	UpdateDonor(ctx context.Context, d *Donor, reason string) error

	CreateComponent(ctx context.Context, c *Component) error
	FindComponentByID(ctx context.Context, id int64) (*Component, error)
	FindComponents(ctx context.Context, category string) ([]*Component, error)

	// CreateProtocol creates a protocol: version 1 of a new name, or, with Version 0 and an
	// existing name, the next version of it.
	CreateProtocol(ctx context.Context, p *Protocol) error
	FindProtocolByID(ctx context.Context, id int64) (*Protocol, error)
	FindProtocolByKey(ctx context.Context, name string, version int) (*Protocol, error)
	FindProtocols(ctx context.Context, f ProtocolFilter) ([]*Protocol, int, error)
	// UpdateProtocol changes a protocol version in place; it fails with ECONFLICT when any
	// culture uses the version.
	UpdateProtocol(ctx context.Context, p *Protocol, reason string) error

	// CreateCulture checks that the donor belongs to the culture's site and that the protocol
	// exists, and generates the culture's code when it is empty.
	CreateCulture(ctx context.Context, c *Culture) error
	FindCultureByID(ctx context.Context, id int64) (*Culture, error)
	FindCultureByCode(ctx context.Context, code string) (*Culture, error)
	FindCultures(ctx context.Context, f CultureFilter) ([]*Culture, int, error)
	SetCultureStatus(ctx context.Context, id int64, ch CultureStatusChange) (*Culture, error)

	// CreateObservation refuses a second observation on the same day of a culture (ECONFLICT).
	CreateObservation(ctx context.Context, o *Observation) error
	FindObservationByID(ctx context.Context, id int64) (*Observation, error)
	FindObservations(ctx context.Context, f ObservationFilter) ([]*Observation, int, error)
	// UpdateObservation corrects a recorded observation; reason is required.
	UpdateObservation(ctx context.Context, o *Observation, reason string) error
	// VoidObservation marks an observation void with a reason; nothing is deleted.
	VoidObservation(ctx context.Context, id int64, reason string) (*Observation, error)

	CreateAssay(ctx context.Context, a *Assay) error
	FindAssayByID(ctx context.Context, id int64) (*Assay, error)
	FindAssays(ctx context.Context, f AssayFilter) ([]*Assay, int, error)

	FindAuditEvents(ctx context.Context, f AuditFilter) ([]*AuditEvent, int, error)
	// VerifyAudit checks the whole audit chain; a broken chain is an *AuditBreak error.
	VerifyAudit(ctx context.Context) (AuditChain, error)

	// Atomic runs fn with a Store whose reads and writes all belong to one transaction: it is
	// committed when fn returns nil and rolled back otherwise, so that an import is all or
	// nothing. Calls on the inner Store never start a transaction of their own.
	Atomic(ctx context.Context, fn func(s Store) error) error

	// Ping reports whether the database answers.
	Ping(ctx context.Context) error

	UserStore
	FlowStore
	DesignSpaceStore
	ManufacturingStore
}

// FlowStore keeps gating templates, FCS files and their attachments to observations.
type FlowStore interface {
	// CreateGatingTemplate creates version 1 of a new template name or, with Version 0 and an
	// existing name, the next version of it. It validates the template's own fields; the
	// Gating-ML document is checked by flow.Service, which callers go through.
	CreateGatingTemplate(ctx context.Context, t *GatingTemplate) error
	FindGatingTemplateByID(ctx context.Context, id int64) (*GatingTemplate, error)
	// FindGatingTemplateByRef returns the version ref names, or for a bare name its latest
	// version that is not void.
	FindGatingTemplateByRef(ctx context.Context, ref TemplateRef) (*GatingTemplate, error)
	FindGatingTemplates(ctx context.Context, f GatingTemplateFilter) ([]*GatingTemplate, int, error)
	// UpdateGatingTemplate changes a template version in place; reason is required. It fails
	// with ECONFLICT when an FCS attachment used the version or it is void.
	UpdateGatingTemplate(ctx context.Context, t *GatingTemplate, reason string) error
	// VoidGatingTemplate marks a template version void with a reason: it gates no more files,
	// and the attachments that used it keep naming it.
	VoidGatingTemplate(ctx context.Context, id int64, reason string) (*GatingTemplate, error)

	// AttachFCS writes uploads that flow.Service.Attach has gated (FCSUpload.Gating), all or
	// none, in one write transaction: it stores each file once (by its SHA-256), fills the
	// observation's nk_pct, t_pct and markers from the measures as an audited correction, and
	// records an FCSAttachment with the provenance. A template changed or voided since it gated
	// the file, a measure that would replace a value from another source without Replace, or a
	// file already attached the same way, is ECONFLICT.
	AttachFCS(ctx context.Context, uploads []*FCSUpload) ([]*FCSAttachment, error)
	FindFCSAttachments(ctx context.Context, f FCSAttachmentFilter) ([]*FCSAttachment, int, error)
	// FindFCSFile returns a stored FCS file and its bytes, checked against its SHA-256 (a
	// mismatch is EINTERNAL: the stored copy was damaged).
	FindFCSFile(ctx context.Context, sha256 string) (*FCSFile, []byte, error)
}
