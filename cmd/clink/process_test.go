package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clink-consortium/clink/sqldb"
)

// clinkProcess is a clink command running as its own process (the test binary re-executed as
// clink, see TestMain), so that it can be signalled like a deployed server.
type clinkProcess struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
	done   chan error
}

// startProcess starts clink with args (a server command; --addr 127.0.0.1:0 is added) and
// waits until it listens.
func startProcess(t *testing.T, args ...string) *clinkProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], append(args, "--addr", "127.0.0.1:0")...)
	cmd.Env = append(os.Environ(), "CLINK_TEST_AS_CLINK=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &clinkProcess{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "CLINK is running at "); ok {
				urls <- strings.Fields(rest)[0]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	select {
	case p.url = <-urls:
	case err := <-p.done:
		p.done <- err
		t.Fatalf("clink %s exited before listening: %v\n%s", strings.Join(args, " "), err, p.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("clink %s did not listen within 60 s\n%s", strings.Join(args, " "), p.stderr)
	}
	return p
}

// adminToken creates an API token for the demo admin in db.
func adminToken(t *testing.T, db string) string {
	t.Helper()
	ctx := context.Background()
	s, err := sqldb.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	secret, _, err := s.CreateToken(ctx, "admin", "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// TestGracefulShutdown sends SIGTERM to a serving clink while a slow request (a plan of the
// optimizer, about a second or more) is in flight: the request finishes with its answer, the
// server then refuses new connections, and the process exits 0.
func TestGracefulShutdown(t *testing.T) {
	db := batchDemoDB(t)
	token := adminToken(t, db)
	p := startProcess(t, "serve", "--db", db)
	type answer struct {
		status int
		body   []byte
		err    error
		at     time.Time
	}
	inflight := make(chan answer, 1)
	go func() {
		body := `{"space": "nk-demo", "objectives": ["nk_fold", "lu30"], "batch": 6, "donors": 2, "dependence": true}`
		req, _ := http.NewRequest("POST", p.url+"/api/v1/optimizer/suggestions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			inflight <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		inflight <- answer{resp.StatusCode, b, err, time.Now()}
	}()
	time.Sleep(300 * time.Millisecond) // the request is being served
	signalled := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a := <-inflight
	if a.at.Before(signalled) {
		t.Fatalf("the request was answered before SIGTERM: the test shows nothing (make the request slower)")
	}
	if a.err != nil || a.status != http.StatusOK {
		t.Fatalf("request in flight at SIGTERM: %d %v %.200s; want it answered\n%s", a.status, a.err, a.body, p.stderr)
	}
	var plan struct {
		Suggestions []json.RawMessage `json:"suggestions"`
	}
	if err := json.Unmarshal(a.body, &plan); err != nil || len(plan.Suggestions) != 6 {
		t.Errorf("the plan answered during shutdown: %v, %d suggestions; want 6", err, len(plan.Suggestions))
	}
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Errorf("clink exited with %v after SIGTERM, want 0\n%s", err, p.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("clink did not exit within 30 s of SIGTERM")
	}
	if _, err := http.Get(p.url + "/api/v1/healthz"); err == nil {
		t.Error("a new request after shutdown was answered; want the connection refused")
	}
	if !bytes.Contains([]byte(p.stderr.String()), []byte("shutting down")) {
		t.Errorf("the log does not say it shut down:\n%s", p.stderr)
	}
}
