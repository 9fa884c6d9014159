package http

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/flow"
)

// Flow cytometry routes: gating templates, FCS files attached to observations, and the stored
// files themselves. Templates are checked and files gated by flow.Service; the store only
// keeps them.

// FCSMediaType is the media type of FCS files (IANA application/vnd.isac.fcs).
const FCSMediaType = "application/vnd.isac.fcs"

// fcsLimit returns the limit of the FCS files of one upload request, all files together.
func (s *Server) fcsLimit() int64 {
	if s.maxFCSBytes > 0 {
		return s.maxFCSBytes
	}
	return clink.DefaultMaxFCSBytes
}

// flowService returns the service that checks templates and gates files for the handlers,
// with the server's file limit.
func (s *Server) flowService() *flow.Service {
	return &flow.Service{Store: s.store, MaxFCSBytes: s.fcsLimit()}
}

// multipartOverhead is what a multipart body may hold beyond its files: boundaries and part
// headers.
const multipartOverhead = 64 << 10

// templateUpdate is the body of PUT /gating-templates/{id}: the edited version and why.
type templateUpdate struct {
	clink.GatingTemplate
	Reason string `json:"reason"`
}

// FCSUploadResult is the answer of an FCS upload: the attachments made, in the order of the
// files, and the observation as they left it.
type FCSUploadResult struct {
	Attachments []*clink.FCSAttachment `json:"attachments"`
	Observation *clink.Observation     `json:"observation"`
}

func (s *Server) listGatingTemplates(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "site", "name", "limit", "offset")
	f := clink.GatingTemplateFilter{Site: q.site("site"), Name: q.str("name"), Page: q.page()}
	if err := q.err(); err != nil {
		return err
	}
	ts, total, err := s.store.FindGatingTemplates(r.Context(), f)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, newList(ts, total, f.Page))
}

// createGatingTemplate creates version 1 of a new template or, when the version is omitted and
// the name exists, its next version. As for protocols, a name belongs to the site of its latest
// version: that site decides who may add a version, and the body may not move it elsewhere.
func (s *Server) createGatingTemplate(w http.ResponseWriter, r *http.Request) error {
	var t clink.GatingTemplate
	if err := decodeJSON(w, r, &t); err != nil {
		return err
	}
	site, err := s.versionSite(r, "gating template", t.Name, t.Site, func() (string, error) {
		existing, err := clink.ReadAll(func(p clink.Page) ([]*clink.GatingTemplate, int, error) {
			return s.store.FindGatingTemplates(r.Context(), clink.GatingTemplateFilter{Name: t.Name, Page: p})
		})
		latest, site := 0, ""
		for _, e := range existing {
			if e.Version > latest {
				latest, site = e.Version, e.Site
			}
		}
		return site, err
	})
	if err != nil {
		return err
	}
	t.Site = site
	t.ID = 0
	if err := s.flowService().CreateTemplate(r.Context(), &t); err != nil {
		return err
	}
	return s.writeCreated(w, fmt.Sprintf("%s/gating-templates/%d", apiPrefix, t.ID), &t)
}

// versionSite returns the site a new version of the record kind called name belongs to: the
// site of its latest version (latestSite, "" for a new name), or given for a new name. The user
// must be allowed to write at that site, and a given site must be it: a name's versions stay at
// one site.
func (s *Server) versionSite(r *http.Request, kind, name, given string, latestSite func() (string, error)) (string, error) {
	site := given
	if name != "" {
		latest, err := latestSite()
		if err != nil {
			return "", err
		}
		if latest != "" {
			site = latest
		}
	}
	if err := s.authorize(r, site); err != nil {
		return "", err
	}
	if given != "" && given != site {
		return "", clink.Invalid("site", "%s is not the site of %s %q (%s): its versions stay at its site", given, kind, name, site)
	}
	return site, nil
}

func (s *Server) findGatingTemplate(r *http.Request) (*clink.GatingTemplate, error) {
	id, err := numericID(r, "id", "gating template")
	if err != nil {
		return nil, err
	}
	return s.store.FindGatingTemplateByID(r.Context(), id)
}

func (s *Server) getGatingTemplate(w http.ResponseWriter, r *http.Request) error {
	t, err := s.findGatingTemplate(r)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, t)
}

// updateGatingTemplate edits a template version in place, which the store allows only while no
// FCS file was gated with it; the edited document and mapping are checked first.
func (s *Server) updateGatingTemplate(w http.ResponseWriter, r *http.Request) error {
	old, err := s.findGatingTemplate(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r, old.Site); err != nil {
		return err
	}
	var body templateUpdate
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	t := body.GatingTemplate
	var fe clink.FieldErrors
	if t.ID != 0 && t.ID != old.ID {
		fe.Addf("id", "%d does not match the gating template being edited (%d)", t.ID, old.ID)
	}
	if t.Name != "" && t.Name != old.Name {
		fe.Addf("name", "%q cannot change (the template is %q); create a new template instead", t.Name, old.Name)
	}
	if t.Version != 0 && t.Version != old.Version {
		fe.Addf("version", "%d cannot change (this is version %d)", t.Version, old.Version)
	}
	if err := fe.Err(); err != nil {
		return err
	}
	t.ID, t.Name, t.Version = old.ID, old.Name, old.Version
	if t.Site == "" {
		t.Site = old.Site
	}
	if err := s.flowService().UpdateTemplate(r.Context(), &t, body.Reason); err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, &t)
}

func (s *Server) voidGatingTemplate(w http.ResponseWriter, r *http.Request) error {
	old, err := s.findGatingTemplate(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r, old.Site); err != nil {
		return err
	}
	var body voidRequest
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	t, err := s.store.VoidGatingTemplate(r.Context(), old.ID, body.Reason)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, t)
}

