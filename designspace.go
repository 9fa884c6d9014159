package clink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of a design space's fields.
const (
	// MaxDesignSpaceBytes bounds the JSON definition of a design space (64 KiB: the default
	// space of eight factors and a constraint is under 1 KiB).
	MaxDesignSpaceBytes = 64 << 10
	// maxDesignSpaceName and maxDesignSpaceDescription bound a design space's name and
	// description, in characters.
	maxDesignSpaceName        = 100
	maxDesignSpaceDescription = 2000
)

// DesignSpace is one version of a saved search space of the optimizer (issue 7: "a design space
// built from protocol components ... saved, versioned, shareable"): the factors a series of
// experiments varies, with their ranges and constraints, as the JSON form of design.Space.
//
// Versions are numbered per name, as gating templates are, and a version never changes: a
// change is a new version, and a version that should no longer be used is voided with a
// reason, never deleted. Every user reads every site's spaces; a name belongs to the site that
// created it.
type DesignSpace struct {
	ID int64 `json:"id"`
	// Site is the site of the researcher who created the space's name.
	Site    string `json:"site"`
	Name    string `json:"name"`
	Version int    `json:"version"`
	// Description says what the space is for, in prose.
	Description string `json:"description"`
	// Definition is the design.Space JSON, kept as it was given. That it is a valid space is
	// checked with design.ParseSpace by the callers that create spaces (the HTTP API); the
	// domain package and the store check only that it is a JSON object of bounded size.
	Definition json.RawMessage `json:"definition"`
	Voided     bool            `json:"voided"`
	VoidReason string          `json:"void_reason,omitempty"`
	Meta
}

// Ref is how people name a design space version: "NAME@VERSION".
func (d *DesignSpace) Ref() string { return fmt.Sprintf("%s@%d", d.Name, d.Version) }

// Validate checks the design space's own fields: a site code; a name of 1 to 100 printable
// characters without spaces around it, without "@" (which separates a name from its version)
// or "/" (a name is a segment of a URL path, and many routers and proxies split an escaped
// slash), and not a whole number (which an API path would read as an id); a version that is not
// negative (0 asks the store for the next one); a description of at most 2000 characters; and
// a definition that is a JSON object of at most MaxDesignSpaceBytes. Whether the definition is
// a valid design.Space is for design.ParseSpace to say.
func (d *DesignSpace) Validate() error {
	var fe FieldErrors
	if !siteCodeRE.MatchString(d.Site) {
		fe.Addf("site", "%q is not a site code", d.Site)
	}
	if msg := checkDesignSpaceName(d.Name); msg != "" {
		fe.Addf("name", "%s", msg)
	}
	if d.Version < 0 {
		fe.Addf("version", "%d is negative", d.Version)
	}
	switch {
	case !utf8.ValidString(d.Description):
		fe.Addf("description", "is not valid UTF-8")
	case strings.ContainsRune(d.Description, 0):
		fe.Addf("description", "contains a NUL character")
	case utf8.RuneCountInString(d.Description) > maxDesignSpaceDescription:
		fe.Addf("description", "is longer than %d characters", maxDesignSpaceDescription)
	}
	def := bytes.TrimSpace(d.Definition)
	switch {
	case len(def) == 0:
		fe.Addf("definition", "is required: the design space as a JSON object (factors and constraints)")
	case len(d.Definition) > MaxDesignSpaceBytes:
		fe.Addf("definition", "is %d bytes, more than the %d allowed", len(d.Definition), MaxDesignSpaceBytes)
	case !utf8.Valid(d.Definition):
		fe.Addf("definition", "is not valid UTF-8")
	case !json.Valid(def):
		fe.Addf("definition", "is not valid JSON")
	case def[0] != '{':
		fe.Addf("definition", "must be a JSON object, not %s", jsonKind(def[0]))
	}
	return fe.Err()
}

// checkDesignSpaceName returns what is wrong with a design space name, or "".
func checkDesignSpaceName(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "is required"
	case strings.TrimSpace(name) != name:
		return fmt.Sprintf("%q has spaces around it", name)
	case !utf8.ValidString(name):
		return "is not valid UTF-8"
	case utf8.RuneCountInString(name) > maxDesignSpaceName:
		return fmt.Sprintf("is longer than %d characters", maxDesignSpaceName)
	case strings.ContainsRune(name, '@'):
		return fmt.Sprintf("%q may not contain @ (it separates a name from its version, as in NAME@2)", name)
	case strings.ContainsRune(name, '/'):
		return fmt.Sprintf("%q may not contain / (the name is a segment of the space's URL path)", name)
	case strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return fmt.Sprintf("%q may hold only printable characters (no tabs, line breaks or control characters)", name)
	case strings.Trim(name, "0123456789") == "":
		return fmt.Sprintf("%q is a whole number, which reads as an id: add a letter", name)
	}
	return ""
}

// jsonKind names the JSON value that starts with c.
func jsonKind(c byte) string {
	switch c {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "true or false"
	case 'n':
		return "null"
	}
	return "a number"
}

// DesignSpaceFilter selects design space versions. Empty fields do not filter; voided versions
// are left out unless IncludeVoided is set.
type DesignSpaceFilter struct {
	Name          string
	Site          string
	IncludeVoided bool
	Page
}

// DesignSpaceStore keeps design spaces. Versions are immutable: there is no update, a change is
// a new version. Every write is audited with entity "design_space".
type DesignSpaceStore interface {
	// CreateDesignSpace creates version 1 of a new name or, with Version 0 and an existing
	// name, the next version of it; an explicit version that exists is ECONFLICT. It validates
	// the space's own fields (DesignSpace.Validate) but does not parse the definition: callers
	// check it with design.ParseSpace first.
	CreateDesignSpace(ctx context.Context, d *DesignSpace) error
	FindDesignSpaceByID(ctx context.Context, id int64) (*DesignSpace, error)
	// FindDesignSpaceByRef returns the version ref names (void or not), or for a bare name its
	// latest version that is not void; ENOTFOUND when there is none.
	FindDesignSpaceByRef(ctx context.Context, ref TemplateRef) (*DesignSpace, error)
	// FindDesignSpaces returns a page of the versions that match f, by name and version, and
	// how many match.
	FindDesignSpaces(ctx context.Context, f DesignSpaceFilter) ([]*DesignSpace, int, error)
	// VoidDesignSpace marks a version void with a reason (required); voiding it twice is
	// ECONFLICT. Nothing is deleted: NAME@VERSION still finds it.
	VoidDesignSpace(ctx context.Context, id int64, reason string) (*DesignSpace, error)
}
