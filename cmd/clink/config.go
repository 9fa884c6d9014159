package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/gmp"
	"github.com/clink-consortium/clink/manufacturing"
	"github.com/clink-consortium/clink/sqldb"
)

func osGetenv(k string) string { return os.Getenv(k) }

// Default configuration values.
const (
	DefaultAddr = "localhost:8080"
	DefaultDB   = "./clink-data/clink.db"
)

// Config is CLINK's configuration: defaults, overridden by CLINK_* environment variables,
// overridden by flags.
type Config struct {
	// Addr is the host:port the server listens on.
	Addr string
	// DB is a SQLite file path or a postgres:// URL.
	DB string
	// LogFormat is "text" or "json".
	LogFormat string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// SessionIdle is how long a web session lasts unused (1m to 24h; default 30m).
	SessionIdle time.Duration
	// MaxFCSBytes bounds the FCS files of one upload, in bytes: the server's request body of
	// files, and each file of clink fcs attach (1 to sqldb.MaxFCSBytes; default
	// clink.DefaultMaxFCSBytes, 512 MiB).
	MaxFCSBytes int64
	// Facility is the ISBT 128 Facility Identification Number of the GMP unit's DINs, and
	// ProductCode the 5-character product description code of its product (gmp.md §2).
	Facility    string
	ProductCode string
	// TLSCert and TLSKey are the PEM files of the server's certificate and key; with both,
	// the server speaks HTTPS only and sends Strict-Transport-Security.
	TLSCert, TLSKey string

	// envProblems are the CLINK_* variables that could not be read, reported by Validate.
	envProblems []string
}

// defaultConfig returns the defaults overridden by the environment.
func (m *Main) defaultConfig() Config {
	c := Config{Addr: DefaultAddr, DB: DefaultDB, LogFormat: "text", LogLevel: "info", SessionIdle: clink.DefaultSessionIdle,
		MaxFCSBytes: clink.DefaultMaxFCSBytes, Facility: manufacturing.DefaultConfig.Facility, ProductCode: manufacturing.DefaultConfig.ProductDescription}
	for env, dst := range map[string]*string{
		"CLINK_ADDR": &c.Addr, "CLINK_DB": &c.DB, "CLINK_LOG_FORMAT": &c.LogFormat, "CLINK_LOG_LEVEL": &c.LogLevel,
		"CLINK_FACILITY": &c.Facility, "CLINK_PRODUCT_CODE": &c.ProductCode,
		"CLINK_TLS_CERT": &c.TLSCert, "CLINK_TLS_KEY": &c.TLSKey,
	} {
		if v := m.Getenv(env); v != "" {
			*dst = v
		}
	}
	if v := m.Getenv("CLINK_SESSION_IDLE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			c.envProblems = append(c.envProblems, fmt.Sprintf("CLINK_SESSION_IDLE: %q is not a duration such as 30m or 2h", v))
		} else {
			c.SessionIdle = d
		}
	}
	if v := m.Getenv("CLINK_MAX_FCS_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			c.envProblems = append(c.envProblems, fmt.Sprintf("CLINK_MAX_FCS_BYTES: %q is not a whole number of bytes", v))
		} else {
			c.MaxFCSBytes = n
		}
	}
	return c
}

// dbFlag registers --db on fs.
func (c *Config) dbFlag(fs *flag.FlagSet) {
	fs.StringVar(&c.DB, "db", c.DB, "database: a SQLite file path or a postgres:// URL (env CLINK_DB)")
}

// facilityFlags registers the manufacturing flags on fs.
func (c *Config) facilityFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Facility, "facility", c.Facility, "the GMP unit's ISBT 128 facility identification number, e.g. G1234 (env CLINK_FACILITY)")
	fs.StringVar(&c.ProductCode, "product-code", c.ProductCode, "the product description code of its NK cell product, e.g. S0001 (env CLINK_PRODUCT_CODE)")
}

