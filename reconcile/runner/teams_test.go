package runner

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

// discoveringTracker finds its teams (as jira.projects: ["*"] does): each
// Discover makes the next list of teams (or fails) current.
type discoveringTracker struct {
	*fakeTracker
	dmu       sync.Mutex
	found     []string
	next      [][]string // what each Discover finds, in turn; nil: a failure
	discovers int
}

func (d *discoveringTracker) Discover(context.Context) ([]string, error) {
	d.dmu.Lock()
	defer d.dmu.Unlock()
	d.discovers++
	if len(d.next) == 0 {
		return nil, nil
	}
	n := d.next[0]
	d.next = d.next[1:]
	if n == nil {
		return nil, errors.New("403 Forbidden")
	}
	d.found = n
	return n, nil
}

// DiscoverEvery is an hour: the test's clock moves an hour between polls.
func (d *discoveringTracker) DiscoverEvery() time.Duration { return time.Hour }

func (d *discoveringTracker) Discoveries() []connectors.Discovery {
	d.dmu.Lock()
	defer d.dmu.Unlock()
	found := connectors.Discovery{Pattern: "acme/*", Teams: len(d.found), Noun: "repositories"}
	if d.found != nil {
		found.At = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	}
	return []connectors.Discovery{found}
}

func (d *discoveringTracker) Teams() []string {
	d.dmu.Lock()
	defer d.dmu.Unlock()
	return slices.Clone(d.found)
}

// The poll asks a discovering connector to find its teams first when that
// is due, and lists each team found; a failed discovery keeps those found
// before. Check and /readyz name them.
func TestPollDiscoversTeams(t *testing.T) {
	needRedis(t)
	t.Parallel()
	d := &discoveringTracker{fakeTracker: newFake(), next: [][]string{{"acme/api", "acme/web"}, nil}}
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	st := store.New(srv.Client(t), srv.Prefix(t), store.Options{})
	r, err := New([]Connector{d}, st, reconcile.Settings{Location: time.UTC, Window: 42, Trials: 100, Confidence: 0.85, MinSamples: 5},
		Options{Owner: "A", Now: clk.Now, PollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	r.PollOnce(ctx)
	if got := polledTeams(t, st); !slices.Equal(got, []string{"github:acme/api", "github:acme/web"}) {
		t.Errorf("first poll enqueued %v", got)
	}
	time.Sleep(150 * time.Millisecond) // past the poll leases (Redis keeps real time)
	clk.Add(time.Hour)                 // and the next discovery is due
	r.PollOnce(ctx)                    // the discovery fails: the teams found stay
	if d.discovers != 2 {
		t.Errorf("%d discoveries for two polls, want 2", d.discovers)
	}
	if got := polledTeams(t, st); !slices.Equal(got, []string{"github:acme/api", "github:acme/web"}) {
		t.Errorf("after a failed discovery the poll enqueued %v, want both teams again", got)
	}

	clk.Add(time.Hour)
	res := r.Check(ctx, false)
	if diff := cmp.Diff([]string{"acme/api", "acme/web"}, res.Teams["github"]); diff != "" {
		t.Errorf("check's teams (-want +got):\n%s", diff)
	}
	if err := r.Authenticate(ctx); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	r.Handler(nil).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "watching github (2): acme/api, acme/web\n") ||
		!strings.Contains(w.Body.String(), "github acme/*: 2 repositories\n") {
		t.Errorf("readyz: %d %q", w.Code, w.Body.String())
	}
}

// polledTeams takes the keys on the stream, in order.
func polledTeams(t *testing.T, st *store.Store) []string {
	t.Helper()
	ctx := context.Background()
	msgs, err := st.Read(ctx, "T", 100, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, m := range msgs {
		keys = append(keys, m.Key)
		if err := st.Ack(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}
