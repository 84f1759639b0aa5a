// Package keyed is one mutex per key: the connectors serialise work on one
// repository, milestone or version (reading its lists, creating its
// tracking issue) without holding up work on the others.
package keyed

import "sync"

// Mutex hands out one mutex per key, made on first use. The zero value is
// ready. Keys are kept for the life of the Mutex: the connectors lock only
// what is configured or watched, a bounded set.
type Mutex struct {
	mu sync.Mutex
	m  map[string]*sync.Mutex
}

// Lock locks key's mutex, waiting while another holds it, and returns the
// function that unlocks it.
func (k *Mutex) Lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*sync.Mutex{}
	}
	m := k.m[key]
	if m == nil {
		m = &sync.Mutex{}
		k.m[key] = m
	}
	k.mu.Unlock()
	m.Lock()
	return m.Unlock
}
