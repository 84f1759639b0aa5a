package keyed

import (
	"sync"
	"testing"
	"time"
)

// One key is held by one caller at a time; another key is not held up by
// it.
func TestLockSerialisesOneKeyOnly(t *testing.T) {
	t.Parallel()
	var k Mutex
	unlock := k.Lock("acme/api#milestone=7")

	other := make(chan struct{})
	go func() {
		defer close(other)
		k.Lock("acme/api#milestone=8")()
	}()
	<-other // would hang if keys shared a mutex

	var mu sync.Mutex
	var order []string
	same := make(chan struct{})
	go func() {
		defer close(same)
		defer k.Lock("acme/api#milestone=7")()
		mu.Lock()
		order = append(order, "second")
		mu.Unlock()
	}()
	select {
	case <-same:
		t.Fatal("a second caller held the key while the first still did")
	case <-time.After(20 * time.Millisecond):
	}
	mu.Lock()
	order = append(order, "first")
	mu.Unlock()
	unlock()
	<-same
	if len(order) != 2 || order[0] != "first" || order[1] != "second" {
		t.Errorf("order %v, want the second caller after the first unlocked", order)
	}
}
