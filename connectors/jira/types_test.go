package jira

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/config"
)

func TestReleaseDate(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		json    string
		want    string
		wantErr bool
	}{
		{name: "ISO date", json: `{"id":"1","releaseDate":"2010-07-06","userReleaseDate":"6/Jul/2010"}`, want: "2010-07-06"},
		{name: "no date", json: `{"id":"1","released":false}`, want: ""},
		{name: "null", json: `{"id":"1","releaseDate":null}`, want: ""},
		// The published Cloud list example: epoch ms, 2010-07-06T03:04:42Z.
		{name: "epoch milliseconds in the zone", json: `{"id":"1","releaseDate":1278385482288}`, want: "2010-07-06"},
		// The locale-formatted userReleaseDate is never read.
		{name: "only userReleaseDate", json: `{"id":"1","userReleaseDate":"15/Jan/11"}`, want: ""},
		{name: "not ISO", json: `{"id":"1","releaseDate":"15/Jan/11"}`, wantErr: true},
		{name: "impossible day", json: `{"id":"1","releaseDate":"2026-02-30"}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v version
			if err := json.Unmarshal([]byte(tt.json), &v); err != nil {
				t.Fatal(err)
			}
			got, err := v.releaseDate(berlin)
			if (err != nil) != tt.wantErr {
				t.Fatalf("releaseDate = %v, %v; wantErr %v", got, err, tt.wantErr)
			}
			if got.String() != tt.want {
				t.Errorf("releaseDate = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestJiraTime(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: `"2019-02-15T19:11:18.321-0800"`, want: time.Date(2019, 2, 16, 3, 11, 18, 321e6, time.UTC)},
		{in: `"2016-03-16T04:22:37.356+0000"`, want: time.Date(2016, 3, 16, 4, 22, 37, 356e6, time.UTC)},
		{in: `"2026-03-10T12:00:00Z"`, want: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)},
		{in: `null`},
		{in: `"15/Jan/11 4:22 AM"`, wantErr: true},
		{in: `1278385482288`, wantErr: true},
	}
	for _, tt := range tests {
		var got jiraTime
		err := json.Unmarshal([]byte(tt.in), &got)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("%s = %v, want %v", tt.in, got.Time, tt.want)
		}
	}
}

func TestRichText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "wiki markup", in: `"h1. Plan\nCommitted: 2026-12-01"`, want: "h1. Plan\nCommitted: 2026-12-01"},
		{name: "null", in: `null`, want: ""},
		{name: "document", in: `{"type":"doc","version":1,"content":[
			{"type":"heading","attrs":{"level":1},"content":[{"type":"text","text":"Plan"}]},
			{"type":"paragraph","content":[{"type":"text","text":"Committed: "},{"type":"text","text":"2026-12-01","marks":[{"type":"strong"}]}]},
			{"type":"bulletList","content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"ask "},{"type":"mention","attrs":{"id":"1","text":"@Jane"}}]}]}]},
			{"type":"paragraph","content":[{"type":"text","text":"line one"},{"type":"hardBreak"},{"type":"text","text":"line two"}]}]}`,
			want: "Plan\nCommitted: 2026-12-01\nask @Jane\nline one\nline two"},
		// An example or a quotation is no promise: the core skips {code}
		// and {quote} as it does in wiki markup.
		{name: "code and quote", in: `{"type":"doc","version":1,"content":[
			{"type":"codeBlock","attrs":{"language":"text"},"content":[{"type":"text","text":"Committed: 2020-01-01\nmore"}]},
			{"type":"blockquote","content":[{"type":"paragraph","content":[{"type":"text","text":"Committed: 2021-01-01"}]}]},
			{"type":"paragraph","content":[{"type":"text","text":"Committed: 2026-12-01"}]}]}`,
			want: "{code}\nCommitted: 2020-01-01\nmore\n{code}\n{quote}\nCommitted: 2021-01-01\n{quote}\nCommitted: 2026-12-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got richText
			if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIssueDone(t *testing.T) {
	var f issueFields
	if err := json.Unmarshal([]byte(`{"status":{"statusCategory":{"key":"indeterminate"}},"resolutiondate":null}`), &f); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.done(); ok {
		t.Error("an issue in progress is done")
	}
}

func TestStripOrderBy(t *testing.T) {
	tests := map[string]string{
		"issuetype = Epic AND duedate is not EMPTY":                         "issuetype = Epic AND duedate is not EMPTY",
		"issuetype = Epic ORDER BY duedate ASC":                             "issuetype = Epic",
		"issuetype = Epic order by rank":                                    "issuetype = Epic",
		`summary ~ "order by" AND issuetype = Epic`:                         `summary ~ "order by" AND issuetype = Epic`,
		`issuetype = Epic AND labels in ("a") ORDER BY cf[10011] DESC, key`: `issuetype = Epic AND labels in ("a")`,
	}
	for in, want := range tests {
		if got := stripOrderBy(in); got != want {
			t.Errorf("stripOrderBy(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQuote(t *testing.T) {
	if got := quote(`a "b" \c`); got != `"a \"b\" \\c"` {
		t.Errorf("quote = %s", got)
	}
}

func TestEndpoint(t *testing.T) {
	tests := map[string]string{
		"/rest/api/2/issue/PLAT-12/comment":                        "/rest/api/2/issue/{key}/comment",
		"/rest/api/2/issue/PLAT-12/comment/10001":                  "/rest/api/2/issue/{key}/comment/{id}",
		"/rest/api/2/comment/10001/properties/slipwatch":           "/rest/api/2/comment/{id}/properties/{property}",
		"/ex/jira/cloud-1/rest/api/2/version/10010":                "/rest/api/2/version/{id}",
		"/jira/rest/api/2/project/PLAT/versions":                   "/rest/api/2/project/{key}/versions",
		"/rest/api/3/search/jql":                                   "/rest/api/3/search/jql",
		"/secure/Dashboard.jspa":                                   "other",
		"/rest/api/2/issue":                                        "/rest/api/2/issue",
		"/rest/api/2/a/b/c/d/e/f/g/h/i/j":                          "/rest/api/2/a/b/c/d/e/…",
		"/rest/api/2/issue/PLAT-12/properties/slipwatch/extra/bit": "/rest/api/2/issue/{key}/properties/{property}/extra/…",
	}
	for in, want := range tests {
		if got := endpoint(httptest.NewRequest("GET", in, nil)); got != want {
			t.Errorf("endpoint(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	f := newFakeJira(t, true)
	cfg := testConfig(f)
	cfg.Auth = config.Auth{}
	if _, err := New(cfg, Options{}); err == nil || !strings.Contains(err.Error(), "jira.auth") {
		t.Errorf("New without auth = %v", err)
	}
	cfg = testConfig(f)
	cfg.BaseURL = "acme.atlassian.net"
	if _, err := New(cfg, Options{}); err == nil || !strings.Contains(err.Error(), "jira.base_url") {
		t.Errorf("New with a bare host = %v", err)
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New(nil) succeeded")
	}
}