// manufacturing returns the manufacturing configuration.
func (c Config) manufacturing() manufacturing.Config {
	return manufacturing.Config{Facility: c.Facility, ProductDescription: c.ProductCode}
}

// serverFlags registers the flags of the server commands on fs.
func (c *Config) serverFlags(fs *flag.FlagSet) {
	c.dbFlag(fs)
	fs.StringVar(&c.Addr, "addr", c.Addr, "address to listen on, host:port (env CLINK_ADDR)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json (env CLINK_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn, error (env CLINK_LOG_LEVEL)")
	fs.DurationVar(&c.SessionIdle, "session-idle", c.SessionIdle, "how long a web session lasts unused, 1m to 24h (env CLINK_SESSION_IDLE)")
	c.facilityFlags(fs)
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "PEM certificate file: serve HTTPS (with --tls-key; env CLINK_TLS_CERT)")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "PEM private key file of --tls-cert (env CLINK_TLS_KEY)")
	fs.Int64Var(&c.MaxFCSBytes, "max-fcs-bytes", c.MaxFCSBytes, fmt.Sprintf("the largest FCS upload, all files of a request together, in bytes, 1 to %d (env CLINK_MAX_FCS_BYTES)", sqldb.MaxFCSBytes))
}

// Validate checks the configuration before anything starts.
func (c Config) Validate() error {
	problems := append([]string(nil), c.envProblems...)
	if c.DB == "" {
		problems = append(problems, "db: is empty")
	} else if isPostgres(c.DB) {
		if _, err := url.Parse(c.DB); err != nil {
			problems = append(problems, "db: not a valid postgres URL")
		}
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		problems = append(problems, fmt.Sprintf("addr: %q is not host:port", c.Addr))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		problems = append(problems, fmt.Sprintf("log-format: %q is not text or json", c.LogFormat))
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		problems = append(problems, fmt.Sprintf("log-level: %q is not debug, info, warn or error", c.LogLevel))
	}
	if err := clink.CheckSessionIdle(c.SessionIdle); err != nil {
		problems = append(problems, fmt.Sprintf("session-idle: %s is not between 1m and 24h", c.SessionIdle))
	}
	if c.MaxFCSBytes < 1 || c.MaxFCSBytes > sqldb.MaxFCSBytes {
		problems = append(problems, fmt.Sprintf("max-fcs-bytes: %d is not between 1 and %d (what the database keeps)", c.MaxFCSBytes, sqldb.MaxFCSBytes))
	}
	if err := gmp.ValidateFIN(c.Facility); err != nil {
		problems = append(problems, fmt.Sprintf("facility: %q: %s", c.Facility, fieldMessages(err)))
	}
	if _, err := gmp.NewProductCode(c.ProductCode, gmp.CollectionVolunteerAllogeneic, gmp.Undivided); err != nil {
		problems = append(problems, fmt.Sprintf("product-code: %q: %s", c.ProductCode, fieldMessages(err)))
	}
	switch {
	case (c.TLSCert == "") != (c.TLSKey == ""):
		problems = append(problems, "tls-cert and tls-key: give both or neither")
	case c.TLSCert != "":
		if _, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey); err != nil {
			problems = append(problems, fmt.Sprintf("tls-cert, tls-key: %v", err))
		}
	}
	if len(problems) > 0 {
		return usageError("configuration: " + strings.Join(problems, "; "))
	}
	return nil
}

// String prints the configuration with the database password masked.
func (c Config) String() string {
	return fmt.Sprintf("addr=%s db=%s log-format=%s log-level=%s session-idle=%s max-fcs-bytes=%d facility=%s product-code=%s tls=%v",
		c.Addr, maskDSN(c.DB), c.LogFormat, c.LogLevel, c.SessionIdle, c.MaxFCSBytes, c.Facility, c.ProductCode, c.TLSCert != "")
}

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// maskDSN hides the password of a postgres URL.
func maskDSN(dsn string) string {
	if !isPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparseable)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

func (c Config) logger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
