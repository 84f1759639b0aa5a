package config

import (
	"testing"
	"time"
)

func TestSlipSettle(t *testing.T) {
	t.Parallel()
	const gh = "github: {token: t, repos: [acme/api]}\n"
	tests := []struct {
		name string
		file string
		env  []string
		want time.Duration
	}{
		{"default", gh, nil, DefaultSlipSettle},
		{"at once", "slip: {settle: 0s}\n" + gh, nil, 0},
		{"bare zero", "slip: {settle: 0}\n" + gh, nil, 0},
		{"minutes", "slip: {settle: 90m}\n" + gh, nil, 90 * time.Minute},
		{"days", "slip: {settle: 1d}\n" + gh, nil, 24 * time.Hour},
		{"an empty section keeps the default", "slip:\n" + gh, nil, DefaultSlipSettle},
		{"the environment wins", "slip: {settle: 2h}\n" + gh, []string{"SLIPWATCH_SLIP_SETTLE=0s"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse([]byte(tt.file), tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Slip.Settle.D(); got != tt.want {
				t.Errorf("slip.settle = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestValidateNegativeSettle: a config built in code (testdrive, tests)
// has no parser to refuse a negative settle; Validate does.
func TestValidateNegativeSettle(t *testing.T) {
	t.Parallel()
	c := Default()
	c.GitHub = &GitHub{BaseURL: DefaultGitHubBaseURL, Token: "t", Repos: []string{"acme/api"}, TrackingLabel: "x", WriteInterval: Duration(time.Second)}
	c.Slip.Settle = Duration(-time.Hour)
	err := c.Validate()
	if want := "slip.settle: -1h0m0s is negative (0s announces a moved date at once)"; err == nil || err.Error() != want {
		t.Fatalf("Validate = %v, want %s", err, want)
	}
}
