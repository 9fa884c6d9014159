package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
)

// runConfig prints the configuration clink serve would run with, one setting per line with
// where it comes from (flag, environment or default), the database password masked.
func (m *Main) runConfig(ctx context.Context, args []string) error {
	cfg := m.defaultConfig()
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	cfg.serverFlags(fs)
	if err := m.parseConfig(fs, &cfg, args, false); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	tls := func(path string) string {
		if path == "" {
			return "(none)"
		}
		return path
	}
	for _, s := range []struct{ flag, env, value string }{
		{"addr", "CLINK_ADDR", cfg.Addr},
		{"db", "CLINK_DB", maskDSN(cfg.DB)},
		{"log-format", "CLINK_LOG_FORMAT", cfg.LogFormat},
		{"log-level", "CLINK_LOG_LEVEL", cfg.LogLevel},
		{"session-idle", "CLINK_SESSION_IDLE", cfg.SessionIdle.String()},
		{"max-fcs-bytes", "CLINK_MAX_FCS_BYTES", strconv.FormatInt(cfg.MaxFCSBytes, 10)},
		{"facility", "CLINK_FACILITY", cfg.Facility},
		{"product-code", "CLINK_PRODUCT_CODE", cfg.ProductCode},
		{"tls-cert", "CLINK_TLS_CERT", tls(cfg.TLSCert)},
		{"tls-key", "CLINK_TLS_KEY", tls(cfg.TLSKey)},
	} {
		source := "default"
		switch {
		case set[s.flag]:
			source = "flag --" + s.flag
		case m.Getenv(s.env) != "":
			source = "environment " + s.env
		}
		fmt.Fprintf(m.Stdout, "%-14s %-40s %s\n", s.flag, s.value, source)
	}
	return nil
}
