package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	nethttp "net/http"
	"time"

	"github.com/clink-consortium/clink/http"
	"github.com/clink-consortium/clink/sqldb"
)

func (m *Main) runServe(ctx context.Context, args []string) error {
	cfg := m.defaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.serverFlags(fs)
	if err := m.parseConfig(fs, &cfg, args, false); err != nil {
		return err
	}
	store, err := m.openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := requireAdmin(ctx, cfg, store); err != nil {
		return err
	}
	return m.serve(ctx, cfg, store)
}

// requireAdmin refuses to serve a database without an enabled admin, and says how to make one.
func requireAdmin(ctx context.Context, cfg Config, store *sqldb.Store) error {
	n, err := store.CountAdmins(ctx)
	if err != nil {
		return fmt.Errorf("count admins: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("the database %s has no enabled admin, so nobody could administer it; create one first:\n"+
			"  clink user add --admin --db %s --username NAME --name \"Full Name\" --email EMAIL\n"+
			"with the password in CLINK_PASSWORD or on standard input", maskDSN(cfg.DB), maskDSN(cfg.DB))
	}
	return nil
}

// openStore opens the configured database and applies pending migrations.
func (m *Main) openStore(ctx context.Context, cfg Config) (*sqldb.Store, error) {
	store, err := sqldb.Open(ctx, cfg.DB)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", maskDSN(cfg.DB), err)
	}
	if err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("migrate database %s: %w", maskDSN(cfg.DB), err)
	}
	return store, nil
}

// serve listens on cfg.Addr and serves until ctx is cancelled, then shuts down gracefully:
// requests in flight finish, new ones are refused.
func (m *Main) serve(ctx context.Context, cfg Config, store *sqldb.Store) error {
	logger := cfg.logger(m.Stderr)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	api := http.NewServer(store, http.Options{Logger: logger, SessionIdle: cfg.SessionIdle, MaxFCSBytes: cfg.MaxFCSBytes,
		Manufacturing: cfg.manufacturing(), TLS: cfg.TLSCert != ""})
	// The dashboard's scoreboard takes about 0.4 s on a large database: start it now, so that
	// the first visit finds it ready.
	api.WarmRankings(ctx)
	srv := &nethttp.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	url := "http://" + ln.Addr().String()
	if cfg.TLSCert != "" {
		url = "https://" + ln.Addr().String()
	}
	logger.Info("clink listening", "url", url, "config", cfg.String())
	fmt.Fprintf(m.Stdout, "CLINK is running at %s (sign in: %s/login, API: %s/api/v1/)\n", url, url, url)
	if m.Ready != nil {
		m.Ready <- url
	}
	errc := make(chan error, 1)
	go func() {
		if cfg.TLSCert != "" {
			errc <- srv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, nethttp.ErrServerClosed) {
		return err
	}
	return nil
}
