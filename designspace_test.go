package clink

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// spaceJSON is the example of design.Space's doc comment, the form a design space stores.
const spaceJSON = `{
  "name": "nk-default",
  "factors": [
    {"name": "il2", "unit": "IU/mL", "kind": "continuous", "low": 0, "high": 1000, "scale": "log", "offset": 1},
    {"name": "harvest_day", "unit": "d", "kind": "integer", "low": 7, "high": 28, "scale": "linear"},
    {"name": "vessel", "kind": "categorical", "levels": ["plate", "flask", "G-Rex"]}
  ]
}`

func validDesignSpace() *DesignSpace {
	return &DesignSpace{Site: "ZGZ", Name: "NK cytokines", Description: "IL-2 dose, harvest day and vessel",
		Definition: json.RawMessage(spaceJSON)}
}

func TestDesignSpaceValidate(t *testing.T) {
	if err := validDesignSpace().Validate(); err != nil {
		t.Fatalf("valid design space: %v", err)
	}
	// Limits are in characters: 100 two-byte characters make a valid name, 101 do not.
	for _, edit := range []func(*DesignSpace){
		func(d *DesignSpace) { d.Name = strings.Repeat("é", 100) },
		func(d *DesignSpace) { d.Name = "IL-2 + IL-15 grid (v. Ziegler), 50% dose?" },
		func(d *DesignSpace) { d.Name = "2025" + "a" },
		func(d *DesignSpace) { d.Description = strings.Repeat("µ", 2000) },
		func(d *DesignSpace) { d.Version = 3 },
		func(d *DesignSpace) { d.Definition = json.RawMessage(" \n{}\t") },
		func(d *DesignSpace) {
			d.Definition = json.RawMessage("{" + strings.Repeat(" ", MaxDesignSpaceBytes-2) + "}")
		},
	} {
		d := validDesignSpace()
		edit(d)
		if err := d.Validate(); err != nil {
			t.Errorf("%+v: got %v, want valid", d, err)
		}
	}
	tests := []struct {
		name, field string
		edit        func(*DesignSpace)
	}{
		{"site", "site", func(d *DesignSpace) { d.Site = "zgz" }},
		{"no site", "site", func(d *DesignSpace) { d.Site = "" }},
		{"no name", "name", func(d *DesignSpace) { d.Name = " " }},
		{"name with spaces around", "name", func(d *DesignSpace) { d.Name = " NK" }},
		{"name with @", "name", func(d *DesignSpace) { d.Name = "NK@2" }},
		{"name with /", "name", func(d *DesignSpace) { d.Name = "IL-2/IL-15" }},
		{"name with a tab", "name", func(d *DesignSpace) { d.Name = "NK\tspace" }},
		{"name with a line break", "name", func(d *DesignSpace) { d.Name = "NK\nspace" }},
		{"name with a NUL", "name", func(d *DesignSpace) { d.Name = "NK\x00" }},
		{"name not UTF-8", "name", func(d *DesignSpace) { d.Name = "NK\xff" }},
		{"name a whole number", "name", func(d *DesignSpace) { d.Name = "42" }},
		{"long name", "name", func(d *DesignSpace) { d.Name = strings.Repeat("é", 101) }},
		{"negative version", "version", func(d *DesignSpace) { d.Version = -1 }},
		{"long description", "description", func(d *DesignSpace) { d.Description = strings.Repeat("µ", 2001) }},
		{"description not UTF-8", "description", func(d *DesignSpace) { d.Description = "\xc3" }},
		{"description with a NUL", "description", func(d *DesignSpace) { d.Description = "a\x00b" }},
		{"no definition", "definition", func(d *DesignSpace) { d.Definition = nil }},
		{"blank definition", "definition", func(d *DesignSpace) { d.Definition = json.RawMessage(" \n") }},
		{"definition null", "definition", func(d *DesignSpace) { d.Definition = json.RawMessage("null") }},
		{"definition an array", "definition", func(d *DesignSpace) { d.Definition = json.RawMessage(`[{"name": "x"}]`) }},
		{"definition a string", "definition", func(d *DesignSpace) { d.Definition = json.RawMessage(`"{}"`) }},
		{"definition a number", "definition", func(d *DesignSpace) { d.Definition = json.RawMessage(`-1`) }},
		{"definition not JSON", "definition", func(d *DesignSpace) { d.Definition = json.RawMessage(`{"name": }`) }},
		{"definition two values", "definition", func(d *DesignSpace) { d.Definition = json.RawMessage(`{} {}`) }},
		{"definition not UTF-8", "definition", func(d *DesignSpace) { d.Definition = json.RawMessage("{\"name\": \"\xff\"}") }},
		{"definition too large", "definition", func(d *DesignSpace) {
			d.Definition = json.RawMessage("{" + strings.Repeat(" ", MaxDesignSpaceBytes-1) + "}")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := validDesignSpace()
			tc.edit(d)
			err := d.Validate()
			if ErrorCode(err) != EINVALID {
				t.Fatalf("got %v, want an invalid-input error", err)
			}
			if fs := ErrorFields(err); len(fs) != 1 || fs[0].Field != tc.field {
				t.Fatalf("got fields %v, want one error, about %s", fs, tc.field)
			}
		})
	}
}

func TestDesignSpaceRef(t *testing.T) {
	d := validDesignSpace()
	d.Version = 3
	if got, want := d.Ref(), "NK cytokines@3"; got != want {
		t.Errorf("Ref() = %q, want %q", got, want)
	}
	// A reference reads back as the name and version it was made from.
	ref, err := ParseTemplateRef(d.Ref())
	if err != nil || ref != (TemplateRef{Name: d.Name, Version: 3}) {
		t.Errorf("ParseTemplateRef(%q) = %+v, %v; want the name and version 3", d.Ref(), ref, err)
	}
}

// FuzzDesignSpaceValidate checks that Validate never panics and that what it accepts is a
// JSON object, whatever the name, description and definition.
func FuzzDesignSpaceValidate(f *testing.F) {
	f.Add("NK cytokines", "", []byte(spaceJSON))
	f.Add("42", "x", []byte("[]"))
	f.Add("a@1", "\xff", []byte("{\"a\": \"\xff\"}"))
	f.Add("é", "d", []byte(" {} "))
	f.Add("", "", []byte(nil))
	f.Fuzz(func(t *testing.T, name, desc string, def []byte) {
		d := &DesignSpace{Site: "ZGZ", Name: name, Description: desc, Definition: def}
		err := d.Validate()
		if err == nil {
			var obj map[string]json.RawMessage
			if uerr := json.Unmarshal(def, &obj); uerr != nil || obj == nil {
				t.Fatalf("Validate accepted a definition that is not a JSON object: %q (%v)", def, uerr)
			}
			if bytes.ContainsRune([]byte(name), '@') {
				t.Fatalf("Validate accepted the name %q", name)
			}
		} else if ErrorCode(err) != EINVALID {
			t.Fatalf("got %v, want nil or an invalid-input error", err)
		}
	})
}
