package sim

import (
	"fmt"
	"slices"
	"strings"
)

// feederClasses name the protocol classes for command lines, design spaces and files.
var feederClasses = map[string]Class{
	"none": CytokineOnly, "pbmc": PBMCFeeder, "ebv-lcl": LCLFeeder, "k562-mb15": K562mb15, "k562-mb21": K562mb21,
}

// FeederNames returns the names FeederClass knows, sorted.
func FeederNames() []string {
	names := make([]string, 0, len(feederClasses))
	for n := range feederClasses {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// FeederClass returns the protocol class of a feeder name: none (cytokines only), pbmc
// (irradiated PBMC), ebv-lcl, k562-mb15 (K562-mb15-41BBL) or k562-mb21 (K562-mbIL21-41BBL).
func FeederClass(name string) (Class, error) {
	c, ok := feederClasses[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return Class{}, fmt.Errorf("feeder %q is not one of %s", name, strings.Join(FeederNames(), ", "))
	}
	return c, nil
}

// startNames name the starting materials.
var startNames = map[string]Start{"pbmc": PBMC, "cd3-depleted": CD3Depleted, "purified-nk": PurifiedNK}

// ParseStart returns the starting material of a name: pbmc, cd3-depleted or purified-nk.
func ParseStart(name string) (Start, error) {
	s, ok := startNames[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return 0, fmt.Errorf("start %q is not one of cd3-depleted, pbmc, purified-nk", name)
	}
	return s, nil
}
