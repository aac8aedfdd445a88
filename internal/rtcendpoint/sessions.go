package rtcendpoint

import (
	"net/http"
	"sync"
)

// Sessions are an endpoint's live resources (WHIP publications, WHEP
// viewer sessions) and the goroutines it starts for them: slots reserved
// while an offer is negotiated and counted against the limit, lookup by
// id, and a Close that ends them all and waits. S is a pointer type. The
// lock also guards the few flags the endpoints keep on their resources
// (Locked), so that a resource and the set change together.
type Sessions[S comparable] struct {
	mu      sync.Mutex
	live    map[string]S
	pending int
	closed  bool
	wg      sync.WaitGroup
}

// Reserve takes a slot for an offer being negotiated. Past max live and
// pending, it returns full's status and error; once closed, 503 and
// closedErr.
func (s *Sessions[S]) Reserve(max int, closedErr error, full func(n int) (int, error)) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return http.StatusServiceUnavailable, closedErr
	}
	if n := len(s.live) + s.pending; n >= max {
		return full(n)
	}
	s.pending++
	return 0, nil
}

// Settle gives the slot back after negotiation and, with ok, puts v live
// under id. check runs under the lock first and may refuse (the endpoint
// closed meanwhile, the connection failed): its error is returned and v is
// not added.
func (s *Sessions[S]) Settle(id string, v S, ok bool, check func(closed bool) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending--
	if !ok {
		return nil
	}
	if err := check(s.closed); err != nil {
		return err
	}
	if s.live == nil {
		s.live = map[string]S{}
	}
	s.live[id] = v
	return nil
}

// Get is the live resource id.
func (s *Sessions[S]) Get(id string) (S, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.live[id]
	return v, ok
}

// Remove forgets id if it is v, and runs also (may be nil) under the lock.
func (s *Sessions[S]) Remove(id string, v S, also func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live[id] == v {
		delete(s.live, id)
	}
	if also != nil {
		also()
	}
}

// Locked runs f under the lock.
func (s *Sessions[S]) Locked(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

// List is the live resources, in no order; Len their number.
func (s *Sessions[S]) List() []S {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]S, 0, len(s.live))
	for _, v := range s.live {
		out = append(out, v)
	}
	return out
}

// Len is the number of live resources.
func (s *Sessions[S]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.live)
}

// Go runs f on a goroutine that Close waits for, unless Close has begun
// (then it reports false): WaitGroup.Add must not race with a Wait at
// zero.
func (s *Sessions[S]) Go(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// Close refuses new resources, ends each live one with end, and waits for
// every goroutine started with Go. Idempotent.
func (s *Sessions[S]) Close(end func(S)) {
	s.mu.Lock()
	s.closed = true
	live := make([]S, 0, len(s.live))
	for _, v := range s.live {
		live = append(live, v)
	}
	s.mu.Unlock()
	for _, v := range live {
		end(v)
	}
	s.wg.Wait()
}