func (s *Server) listObservationFCS(w http.ResponseWriter, r *http.Request) error {
	o, err := s.findObservation(r)
	if err != nil {
		return err
	}
	q := newQuery(r, "limit", "offset")
	f := clink.FCSAttachmentFilter{ObservationID: o.ID, Page: q.page()}
	if err := q.err(); err != nil {
		return err
	}
	as, total, err := s.store.FindFCSAttachments(r.Context(), f)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, newList(as, total, f.Page))
}

// attachFCS gates the FCS files of the body with a template and fills the observation's flow
// measures from them. The body is one file (Content-Type application/vnd.isac.fcs or
// application/octet-stream, its name in the filename parameter) or a multipart/form-data body
// of files (every part with a filename). All files are attached in one transaction: when one
// fails, none is.
func (s *Server) attachFCS(w http.ResponseWriter, r *http.Request) error {
	o, err := s.findObservation(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r, o.Site); err != nil {
		return err
	}
	q := newQuery(r, "template", "dataset", "replace", "filename")
	template, filename, replace := q.str("template"), q.str("filename"), q.boolean("replace")
	dataset := 0
	if d := q.integer("dataset"); d != nil {
		dataset = *d
	}
	if err := q.err(); err != nil {
		return err
	}
	if strings.TrimSpace(template) == "" {
		return malformed("template", "is required: the gating template, NAME or NAME@VERSION")
	}
	files, err := readFCSBody(w, r, filename, s.fcsLimit())
	if err != nil {
		return err
	}
	ups := make([]*clink.FCSUpload, len(files))
	for i, f := range files {
		ups[i] = &clink.FCSUpload{ObservationID: o.ID, FileName: f.name, Data: f.data, Template: template,
			DataSet: dataset, Replace: replace}
	}
	as, err := s.flowService().Attach(r.Context(), ups)
	s.metrics.gatingRun(len(ups), err)
	if err != nil {
		return err
	}
	res := FCSUploadResult{Attachments: as}
	if res.Observation, err = s.store.FindObservationByID(r.Context(), o.ID); err != nil {
		return err
	}
	return s.writeCreated(w, fmt.Sprintf("%s/observations/%d/fcs", apiPrefix, o.ID), &res)
}

// uploadedFile is one file of an upload body.
type uploadedFile struct {
	name string
	data []byte
}

// readFCSBody reads the files of an upload: the raw body (named by filename) or the file parts
// of a multipart/form-data body. Together they may hold at most limit bytes (413 beyond).
func readFCSBody(w http.ResponseWriter, r *http.Request, filename string, limit int64) ([]uploadedFile, error) {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, malformed("Content-Type", "%q is not %s, application/octet-stream or multipart/form-data", ct, FCSMediaType)
	}
	tooLarge := &statusError{http.StatusRequestEntityTooLarge, fmt.Sprintf("the FCS files are larger than %d bytes", limit)}
	switch mt {
	case FCSMediaType, "application/octet-stream":
		if filename == "" {
			return nil, malformed("filename", "is required with a %s body: the file's name", mt)
		}
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, tooLarge
			}
			return nil, malformed("body", "cannot be read: %v", err)
		}
		return []uploadedFile{{name: filename, data: data}}, nil
	case "multipart/form-data":
		if filename != "" {
			return nil, malformed("filename", "is for a raw body; a multipart body names each file in its part")
		}
		if params["boundary"] == "" {
			return nil, malformed("Content-Type", "multipart/form-data needs a boundary")
		}
		body := http.MaxBytesReader(w, r.Body, limit+multipartOverhead)
		mr := multipart.NewReader(body, params["boundary"])
		var files []uploadedFile
		var total int64
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					return nil, tooLarge
				}
				return nil, malformed("body", "is not a valid multipart body: %v", err)
			}
			name := part.FileName()
			if name == "" {
				part.Close()
				return nil, malformed(partName(part), "is not a file: every part of the body must be an FCS file with a filename")
			}
			data, err := io.ReadAll(io.LimitReader(part, limit-total+1))
			part.Close()
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					return nil, tooLarge
				}
				return nil, malformed("body", "part %q cannot be read: %v", name, err)
			}
			total += int64(len(data))
			if total > limit {
				return nil, tooLarge
			}
			files = append(files, uploadedFile{name: name, data: data})
		}
		if len(files) == 0 {
			return nil, malformed("body", "holds no file: send FCS files as parts with a filename")
		}
		if len(files) > 1000 {
			return nil, malformed("body", "holds %d files; send at most 1000 per request", len(files))
		}
		return files, nil
	}
	return nil, &statusError{http.StatusUnsupportedMediaType,
		fmt.Sprintf("Content-Type %q is not %s, application/octet-stream or multipart/form-data", mt, FCSMediaType)}
}

// partName names a multipart part for a field error.
func partName(p *multipart.Part) string {
	if n := p.FormName(); n != "" {
		return n
	}
	return "body"
}

// getFCSFile answers a stored FCS file's bytes, checked against their SHA-256 by the store.
func (s *Server) getFCSFile(w http.ResponseWriter, r *http.Request) error {
	sha := r.PathValue("sha256")
	if clink.CheckSHA256(sha) != nil {
		return clink.Errorf(clink.ENOTFOUND, "FCS file %q not found: files are named by the SHA-256 of their bytes, 64 lower-case hex digits", sha)
	}
	f, data, err := s.store.FindFCSFile(r.Context(), sha)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", FCSMediaType)
	h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.fcs"`, f.SHA256))
	h.Set("ETag", `"`+f.SHA256+`"`)
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(data)
	}
	return nil
}
