//go:build race

package runner

// raceEnabled: the race detector makes every pass several times slower;
// volume tests do fewer rounds under it (races need concurrency, not
// volume).
const raceEnabled = true
