package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

// buildSlipwatch builds cmd/slipwatch as a user would (go build) into dir.
func buildSlipwatch(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	if root == "." || root == "" {
		return "", errors.New("not inside the slipwatch module")
	}
	bin := filepath.Join(dir, "slipwatch")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/slipwatch")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/slipwatch: %w\n%s", err, out)
	}
	return bin, nil
}

// daemonRun is one start of the slipwatch binary.
type daemonRun struct {
	Records      int
	Ready        time.Duration // exec → first /readyz 200
	Listed       int           // commitments /api/v1/commitments returned
	ListTook     time.Duration
	RSS, PeakRSS float64 // bytes, after listing
}

// memoryResult is the memory-and-start section's and the Redis part of
// the scale model's figures.
type memoryResult struct {
	Empty, Loaded daemonRun
	// Redis: MEMORY USAGE summed over the keys the loaded records use,
	// the JSON they hold, and used_memory before and after loading.
	RedisKeys    int
	RedisBytes   int64
	JSONBytes    int64
	UsedBefore   int64
	UsedAfter    int64
	RedisRecords int
}

// measureDaemon starts the built binary twice, each time against a new
// redis-server: once empty (the baseline), once pre-loaded with the
// records through the store API.
func measureDaemon(ctx context.Context, bin string, records []commitment) (memoryResult, error) {
	var res memoryResult
	gh := githubtest.New(nil)
	defer gh.Close()
	// One watched repo with nothing in it: the start-up poll costs little.
	gh.AddIssue("acme/idle", githubtest.Issue{Title: "hello", CreatedAt: time.Now()})
	empty, _, err := startOnce(ctx, bin, gh, nil, false)
	if err != nil {
		return res, err
	}
	loaded, mem, err := startOnce(ctx, bin, gh, records, true)
	if err != nil {
		return res, err
	}
	mem.Empty, mem.Loaded, mem.RedisRecords = empty, loaded, len(records)
	return mem, nil
}

