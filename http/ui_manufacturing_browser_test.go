package http_test

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/clink-consortium/clink"
)

// submitAndWait submits the form with the id and waits for ready in the page that answers it:
// the page before the submission is marked, so that ready cannot be found on it.
func submitAndWait(ctx context.Context, formID, ready string) error {
	return chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`document.body.dataset.stale = "1"`),
		chromedp.Submit(chromedp.ID(formID)),
		chromedp.WaitVisible(chromedp.CSS("body:not([data-stale]) "+ready)),
	)
}

// newest returns the record of items with the highest id.
func newest[T any](items []T, id func(T) int64) (T, bool) {
	var best T
	found := false
	for _, x := range items {
		if !found || id(x) > id(best) {
			best, found = x, true
		}
	}
	return best, found
}

// TestBrowserBatchToRelease follows one batch from the request to its release in Chromium,
// each person in their own tab (product.md journey 6; issue 8 "The browser tests cover a
// whole batch from creation to release"): MPL's clinician adds a patient and requests a
// product; MPL's operator creates the batch and records every step of its master record and
// every release result; QA reviews it with the user name and the password, after a wrong
// password is refused and shown; the QP releases it. The page then says released and links
// a certificate whose bytes are a PDF.
func TestBrowserBatchToRelease(t *testing.T) {
	clin := newTab(t)
	e := newUIEnv(t)
	op, qa, qp := newTab(t), newTab(t), newTab(t)
	bg := context.Background()
	donors, _, err := e.store.FindDonors(bg, clink.DonorFilter{Page: clink.Page{Limit: 1}})
	mustDo(t, "find a donor", err)
	protocols, _, err := e.store.FindProtocols(bg, clink.ProtocolFilter{Page: clink.Page{Limit: 1}})
	mustDo(t, "find a protocol", err)
	if len(donors) == 0 || len(protocols) == 0 {
		t.Fatal("the demo data has no donor or no protocol")
	}

	// The clinician: a patient, then the request.
	browserSignIn(t, clin, e, "clinician-mpl")
	mustDo(t, "open the patients", chromedp.Do(clin,
		chromedp.Navigate(e.srv.URL+"/patients"),
		chromedp.WaitVisible(chromedp.ID("patient-form")),
		chromedp.SetValue(chromedp.ID("f-identity-mrn"), "MPL-4410027"),
		chromedp.SetValue(chromedp.ID("f-identity-name"), "Browser, Clara"),
		chromedp.SetValue(chromedp.ID("f-identity-birth_year"), "1964"),
	))
	mustDo(t, "add the patient", submitAndWait(clin, "patient-form", "#request-form"))
	ps, _, err := e.store.FindPatients(bg, clink.PatientFilter{Hospital: "MPL", Page: clink.Page{Limit: clink.MaxLimit}})
	mustDo(t, "find the patient", err)
	patient, ok := newest(ps, func(p *clink.Patient) int64 { return p.ID })
	if !ok || patient.Identity == nil || patient.Identity.Name != "Browser, Clara" {
		t.Fatalf("the newest patient of MPL is %+v, want Browser, Clara", patient)
	}
	name, err := chromedp.Run(clin, chromedp.Text(chromedp.CSS(fmt.Sprintf("#patient-%d td.name", patient.ID))))
	mustDo(t, "read the patient's name", err)
	if name != "Browser, Clara" {
		t.Errorf("the clinician sees the name %q, want Browser, Clara", name)
	}
	mustDo(t, "fill the request", chromedp.Do(clin,
		chromedp.SetValue(chromedp.ID("f-patient_id"), strconv.FormatInt(patient.ID, 10)),
		chromedp.SetValue(chromedp.ID("f-donor_id"), strconv.FormatInt(donors[0].ID, 10)),
		chromedp.SetValue(chromedp.ID("f-protocol_id"), strconv.FormatInt(protocols[0].ID, 10)),
		chromedp.SetValue(chromedp.ID("f-target_nk_per_kg"), "1e7"),
		chromedp.SetValue(chromedp.ID("f-weight_kg"), "64"),
		chromedp.SetValue(chromedp.ID("f-infusion_dates"), "2027-01-20"),
	))
	mustDo(t, "request the product", submitAndWait(clin, "request-form", "#request-table"))
	reqs, _, err := e.store.FindTreatmentRequests(bg, clink.TreatmentRequestFilter{PatientID: patient.ID, Page: clink.Page{Limit: 10}})
	mustDo(t, "find the request", err)
	if len(reqs) != 1 || reqs[0].WeightKg != 64 || reqs[0].TargetNKPerKg != 1e7 {
		t.Fatalf("the patient's requests are %+v, want one of 1e7 NK/kg at 64 kg", reqs)
	}
	request := reqs[0]

	// The operator: the batch, every step and every result.
	browserSignIn(t, op, e, "operator-mpl")
	mustDo(t, "open the batches", chromedp.Do(op,
		chromedp.Navigate(e.srv.URL+"/batches"),
		chromedp.WaitVisible(chromedp.ID("batch-form")),
		chromedp.SetValue(chromedp.ID("f-request_id"), strconv.FormatInt(request.ID, 10)),
	))
	mustDo(t, "create the batch", submitAndWait(op, "batch-form", "#batch-status"))
	loc, err := chromedp.Run(op, chromedp.Location())
	mustDo(t, "read the location", err)
	u, err := url.Parse(loc)
	mustDo(t, "parse the location", err)
	id, err := strconv.ParseInt(strings.TrimPrefix(u.Path, "/batches/"), 10, 64)
	if err != nil {
		t.Fatalf("after creating the batch the browser is at %s, want a batch page", loc)
	}
	b, err := e.store.FindBatchByID(bg, id)
	mustDo(t, "find the batch", err)
	if b.RequestID != request.ID || b.Status != clink.BatchInProcess || b.CreatedBy != "operator-mpl" {
		t.Fatalf("batch %d: request %d, status %s, created by %s; want the request's batch in process, by operator-mpl", id, b.RequestID, b.Status, b.CreatedBy)
	}
	din, err := chromedp.Run(op, chromedp.Text(chromedp.ID("batch-din")))
	mustDo(t, "read the DIN", err)
	// The groups and the check character are joined by no-break spaces.
	if want := b.DIN[:5] + " " + b.DIN[5:7] + " " + b.DIN[7:] + " " + b.Check; strings.ReplaceAll(din, "\u00a0", " ") != want {
		t.Errorf("the DIN reads %q, want %q", din, want)
	}
	for _, ms := range b.Steps {
		form := "step-" + ms.Key + "-form"
		var fill []chromedp.Action[chromedp.Void]
		for k, x := range mfgStepValues(ms) {
			fill = append(fill, chromedp.SetValue(chromedp.ID(form+"-values-"+k), strconv.FormatFloat(x, 'g', -1, 64)))
		}
		fill = append(fill, chromedp.SetValue(chromedp.ID(form+"-equipment"), "BSC-2"))
		if ms.Reagents {
			fill = append(fill,
				chromedp.SetValue(chromedp.ID(form+"-reagents-0-name"), "reagent of "+ms.Key),
				chromedp.SetValue(chromedp.ID(form+"-reagents-0-lot"), "L-"+ms.Key),
				chromedp.SetValue(chromedp.ID(form+"-reagents-0-expiry"), reagentExpiry()))
		}
		mustDo(t, "fill "+ms.Name, chromedp.Do(op, fill...))
		mustDo(t, "record "+ms.Name, submitAndWait(op, form, "#step-"+ms.Key+" tr.in-force"))
	}
	for _, r := range mfgResults {
		form := "result-" + r.test + "-form"
		input, value, outcome := form+"-value", r.value, "pass"
		if r.value == "" {
			input, value = form+"-text", r.text
		}
		if r.test == "cd19" {
			outcome = "reported"
		}
		mustDo(t, "fill "+r.test, chromedp.Do(op, chromedp.SetValue(chromedp.ID(input), value)))
		mustDo(t, "enter "+r.test, submitAndWait(op, form, fmt.Sprintf(`#test-%s[data-outcome=%q]`, r.test, outcome)))
	}
	next, err := chromedp.Run(op, chromedp.Text(chromedp.ID("batch-next")))
	mustDo(t, "read the next stage", err)
	if next != "QA review" {
		missing, _ := chromedp.Run(op, chromedp.Text(chromedp.ID("batch-missing")))
		t.Fatalf("after every step and result the next stage is %q (missing: %s), want QA review", next, missing)
	}
	path := fmt.Sprintf("%s/batches/%d", e.srv.URL, id)

	// QA: a wrong password is refused and shown; the right one reviews.
	browserSignIn(t, qa, e, "qa")
	mustDo(t, "open the batch as QA", chromedp.Do(qa,
		chromedp.Navigate(path),
		chromedp.WaitVisible(chromedp.ID("sign-form")),
		chromedp.SetValue(chromedp.ID("sign-form-meaning"), "reviewed"),
		chromedp.SetValue(chromedp.ID("sign-form-username"), "qa"),
		chromedp.SetValue(chromedp.ID("sign-form-password"), "not the password 7"),
	))
	mustDo(t, "sign with a wrong password", submitAndWait(qa, "sign-form", `#sign-form .error[data-field="password"]`))
	msg, err := chromedp.Run(qa, chromedp.Text(chromedp.CSS(`#sign-form .error[data-field="password"]`)))
	mustDo(t, "read the refusal", err)
	if !strings.Contains(msg, "the signature is refused and the attempt recorded") {
		t.Errorf("got %q next to the password, want the refusal, recorded", msg)
	}
	refused, err := chromedp.Run(qa, chromedp.Text(chromedp.ID("refusal-table")))
	mustDo(t, "read the refused attempts", err)
	if !strings.Contains(refused, "qa") || !strings.Contains(refused, "reviewed") {
		t.Errorf("the refused attempts read %q, want qa's attempt to review", refused)
	}
	mustDo(t, "sign with the password", chromedp.Do(qa,
		chromedp.SetValue(chromedp.ID("sign-form-meaning"), "reviewed"),
		chromedp.SetValue(chromedp.ID("sign-form-password"), testPassword),
	))
	mustDo(t, "review", submitAndWait(qa, "sign-form", `#batch-status[data-status="reviewed"]`))

	// The QP releases.
	browserSignIn(t, qp, e, "qp")
	mustDo(t, "release", chromedp.Do(qp,
		chromedp.Navigate(path),
		chromedp.WaitVisible(chromedp.ID("sign-form")),
		chromedp.SetValue(chromedp.ID("sign-form-meaning"), "released"),
		chromedp.SetValue(chromedp.ID("sign-form-username"), "qp"),
		chromedp.SetValue(chromedp.ID("sign-form-password"), testPassword),
	))
	mustDo(t, "release", submitAndWait(qp, "sign-form", `#batch-status[data-status="released"]`))
	status, err := chromedp.Run(qp, chromedp.Text(chromedp.CSS("#batch-status .badge")))
	mustDo(t, "read the status", err)
	if status != "released" {
		t.Errorf("the batch page says %q, want released", status)
	}
	head, err := chromedp.Run(qp, chromedp.Evaluate[string](
		`fetch(document.getElementById("certificate-link").href).then(r => r.arrayBuffer()).then(b => String.fromCharCode(...new Uint8Array(b.slice(0, 5))))`,
		chromedp.EvalAwaitPromise))
	mustDo(t, "fetch the certificate", err)
	if head != "%PDF-" {
		t.Errorf("the certificate starts with %q, want %%PDF-", head)
	}
	if st, err := e.store.FindBatchByID(bg, id); err != nil || st.Status != clink.BatchReleased {
		t.Errorf("the stored batch is %v (err %v), want released", st, err)
	}
}
