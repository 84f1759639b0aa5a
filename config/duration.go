package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration that also reads days and weeks ("42d", "2w"),
// since forecast windows and update cadences are counted in days.
type Duration time.Duration

// D is d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String prints whole days as "42d" and anything else as Go does.
func (d Duration) String() string {
	td := time.Duration(d)
	if td != 0 && td%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(td/(24*time.Hour)), 10) + "d"
	}
	return td.String()
}

// MarshalText writes the String form, so JSON and YAML dumps read back.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses with ParseDuration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseDuration accepts Go durations ("90m", "1h30m"), whole days and weeks
// ("42d", "2w", "1w3d"), and "0". Negative durations are refused: nothing in
// the config is meant to run backwards.
func ParseDuration(s string) (Duration, error) {
	d, problem := parseDuration(s)
	if problem != "" {
		return 0, fmt.Errorf("%q %s", s, problem)
	}
	return d, nil
}

// Problems parseDuration reports, to follow the value or the key's name.
const (
	notADuration = "is not a duration (use e.g. 90s, 5m, 168h, 42d)"
	isNegative   = "is negative (use 0s for none)"
)

// parseDuration is ParseDuration with the problem as a phrase, so that a
// caller can name the value its own way (a variable's name, never a value
// that came from a secret).
func parseDuration(s string) (Duration, string) {
	in := strings.TrimSpace(s)
	switch {
	case in == "":
		return 0, notADuration
	case in == "0":
		return 0, ""
	}
	if strings.HasPrefix(in, "-") {
		return 0, isNegative
	}
	var total time.Duration
	rest := in
	// Days and weeks come first ("1w3d12h"); what follows is a Go duration.
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) || (rest[i] != 'd' && rest[i] != 'w') {
			break
		}
		unit := 24 * time.Hour
		if rest[i] == 'w' {
			unit *= 7
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil || n > int64(math.MaxInt64-total)/int64(unit) {
			return 0, notADuration
		}
		total += time.Duration(n) * unit
		rest = rest[i+1:]
	}
	if rest != "" {
		if strings.HasPrefix(rest, "-") {
			return 0, isNegative
		}
		v, err := time.ParseDuration(rest)
		if err != nil {
			return 0, notADuration
		}
		if v > math.MaxInt64-total {
			return 0, notADuration
		}
		total += v
	}
	return Duration(total), ""
}
