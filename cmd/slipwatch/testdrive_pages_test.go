package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTestdriveKeepServesPages: `testdrive --keep` prints the dashboard's
// URL and serves the story's three milestones there (and the one the team
// delivered before it, whose history gives the forecast its pace) until
// interrupted.
func TestTestdriveKeepServesPages(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t, "")
	cmd := exec.Command(bin, "testdrive", "--keep")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"HTTP_PROXY=http://127.0.0.1:1", "HTTPS_PROXY=http://127.0.0.1:1", "NO_PROXY="}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	urlRE := regexp.MustCompile(`The dashboard is at (http://127\.0\.0\.1:[0-9]+/) `)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := urlRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	var base string
	select {
	case base = <-found:
	case <-time.After(3 * time.Minute):
		t.Fatal("testdrive --keep printed no dashboard URL")
	}

	client := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}
	get := func(path string) string {
		t.Helper()
		resp, err := client.Get(base + strings.TrimPrefix(path, "/"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	page := get("/")
	for _, s := range []string{">v1.8 Search</a>", ">v2.0 Billing</a>", ">v2.1 Mobile</a>", ">v1.7 Onboarding</a>", "4 of 4 commitments",
		"delivered on time", "delivered late"} {
		if !strings.Contains(page, s) {
			t.Errorf("the portfolio lacks %q", s)
		}
	}
	// Billing's page: its recommitment with the lead's reason, and the
	// burn-up the passes kept.
	id := regexp.MustCompile(`href="commitments/([0-9a-f]+)">v2.0 Billing<`).FindStringSubmatch(page)
	if id == nil {
		t.Fatal("no link to v2.0 Billing's page")
	}
	billing := get("/commitments/" + id[1])
	for _, s := range []string{"payment provider delayed", "lead-jane", `<svg class="chart burnup"`, `class="mark promise-first`, `class="mark delivered`} {
		if !strings.Contains(billing, s) {
			t.Errorf("Billing's page lacks %q", s)
		}
	}
	if tr := get("/track-record"); !strings.Contains(tr, "GitHub acme/api") || !strings.Contains(tr, `<svg class="chart bars"`) {
		t.Error("the track record page lacks the team or its chart")
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("testdrive --keep after Ctrl-C: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("testdrive --keep did not stop on Ctrl-C")
	}
}
