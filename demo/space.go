package demo

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/design"
)

// SpaceName is the name of the demo's design space.
const SpaceName = "nk-demo"

// Space returns the demo's design space: the consortium's default space (design.DefaultSpace)
// with the feeders of the demo catalogue and the protocols' vessels as its levels, so that the demo's protocol versions
// lie in it and the optimizer learns from their cultures.
func Space() *design.Space {
	s := design.DefaultSpace()
	s.Name = SpaceName
	for i := range s.Factors {
		switch s.Factors[i].Name {
		case "feeder":
			s.Factors[i].Levels = []string{"none", "irradiated PBMC", "EBV-LCL", "721.221", "K562-mbIL15-41BBL", "K562-mbIL21-41BBL"}
		case "vessel": // the vessels a protocol can name (a suggestion must become a draft)
			s.Factors[i].Levels = append([]string(nil), clink.Vessels...)
		}
	}
	return s
}

// writeSpace stores the demo's design space, created by the Zaragoza lab.
func writeSpace(ctx context.Context, tx clink.Store) error {
	def, err := json.Marshal(Space())
	if err != nil {
		return err
	}
	ds := &clink.DesignSpace{Site: "ZGZ", Name: SpaceName, Definition: def,
		Description: "Cytokines, feeder and its ratio, restimulation, harvest day and vessel of the demo's protocols, with a cytokine budget."}
	if err := tx.CreateDesignSpace(ctx, ds); err != nil {
		return fmt.Errorf("design space %s: %w", SpaceName, err)
	}
	return nil
}
