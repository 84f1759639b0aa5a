package charts

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slipwatch/slipwatch/reconcile"
	"github.com/slipwatch/slipwatch/reconcile/runner"
	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// pingStore is a store whose only working methods are Ping and an empty
// RecordKeys: the probes and /metrics touch nothing else (the pages and
// the read API list the records), and a call to anything else panics,
// which would show that they do.
type pingStore struct {
	runner.Store
	err error
}

func (s pingStore) Ping(context.Context) error { return s.err }

func (s pingStore) RecordKeys(context.Context) ([]string, error) { return nil, nil }

// TestProbesHitRealEndpoints asks slipwatch's own HTTP handler for every
// path the chart points Kubernetes, Prometheus and the Ingress at: a path
// renamed in the program without the chart (or the reverse) fails here.
func TestProbesHitRealEndpoints(t *testing.T) {
	m := render(t, []string{"testdata/full.yaml"})
	dep := get[appsv1.Deployment](t, m, "Deployment", fullname)
	ctr := container(t, dep, "slipwatch")
	sm := get[serviceMonitor](t, m, "ServiceMonitor", fullname)
	ing := get[networkingv1.Ingress](t, m, "Ingress", fullname)

	serve := func(t *testing.T, st runner.Store, method, path string) *httptest.ResponseRecorder {
		t.Helper()
		reg := prometheus.NewRegistry()
		r, err := runner.New(nil, st, reconcile.Settings{}, runner.Options{Owner: "chart-test", Metrics: runner.NewMetrics(reg)})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		r.Handler(reg).ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader("{}")))
		return rec
	}
	healthy, redisDown := pingStore{}, pingStore{err: errors.New("connection refused")}

	t.Run("liveness", func(t *testing.T) {
		// Liveness must not depend on Redis: a Redis outage would
		// otherwise restart every pod.
		for _, st := range []pingStore{healthy, redisDown} {
			if rec := serve(t, st, http.MethodGet, ctr.LivenessProbe.HTTPGet.Path); rec.Code != http.StatusOK {
				t.Errorf("GET %s (redis error %v) = %d, want 200", ctr.LivenessProbe.HTTPGet.Path, st.err, rec.Code)
			}
		}
	})
	t.Run("readiness", func(t *testing.T) {
		path := ctr.ReadinessProbe.HTTPGet.Path
		if rec := serve(t, healthy, http.MethodGet, path); rec.Code != http.StatusOK {
			t.Errorf("GET %s with Redis up = %d, want 200", path, rec.Code)
		}
		if rec := serve(t, redisDown, http.MethodGet, path); rec.Code != http.StatusServiceUnavailable {
			t.Errorf("GET %s with Redis down = %d, want 503", path, rec.Code)
		}
	})
	t.Run("metrics", func(t *testing.T) {
		path := sm.Spec.Endpoints[0].Path
		rec := serve(t, healthy, http.MethodGet, path)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "slipwatch_") {
			t.Errorf("GET %s = %d, without slipwatch_ metrics", path, rec.Code)
		}
	})
	t.Run("pages", func(t *testing.T) {
		// Every path of the pages' Ingress reaches a page or the read API,
		// never the mux's 404.
		dash := get[networkingv1.Ingress](t, m, "Ingress", fullname+"-dashboard")
		for _, r := range dash.Spec.Rules {
			for _, p := range r.HTTP.Paths {
				path := p.Path
				switch path {
				case "/commitments/":
					path += "0123456789abcdef"
				case "/static/":
					path += "dashboard.css"
				case "/api/v1/":
					path += "commitments"
				}
				rec := serve(t, healthy, http.MethodGet, path)
				if rec.Code == http.StatusNotFound && strings.Contains(rec.Body.String(), "404 page not found") || rec.Code == http.StatusMethodNotAllowed {
					t.Errorf("GET %s = %d %q: nothing of slipwatch's there", path, rec.Code, rec.Body.String())
				}
			}
		}
	})
	t.Run("webhooks", func(t *testing.T) {
		// No tracker is configured in this handler, so a webhook path
		// answers the handler's own "not configured", not the mux's 404.
		for _, r := range ing.Spec.Rules {
			for _, p := range r.HTTP.Paths {
				rec := serve(t, healthy, http.MethodPost, p.Path)
				if rec.Code == http.StatusMethodNotAllowed || strings.Contains(rec.Body.String(), "404 page not found") {
					t.Errorf("POST %s = %d %q: no webhook handler there", p.Path, rec.Code, rec.Body.String())
				}
			}
		}
	})
}
