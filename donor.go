package clink

import (
	"crypto/rand"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Donor vocabularies. "unknown" is always distinct from a negative result.
const (
	Unknown = "unknown"

	SexFemale = "female"
	SexMale   = "male"

	HCMVPositive  = "positive"
	HCMVNegative  = "negative"
	HCMVEquivocal = "equivocal"

	NKG2CPlusPlus = "+/+"
	NKG2CPlusDel  = "+/del"
	NKG2CDelDel   = "del/del"

	KIRAA = "A/A"
	KIRBx = "B/x"
)

// KIRGenes lists the KIR loci a gene-content genotype may name.
var KIRGenes = []string{
	"KIR2DL1", "KIR2DL2", "KIR2DL3", "KIR2DL4", "KIR2DL5", "KIR2DL5A", "KIR2DL5B",
	"KIR2DS1", "KIR2DS2", "KIR2DS3", "KIR2DS4", "KIR2DS5",
	"KIR3DL1", "KIR3DL2", "KIR3DL3", "KIR3DS1", "KIR2DP1", "KIR3DP1",
}

// kirBGenes are the genes whose presence makes a genotype B/x (domain.md §1.3).
var kirBGenes = map[string]bool{
	"KIR2DS1": true, "KIR2DS2": true, "KIR2DS3": true, "KIR2DS5": true, "KIR3DS1": true,
	"KIR2DL2": true, "KIR2DL5": true, "KIR2DL5A": true, "KIR2DL5B": true,
}

// KIRHaplotypeOf derives the A/A or B/x call from KIR gene content.
func KIRHaplotypeOf(genes []string) string {
	if len(genes) == 0 {
		return Unknown
	}
	for _, g := range genes {
		if kirBGenes[g] {
			return KIRBx
		}
	}
	return KIRAA
}

// Donor is a pseudonymised blood donor. CLINK never stores a donor's name: Code is generated
// (see NewDonorCode) and is the only identifier outside the hospital.
type Donor struct {
	ID           int64    `json:"id"`
	Code         string   `json:"code"`
	Site         string   `json:"site"`
	Sex          string   `json:"sex"`
	AgeBand      string   `json:"age_band"`
	HCMV         string   `json:"hcmv"`
	NKG2C        string   `json:"nkg2c"`
	KIRHaplotype string   `json:"kir_haplotype"`
	KIRGenes     []string `json:"kir_genes"`
	HLACGroup    string   `json:"hla_c_group"`
	ConsentDate  string   `json:"consent_date"`
	Notes        string   `json:"notes"`
	Voided       bool     `json:"voided"`
	VoidReason   string   `json:"void_reason,omitempty"`
	Meta
}

// Normalize fills derived fields: the KIR haplotype from gene content when it is not given,
// "unknown" for empty genetic and serology fields, and a sorted gene list.
func (d *Donor) Normalize() {
	for _, f := range []*string{&d.Sex, &d.AgeBand, &d.HCMV, &d.NKG2C} {
		if *f == "" {
			*f = Unknown
		}
	}
	if d.KIRGenes == nil {
		d.KIRGenes = []string{}
	}
	for i, g := range d.KIRGenes {
		g = strings.ToUpper(strings.TrimSpace(g))
		if !strings.HasPrefix(g, "KIR") {
			g = "KIR" + g
		}
		d.KIRGenes[i] = g
	}
	sort.Strings(d.KIRGenes)
	if d.KIRHaplotype == "" {
		d.KIRHaplotype = KIRHaplotypeOf(d.KIRGenes)
	}
}

// Validate checks the donor's own fields (it assumes Normalize has run).
func (d *Donor) Validate() error {
	var fe FieldErrors
	if d.Code != "" {
		if err := CheckDonorCode(d.Code); err != nil {
			fe.Addf("code", "%v", err)
		}
	}
	if !siteCodeRE.MatchString(d.Site) {
		fe.Addf("site", "%q is not a site code", d.Site)
	}
	if !oneOf(d.Sex, SexFemale, SexMale, Unknown) {
		fe.Addf("sex", "%q is not one of female, male, unknown", d.Sex)
	}
	if err := checkAgeBand(d.AgeBand); err != nil {
		fe.Addf("age_band", "%v", err)
	}
	if !oneOf(d.HCMV, HCMVPositive, HCMVNegative, HCMVEquivocal, Unknown) {
		fe.Addf("hcmv", "%q is not one of positive, negative, equivocal, unknown", d.HCMV)
	}
	if !oneOf(d.NKG2C, NKG2CPlusPlus, NKG2CPlusDel, NKG2CDelDel, Unknown) {
		fe.Addf("nkg2c", "%q is not one of +/+, +/del, del/del, unknown", d.NKG2C)
	}
	if !oneOf(d.KIRHaplotype, KIRAA, KIRBx, Unknown) {
		fe.Addf("kir_haplotype", "%q is not one of A/A, B/x, unknown", d.KIRHaplotype)
	}
	seen := map[string]bool{}
	for _, g := range d.KIRGenes {
		if !oneOf(g, KIRGenes...) {
			fe.Addf("kir_genes", "%q is not a KIR gene", g)
		} else if seen[g] {
			fe.Addf("kir_genes", "%s is listed twice", g)
		}
		seen[g] = true
	}
	if len(d.KIRGenes) > 0 && d.KIRHaplotype != Unknown && d.KIRHaplotype != KIRHaplotypeOf(d.KIRGenes) {
		fe.Addf("kir_haplotype", "%s contradicts the gene content, which makes %s", d.KIRHaplotype, KIRHaplotypeOf(d.KIRGenes))
	}
	if !oneOf(d.HLACGroup, "", "C1/C1", "C1/C2", "C2/C2") {
		fe.Addf("hla_c_group", "%q is not one of C1/C1, C1/C2, C2/C2", d.HLACGroup)
	}
	if d.ConsentDate == "" {
		fe.Addf("consent_date", "is required")
	} else if err := CheckDate(d.ConsentDate); err != nil {
		fe.Addf("consent_date", "%v", err)
	}
	if len(d.Notes) > 4000 {
		fe.Addf("notes", "is longer than 4000 characters")
	}
	return fe.Err()
}

// checkAgeBand accepts "unknown" or a five-year band such as "25-29" between 15 and 99.
func checkAgeBand(b string) error {
	if b == Unknown {
		return nil
	}
	lo, hi, ok := strings.Cut(b, "-")
	l, err1 := strconv.Atoi(lo)
	h, err2 := strconv.Atoi(hi)
	if !ok || err1 != nil || err2 != nil || l%5 != 0 || h != l+4 || l < 15 || h > 99 {
		return fmt.Errorf("%q is not a five-year age band such as 25-29 (15 to 99), nor unknown", b)
	}
	return nil
}

// CheckDate accepts a calendar date written YYYY-MM-DD.
func CheckDate(s string) error {
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return fmt.Errorf("%q is not a date written YYYY-MM-DD", s)
	}
	return nil
}

