package apispec_test

import (
	"maps"
	"slices"
	"strconv"
	"testing"

	"github.com/slipwatch/slipwatch/internal/apispec"
	"github.com/slipwatch/slipwatch/internal/apispec/openapi"
)

func specs(t *testing.T) []*openapi.Spec {
	t.Helper()
	var out []*openapi.Spec
	for _, load := range []func() (*openapi.Spec, error){apispec.GitHub, apispec.GHES, apispec.Jira} {
		s, err := load()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// exampleFlaws are the published examples that contradict their own
// description's schema, and how: the checks hold answers to the schema.
var exampleFlaws = map[string][]string{
	// The example's user predates role_name, which the schema requires.
	"github.com repos/get-collaborator-permission-level 200 response-if-user-has-admin-permissions": {`$.user: required property "role_name" is missing`},
	// The example writes releaseDate in epoch milliseconds; the schema
	// (and Jira Cloud) a date string.
	"Jira Cloud platform v3 getProjectVersions 200 example": {`$[0].releaseDate: number 1278385482288, want string`},
	// A text field's change has no ids: the example (like Jira) sends
	// from/to as null, which the schema does not allow (jiratest leaves
	// them out).
	"Jira Cloud platform v3 getChangeLogs 200 example": {
		"$.values[0].items[0].from: null, but the schema does not allow null", "$.values[0].items[0].to: null, but the schema does not allow null",
		"$.values[1].items[0].from: null, but the schema does not allow null", "$.values[1].items[0].to: null, but the schema does not allow null",
	},
}

// TestPublishedExamplesValidate checks the trimmed descriptions and the
// validator together: every example the description publishes for an
// answer the sandboxes give must pass, or the checks would refuse the
// tracker's own documented answers; the few that contradict their schema
// are listed in exampleFlaws.
func TestPublishedExamplesValidate(t *testing.T) {
	flawsSeen := map[string]bool{}
	for _, s := range specs(t) {
		n := 0
		for _, op := range s.Operations {
			if !op.Full {
				continue
			}
			for _, code := range slices.Sorted(maps.Keys(op.Responses)) {
				status, err := strconv.Atoi(code)
				if err != nil {
					continue
				}
				for mt, m := range op.Responses[code].Content {
					for name, ex := range m.Examples {
						n++
						key := s.Name + " " + op.ID + " " + code + " " + name
						problems := s.CheckResponse(op, status, mt, ex)
						// Problems come in no fixed order (properties are a map).
						if flaw, ok := exampleFlaws[key]; ok && slices.Equal(slices.Sorted(slices.Values(problems)), slices.Sorted(slices.Values(flaw))) {
							flawsSeen[key] = true
							continue
						}
						if len(problems) > 0 {
							t.Errorf("%s example: %q", key, problems)
						}
					}
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: no examples checked", s.Name)
		}
		t.Logf("%s: %d operations, %d published examples checked", s.Name, len(s.Operations), n)
	}
	for key := range exampleFlaws {
		if !flawsSeen[key] {
			t.Errorf("%s: the listed flaw is gone; drop it from exampleFlaws", key)
		}
	}
}