func startOnce(ctx context.Context, bin string, gh *githubtest.Server, recs []commitment, measureRedis bool) (daemonRun, memoryResult, error) {
	run := daemonRun{Records: len(recs)}
	var mem memoryResult
	rs, err := startRedis(ctx)
	if err != nil {
		return run, mem, err
	}
	defer rs.Stop()
	rdb := rs.Client()
	defer rdb.Close()
	if measureRedis {
		if mem.UsedBefore, err = usedMemory(ctx, rdb); err != nil {
			return run, mem, err
		}
	}
	if err := preload(ctx, rdb, config.DefaultRedisPrefix, recs); err != nil {
		return run, mem, err
	}
	if measureRedis {
		if mem.UsedAfter, err = usedMemory(ctx, rdb); err != nil {
			return run, mem, err
		}
		if mem.RedisKeys, mem.RedisBytes, err = memoryUsage(ctx, rdb, config.DefaultRedisPrefix+"*"); err != nil {
			return run, mem, err
		}
		for _, c := range recs {
			mem.JSONBytes += int64(len(c.data))
		}
	}

	dir, err := os.MkdirTemp("", "slipbench-daemon-")
	if err != nil {
		return run, mem, err
	}
	defer os.RemoveAll(dir)
	port, err := freePort()
	if err != nil {
		return run, mem, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cfg := fmt.Sprintf(`redis:
  url: redis://%s/0
server:
  listen: "%s"
  shutdown_grace: 5s
log:
  level: warn
github:
  base_url: %s
  token: ${GITHUB_TOKEN}
  webhook_secret: ${GITHUB_WEBHOOK_SECRET}
  repos: [acme/idle]
`, rs.Addr, addr, gh.URL)
	cfgPath := filepath.Join(dir, "slipwatch.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return run, mem, err
	}
	var stderr lockedBuffer
	cmd := exec.Command(bin, "run", "--config", cfgPath)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GITHUB_TOKEN=slipbench-token", "GITHUB_WEBHOOK_SECRET=" + webhookSecret}
	cmd.Stderr = &stderr
	client := &http.Client{Transport: loopback(2), Timeout: 30 * time.Second}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return run, mem, fmt.Errorf("start slipwatch: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		select {
		case <-exited:
			return
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	for {
		if resp, err := client.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				run.Ready = time.Since(start)
				break
			}
		}
		select {
		case err := <-exited:
			return run, mem, fmt.Errorf("slipwatch exited before ready: %v\n%s", err, stderr.String())
		case <-ctx.Done():
			return run, mem, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
		if time.Since(start) > 30*time.Second {
			return run, mem, fmt.Errorf("slipwatch not ready after 30 s:\n%s", stderr.String())
		}
	}
	t := time.Now()
	resp, err := client.Get("http://" + addr + "/api/v1/commitments")
	if err != nil {
		return run, mem, fmt.Errorf("list commitments: %w", err)
	}
	var body struct {
		Commitments []json.RawMessage `json:"commitments"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil {
		return run, mem, fmt.Errorf("list commitments: %w", err)
	}
	run.ListTook = time.Since(t)
	run.Listed = len(body.Commitments)
	if run.RSS, run.PeakRSS, err = rss(cmd.Process.Pid); err != nil {
		return run, mem, err
	}
	return run, mem, nil
}

// preload writes the records through the store API, as the daemon does.
func preload(ctx context.Context, rdb redis.UniversalClient, prefix string, recs []commitment) error {
	st := store.New(rdb, prefix, store.Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < len(recs); i += 8 {
				if _, err := st.PutRecord(ctx, recs[i].key, recs[i].data, 0); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// rss reads the resident and peak resident set of pid, in bytes.
func rss(pid int) (cur, peak float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("read RSS: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			cur = kb * 1024
		case "VmHWM:":
			peak = kb * 1024
		}
	}
	if cur == 0 {
		return 0, 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return cur, peak, nil
}

func usedMemory(ctx context.Context, rdb redis.UniversalClient) (int64, error) {
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, errors.New("no used_memory in INFO memory")
}

// memoryUsage sums MEMORY USAGE (all samples) over the keys matching
// pattern.
func memoryUsage(ctx context.Context, rdb redis.UniversalClient, pattern string) (keys int, bytes int64, err error) {
	iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		n, err := rdb.MemoryUsage(ctx, iter.Val(), 0).Result()
		if err != nil {
			return 0, 0, fmt.Errorf("MEMORY USAGE %s: %w", iter.Val(), err)
		}
		keys++
		bytes += n
	}
	return keys, bytes, iter.Err()
}

// lockedBuffer collects a child's stderr safely.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 1<<16 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func memorySection(r memoryResult) section {
	e, l := r.Empty, r.Loaded
	return section{
		Title: "Memory and start",
		Intro: fmt.Sprintf("`go build ./cmd/slipwatch`, then `slipwatch run` against its own redis-server, pre-loaded through the store API "+
			"with %s commitment records (the baseline: an empty Redis, same binary, same run). Ready = exec to the first `/readyz` 200 "+
			"(Redis reachable, GitHub authenticated on the sandbox). RSS = VmRSS from /proc after `GET /api/v1/commitments` has "+
			"read and returned every record (%s listed in %s).", commas(int64(l.Records)), commas(int64(l.Listed)), ms(l.ListTook)),
		Rows: []row{
			{Measure: fmt.Sprintf("RSS with %s commitments listed", commas(int64(l.Records))), Value: mib(l.RSS), Baseline: mib(e.RSS) + " (empty)",
				Ratio: ratio(l.RSS, e.RSS), Target: "≤ 100 MiB at 10,000", Verdict: verdict(l.RSS <= 100<<20)},
			{Measure: "peak RSS (VmHWM)", Value: mib(l.PeakRSS), Baseline: mib(e.PeakRSS) + " (empty)", Ratio: ratio(l.PeakRSS, e.PeakRSS)},
			{Measure: "start → /readyz 200", Value: ms(l.Ready), Baseline: ms(e.Ready) + " (empty)", Ratio: ratio(float64(l.Ready), float64(e.Ready)),
				Target: "< 1 s", Verdict: verdict(l.Ready > 0 && l.Ready < time.Second)},
		},
	}
}
