// Package pgtest gives tests a fresh, empty PostgreSQL database. It starts one throwaway
// cluster per test binary with Debian's initdb and pg_ctl (under /usr/lib/postgresql/*/bin),
// listening on 127.0.0.1 on a free port with its data in a temporary directory, or uses the
// server named by CLINK_TEST_POSTGRES. Each call to DSN creates a new database.
//
// When PostgreSQL is not available the calling test is skipped with the reason, unless
// CLINK_REQUIRE_POSTGRES=1, which turns the skip into a failure (CI sets it).
//
// A package using DSN calls Main from its TestMain, which stops the cluster and removes its
// directory when the tests are done:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Environment variables read by the package.
const (
	// EnvServer names an existing server (a postgres:// URL) to create test databases on
	// instead of starting a cluster. Its user must be allowed to CREATE DATABASE.
	EnvServer = "CLINK_TEST_POSTGRES"
	// EnvRequire set to 1 makes a missing PostgreSQL a test failure instead of a skip.
	EnvRequire = "CLINK_REQUIRE_POSTGRES"
)

// dirPrefix names the temporary directories of clusters, so that stale ones can be found.
const dirPrefix = "clink-pgtest-"

var (
	startOnce sync.Once
	srv       *server // the server databases are created on, nil when unavailable
	srvErr    error   // why there is no server

	mu      sync.Mutex
	created int // databases created so far, to name the next one
)

// server is a PostgreSQL server that tests create databases on.
type server struct {
	admin    *url.URL // connects to the maintenance database "postgres"
	external bool     // named by EnvServer: databases are dropped after each test

	// A cluster this package started.
	bin  string // directory of initdb, pg_ctl, pg_isready
	dir  string // temporary directory: data/, logfile, owner.pid, socket
	cred *syscall.Credential
}

// DSN returns the URL of a fresh, empty database. The database lives until the cluster is
// stopped by Main (or, on the server of CLINK_TEST_POSTGRES, until the test ends).
func DSN(tb testing.TB) string {
	tb.Helper()
	startOnce.Do(func() { srv, srvErr = start() })
	if srv == nil {
		msg := fmt.Sprintf("pgtest: PostgreSQL is not available: %v", srvErr)
		if os.Getenv(EnvRequire) == "1" {
			tb.Fatalf("%s (%s=1 requires it)", msg, EnvRequire)
		}
		tb.Skipf("%s; set %s to a server URL or install PostgreSQL (%s=1 makes this a failure)", msg, EnvServer, EnvRequire)
	}
	mu.Lock()
	created++
	name := fmt.Sprintf("clink_test_%d_%d", os.Getpid(), created)
	mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", srv.admin.String())
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	defer db.Close()
	// The name is ours (digits and underscores), never user input.
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	if srv.external {
		tb.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			db, err := sql.Open("pgx", srv.admin.String())
			if err != nil {
				return
			}
			defer db.Close()
			if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
				tb.Logf("pgtest: drop database %s: %v", name, err)
			}
		})
	}
	u := *srv.admin
	u.Path = "/" + name
	return u.String()
}

// Main runs the tests, then stops the cluster that DSN started and removes its directory, and
// exits with the tests' status.
func Main(m *testing.M) {
	code := m.Run()
	if srv != nil && srv.dir != "" {
		if err := srv.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		}
	}
	os.Exit(code)
}

// start finds a server: EnvServer, or a new cluster.
func start() (*server, error) {
	if v := os.Getenv(EnvServer); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return nil, fmt.Errorf("%s is not a postgres:// URL", EnvServer)
		}
		u.Path = "/postgres"
		return &server{admin: u, external: true}, nil
	}
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	cred, owner, err := credential()
	if err != nil {
		return nil, err
	}
	removeStale(bin, cred)
	var last error
	for attempt := 0; attempt < 3; attempt++ { // a port taken between probe and start: retry
		s, err := startCluster(bin, cred, owner)
		if err == nil {
			return s, nil
		}
		last = err
	}
	return nil, last
}

// findBin returns the newest Debian PostgreSQL bin directory, or the one of initdb on PATH.
func findBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", errors.New("no initdb and pg_ctl under /usr/lib/postgresql/*/bin or on PATH")
}

func versionOf(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// credential returns who runs the cluster: PostgreSQL refuses to run as root, so as root it is
// the "postgres" system user (uid and gid for chown as owner), otherwise the current user.
func credential() (*syscall.Credential, *user.User, error) {
	if os.Geteuid() != 0 {
		return nil, nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, nil, fmt.Errorf("running as root and there is no postgres user to run the cluster as: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, nil, fmt.Errorf("user postgres has a non-numeric uid %q or gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, u, nil
}

// command prepares a PostgreSQL program to run as the cluster's user in dir.
func command(cred *syscall.Credential, dir, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	env := []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "TZ=UTC"}
	if cred != nil {
		env = append(env, "HOME="+dir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	} else {
		env = append(env, "HOME="+os.Getenv("HOME"))
	}
	cmd.Env = env
	return cmd
}

// startCluster initialises and starts a cluster on a free loopback port.
func startCluster(bin string, cred *syscall.Credential, owner *user.User) (s *server, err error) {
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	s = &server{bin: bin, dir: dir, cred: cred}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("chown %s to %s: %w", dir, owner.Username, err)
		}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	out, err := command(cred, dir, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
		"--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, lastLines(string(out), 10))
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// Throwaway data: durability settings off for speed. Unix sockets go in the cluster's own
	// directory, since /var/run/postgresql may not exist or be writable.
	conf := fmt.Sprintf("\n# pgtest\nlisten_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\n"+
		"fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n", port, dir)
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	_, werr := f.WriteString(conf)
	if err := errors.Join(werr, f.Close()); err != nil {
		return nil, err
	}
	logfile := filepath.Join(dir, "logfile")
	out, err = command(cred, dir, filepath.Join(bin, "pg_ctl"), "-D", data, "-l", logfile, "-w", "-t", "120", "start").CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(logfile)
		return nil, fmt.Errorf("pg_ctl start: %v: %s %s", err, lastLines(string(out), 5), lastLines(string(log), 10))
	}
	s.admin = &url.URL{Scheme: "postgres", User: url.User("postgres"), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Path: "/postgres", RawQuery: "sslmode=disable"}
	if err := s.waitReady(120 * time.Second); err != nil {
		log, _ := os.ReadFile(logfile)
		return nil, fmt.Errorf("%v: %s", err, lastLines(string(log), 10))
	}
	return s, nil
}

// waitReady connects until the server answers or the time is up.
func (s *server) waitReady(limit time.Duration) error {
	db, err := sql.Open("pgx", s.admin.String())
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server did not answer within %v: %w", limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop stops the cluster, if it runs, and removes its directory.
func (s *server) stop() error {
	var err error
	data := filepath.Join(s.dir, "data")
	if _, statErr := os.Stat(filepath.Join(data, "postmaster.pid")); statErr == nil {
		out, e := command(s.cred, s.dir, filepath.Join(s.bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop").CombinedOutput()
		if e != nil {
			err = fmt.Errorf("pg_ctl stop: %v: %s", e, lastLines(string(out), 5))
		}
	}
	return errors.Join(err, os.RemoveAll(s.dir))
}

// removeStale stops and removes the clusters of test binaries that died without Main's
// clean-up (killed, or a package without TestMain).
func removeStale(bin string, cred *syscall.Credential) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		(&server{bin: bin, dir: dir, cred: cred}).stop()
	}
}

// processAlive reports whether a process with the pid exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lastLines returns the last n lines of s, for error messages.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