// Donor codes are "D" + ten characters of Crockford-like base32 + a MOD 37-2 check character,
// e.g. D7KQ2M9XW4R-Z. They carry no information about the person.
const donorAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewDonorCode returns a fresh random donor code (50 random bits).
func NewDonorCode() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("clink: crypto/rand failed: " + err.Error())
	}
	body := make([]byte, 10)
	for i := range b {
		body[i] = donorAlphabet[int(b[i])%len(donorAlphabet)]
	}
	s := "D" + string(body)
	return s + "-" + string(Mod37_2(s))
}

// CheckDonorCode reports whether code has the form of a donor code with a valid check character.
func CheckDonorCode(code string) error {
	body, check, ok := strings.Cut(code, "-")
	if !ok || len(body) != 11 || body[0] != 'D' || len(check) != 1 {
		return fmt.Errorf("%q is not a donor code (D + 10 characters + - + check character)", code)
	}
	for _, c := range body[1:] {
		if !strings.ContainsRune(donorAlphabet, c) {
			return fmt.Errorf("%q is not a donor code: %q is not allowed", code, c)
		}
	}
	if Mod37_2(body)[0] != check[0] {
		return fmt.Errorf("%q has a wrong check character (mistyped?)", code)
	}
	return nil
}

// Mod37_2 returns the ISO/IEC 7064 MOD 37-2 check character of s, whose characters are digits
// and capital letters (other characters are skipped). The result is one of 0-9, A-Z or *.
func Mod37_2(s string) string {
	const chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
	p := 0
	for _, c := range s {
		v := strings.IndexRune(chars[:36], c)
		if v < 0 {
			continue
		}
		p = ((p + v) * 2) % 37
	}
	return string(chars[(38-p)%37])
}
