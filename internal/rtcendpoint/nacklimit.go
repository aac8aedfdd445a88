package rtcendpoint

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// ResendRate and ResendBurst bound what one peer's NACKs can make us send again, per
// PeerConnection: a token bucket of ResendRate packets a second with a
// burst of ResendBurst. pion's NACK responder resends whatever is asked,
// as often as it is asked, on a new goroutine per NACK packet: a peer
// asking for its last 512 packets every few milliseconds would have us
// send a hundred times the stream (and start thousands of goroutines a
// second). A real receiver asks for a few percent of the packets (at 1.5
// Mbit/s, 10% loss is 16 a second), so the bucket only ever stops floods.
const (
	ResendRate  = 250
	ResendBurst = 500
)

// nackLimiterFactory makes a nackLimiter per PeerConnection.
type nackLimiterFactory struct{ refused *atomic.Uint64 }

func (f nackLimiterFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &nackLimiter{tokens: ResendBurst, last: time.Now(), refused: f.refused}, nil
}

// nackLimiter sits before the NACK responder on the RTCP read path (it is
// registered first, so it reads first): a NACK asking for more packets
// than the bucket holds is taken out of the packets the responder sees
// (they are parsed once, into the read's attributes, which the responder
// reuses).
type nackLimiter struct {
	interceptor.NoOp

	refused *atomic.Uint64 // may be nil

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func (l *nackLimiter) BindRTCPReader(reader interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attr, err := reader.Read(b, a)
		if err != nil {
			return n, attr, err
		}
		if attr == nil {
			attr = make(interceptor.Attributes)
		}
		pkts, err := attr.GetRTCPPackets(b[:n])
		if err != nil {
			return n, attr, err
		}
		for i, p := range pkts {
			if nack, ok := p.(*rtcp.TransportLayerNack); ok && !l.admit(requested(nack)) {
				// The responder and the rest skip what they do not know.
				pkts[i] = &rtcp.RawPacket{}
			}
		}
		return n, attr, nil
	})
}

// requested counts the packets a NACK asks for.
func requested(n *rtcp.TransportLayerNack) int {
	c := 0
	for _, p := range n.Nacks {
		c += 1 + bits.OnesCount16(uint16(p.LostPackets))
	}
	return c
}

func (l *nackLimiter) admit(n int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.tokens = min(l.tokens+now.Sub(l.last).Seconds()*ResendRate, ResendBurst)
	l.last = now
	if float64(n) > l.tokens {
		if l.refused != nil {
			l.refused.Add(1)
		}
		return false
	}
	l.tokens -= float64(n)
	return true
}
