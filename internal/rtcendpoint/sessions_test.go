package rtcendpoint

import (
	"errors"
	"net/http"
	"testing"
)

// TestSessions: slots count against the limit while negotiating; a
// settled resource is live until removed (only as itself); Close ends
// every live one, refuses new slots and goroutines, and waits.
func TestSessions(t *testing.T) {
	var s Sessions[*int]
	closedErr := errors.New("closed")
	full := func(n int) (int, error) { return http.StatusConflict, errors.New("full") }
	for i := range 2 {
		if code, err := s.Reserve(2, closedErr, full); err != nil {
			t.Fatalf("reserve %d: %d %v", i, code, err)
		}
	}
	if code, _ := s.Reserve(2, closedErr, full); code != http.StatusConflict {
		t.Errorf("a third slot of two: %d", code)
	}
	a, b := new(int), new(int)
	if err := s.Settle("a", a, true, func(bool) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Settle("b", b, true, func(bool) error { return errors.New("failed") }); err == nil {
		t.Error("a refused settle added the resource")
	}
	if got, ok := s.Get("a"); !ok || got != a || s.Len() != 1 {
		t.Errorf("Get(a) = %v %v, Len %d", got, ok, s.Len())
	}
	s.Remove("a", b, nil) // another resource of that id: kept
	if s.Len() != 1 {
		t.Error("Remove took another resource's id")
	}
	ran := make(chan bool, 1)
	if !s.Go(func() { ran <- true }) {
		t.Fatal("Go refused before Close")
	}
	var ended []*int
	s.Close(func(v *int) { ended = append(ended, v) })
	if len(ended) != 1 || ended[0] != a || !<-ran {
		t.Errorf("Close ended %v", ended)
	}
	if s.Go(func() {}) {
		t.Error("Go ran after Close")
	}
	if code, err := s.Reserve(9, closedErr, full); code != http.StatusServiceUnavailable || err != closedErr {
		t.Errorf("Reserve after Close: %d %v", code, err)
	}
}
