package rtctest

import (
	"net"
	"sync"
	"time"
)

// ThrottledConn polices the media a UDP socket receives to a rate, as a
// slow link does: SRTP and SRTCP packets (first byte 128-191, RFC 7983)
// beyond a token bucket of the rate, with 100 ms of burst, are dropped;
// STUN and DTLS always pass, so that the connection itself stays up.
type ThrottledConn struct {
	net.PacketConn

	mu      sync.Mutex
	rate    float64 // bytes per second
	tokens  float64
	last    time.Time
	dropped int
}

// NewThrottledConn polices c's incoming media to bps bits per second.
func NewThrottledConn(c net.PacketConn, bps int) *ThrottledConn {
	rate := float64(bps) / 8
	return &ThrottledConn{PacketConn: c, rate: rate, tokens: rate / 10, last: time.Now()}
}

func (c *ThrottledConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, a, err := c.PacketConn.ReadFrom(p)
		if err != nil || n == 0 || p[0] < 128 || p[0] > 191 || c.admit(n) {
			return n, a, err
		}
	}
}

func (c *ThrottledConn) admit(n int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	c.tokens = min(c.tokens+now.Sub(c.last).Seconds()*c.rate, c.rate/10)
	c.last = now
	if c.tokens < float64(n) {
		c.dropped++
		return false
	}
	c.tokens -= float64(n)
	return true
}

// Dropped counts the packets dropped.
func (c *ThrottledConn) Dropped() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}
