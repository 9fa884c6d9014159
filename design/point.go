package design

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/clink-consortium/clink"
)

// Point is one condition in natural units: factor name → value. Its JSON form is an object
// whose numeric factors are numbers and categorical factors level strings:
//
//	{"il2": 100, "harvest_day": 14, "feeder": "EBV-LCL"}
//
// encoding/json writes the keys sorted, so equal points marshal to equal bytes.
type Point map[string]Value

// Value is the value of one factor: a number (X) for continuous and integer factors, or a
// level name for categorical ones. Level names are never empty, so a Value with a Level is a
// level and any other is a number.
type Value struct {
	X     float64
	Level string
}

// Num returns the numeric Value x.
func Num(x float64) Value { return Value{X: x} }

// Cat returns the categorical Value level.
func Cat(level string) Value { return Value{Level: level} }

// IsLevel reports whether v is a level of a categorical factor.
func (v Value) IsLevel() bool { return v.Level != "" }

// String formats v as a number (shortest form that round-trips) or its level name.
func (v Value) String() string {
	if v.IsLevel() {
		return v.Level
	}
	return strconv.FormatFloat(v.X, 'g', -1, 64)
}

// MarshalJSON writes a number or a string; NaN and infinities are errors.
func (v Value) MarshalJSON() ([]byte, error) {
	if v.IsLevel() {
		return json.Marshal(v.Level)
	}
	if math.IsNaN(v.X) || math.IsInf(v.X, 0) {
		return nil, fmt.Errorf("design: value %g cannot be written as JSON", v.X)
	}
	return json.Marshal(v.X)
}

// UnmarshalJSON reads a number or a non-empty string.
func (v *Value) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			return errors.New("design: a level name cannot be empty")
		}
		*v = Cat(s)
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		return errors.New("design: a value is a number or a level name, not null")
	}
	var x float64
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*v = Num(x)
	return nil
}

// factorJSON is the stable JSON form of a Factor: numeric factors always carry their bounds
// and scale, log-scaled ones their offset; a field that is set where it does not belong is
// still written, so that marshalling never hides what Validate will complain about.
type factorJSON struct {
	Name   string   `json:"name"`
	Unit   string   `json:"unit,omitempty"`
	Kind   Kind     `json:"kind"`
	Low    *float64 `json:"low,omitempty"`
	High   *float64 `json:"high,omitempty"`
	Scale  Scale    `json:"scale,omitempty"`
	Offset *float64 `json:"offset,omitempty"`
	Levels []string `json:"levels,omitempty"`
}

// MarshalJSON writes the stable form described at Space.
func (f Factor) MarshalJSON() ([]byte, error) {
	j := factorJSON{Name: f.Name, Unit: f.Unit, Kind: f.Kind, Scale: f.Scale, Levels: f.Levels}
	numeric := f.Kind == Continuous || f.Kind == Integer
	if numeric || f.Low != 0 || f.High != 0 {
		j.Low, j.High = &f.Low, &f.High
	}
	if numeric && j.Scale == "" {
		j.Scale = Linear
	}
	if f.Scale == Log || f.Offset != 0 {
		j.Offset = &f.Offset
	}
	return json.Marshal(j)
}

// maxSpaceJSON bounds the size of a space's JSON form that ParseSpace reads.
const maxSpaceJSON = 1 << 20

// ParseSpace reads the JSON form of a Space (see Space), rejecting unknown fields and trailing
// data with an EMALFORMED error, and validates it (EINVALID).
func ParseSpace(data []byte) (*Space, error) {
	if len(data) > maxSpaceJSON {
		return nil, clink.Errorf(clink.EMALFORMED, "space: the JSON is %d bytes; the limit is %d", len(data), maxSpaceJSON)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Space
	if err := dec.Decode(&s); err != nil {
		return nil, clink.Errorf(clink.EMALFORMED, "space: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, clink.Errorf(clink.EMALFORMED, "space: unexpected data after the JSON object")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}
