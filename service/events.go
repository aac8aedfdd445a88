package service

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/barcode"
	"github.com/shadercast/shadercast/internal/dropq"
)

// DetectionsEvent is one frame's barcodes, as sent on /api/events
// ("event: detections") and on every WHEP session's "detections" data
// channel. Barcodes uses the web's DetectedBarcode shape, in frame pixels.
type DetectionsEvent struct {
	Type string `json:"type"` // "detections"
	// Timestamp is the composited frame's media timestamp in µs: the
	// same timestamp the video frame carries through the encoder.
	Timestamp int64       `json:"timestamp"`
	Frame     uint64      `json:"frame"`
	Width     int         `json:"width"`
	Height    int         `json:"height"`
	Barcodes  []Detection `json:"barcodes"`
}

// Detection is one barcode on the programme: the web's DetectedBarcode in
// the composited frame's pixels (where it shows), and, when a layer's own
// barcode pass found it (--scenes), the source it was found in and where
// in that source's own pixels.
type Detection struct {
	barcode.DetectedBarcode
	// Source names the scene source; empty for the output chain's pass.
	Source string `json:"source,omitempty"`
	// InSource is the code in the source frame, at the source's size.
	InSource *SourceDetection `json:"inSource,omitempty"`
}

// SourceDetection is a barcode in its source frame's pixels.
type SourceDetection struct {
	Width        int             `json:"width"`
	Height       int             `json:"height"`
	BoundingBox  barcode.Rect    `json:"boundingBox"`
	CornerPoints []barcode.Point `json:"cornerPoints"`
}

// event is a marshalled message for subscribers.
type event struct {
	name string // SSE event name
	data []byte // JSON
}

// hub fans events out to subscribers. Each subscriber has a small queue;
// a slow one loses its OLDEST events (a detection list is stale a frame
// later anyway), never slows the compositor and never grows.
type hub struct {
	mu      sync.Mutex
	subs    map[*subscriber]struct{}
	dropped atomic.Uint64
	sent    atomic.Uint64

	// maxSSE caps concurrent SSE streams (data channels are capped by
	// the viewer limit); sse counts them, under mu. Set before serving.
	maxSSE     int
	sse        int
	refusedSSE atomic.Uint64
	// writeTimeout bounds each SSE write (0: the package's
	// writeTimeout); a field so that tests can shorten it.
	writeTimeout time.Duration
}

type subscriber struct {
	q *dropq.Queue[event]
}

const subscriberQueue = 32

func newHub() *hub { return &hub{subs: map[*subscriber]struct{}{}} }

func (h *hub) subscribe() *subscriber {
	s := &subscriber{q: dropq.New[event](subscriberQueue, nil)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

func (h *hub) subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

func (h *hub) publish(e event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.q.Push(e) {
			h.dropped.Add(1)
		}
		h.sent.Add(1)
	}
}

// admitSSE takes an SSE slot, or reports that all maxSSE are taken.
func (h *hub) admitSSE() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.maxSSE > 0 && h.sse >= h.maxSSE {
		h.refusedSSE.Add(1)
		return false
	}
	h.sse++
	return true
}

func (h *hub) leaveSSE() {
	h.mu.Lock()
	h.sse--
	h.mu.Unlock()
}

// sseRetryAfter is the Retry-After of a refused stream, in seconds.
const sseRetryAfter = 5

// serveSSE streams events to one HTTP client until it goes away, or
// answers 503 past maxSSE streams. Every write first moves the
// connection's write deadline writeTimeout ahead: the server's own
// WriteTimeout would otherwise end every stream, and a client that stops
// reading is cut off instead of holding its slot forever.
func (h *hub) serveSSE(w http.ResponseWriter, r *http.Request, hello func() []event) {
	if _, ok := w.(http.Flusher); !ok {
		jsonError(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	if !h.admitSSE() {
		w.Header().Set("Retry-After", fmt.Sprint(sseRetryAfter))
		jsonError(w, http.StatusServiceUnavailable, fmt.Sprintf("%d event streams are open, the most this server takes (--max-event-clients); retry later", h.maxSSE))
		return
	}
	defer h.leaveSSE()
	s := h.subscribe()
	defer h.unsubscribe(s)
	rc := http.NewResponseController(w)
	// send writes and flushes; false when the client is gone or stuck.
	send := func(write func()) bool {
		// ErrNotSupported (a writer without deadlines) leaves the
		// server's deadline in place.
		rc.SetWriteDeadline(time.Now().Add(orDefault(h.writeTimeout, writeTimeout)))
		write()
		return rc.Flush() == nil
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	ok := send(func() {
		w.WriteHeader(http.StatusOK)
		// retry: tells EventSource how soon to come back after a drop.
		fmt.Fprint(w, "retry: 1000\n\n")
		for _, e := range hello() {
			writeSSE(w, e)
		}
	})
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	for ok {
		select {
		case <-r.Context().Done():
			return
		case e := <-s.q.C():
			ok = send(func() {
				writeSSE(w, e)
				// Coalesce what is already queued into one flush.
				for n := s.q.Len(); n > 0; n-- {
					writeSSE(w, <-s.q.C())
				}
			})
		case <-keep.C:
			// A comment line keeps proxies from timing the stream out.
			ok = send(func() { fmt.Fprint(w, ": keep-alive\n\n") })
		}
	}
}

func writeSSE(w http.ResponseWriter, e event) {
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.name, e.data)
}

// dataChannelEvent says which events also go on the WHEP sessions'
// "detections" data channel: the per-frame lists and the tracks' comings
// and goings (the channel is unreliable, so each detections message also
// carries every code's trackId: a page that missed an appearance learns of
// the track from the next frame's list, and GET /api/barcodes has them all).
func dataChannelEvent(name string) bool {
	return name == "detections" || name == "barcode-appeared" || name == "barcode-gone"
}

// attachDataChannel gives a WHEP session a "detections" data channel fed
// from the hub; it returns the cleanup for the session's end.
func (h *hub) attachDataChannel(pc *webrtc.PeerConnection) (func(), error) {
	ordered := false
	retransmits := uint16(0)
	// Unordered, no retransmits: a late detection list is worthless, the
	// next frame's replaces it.
	dc, err := pc.CreateDataChannel("detections", &webrtc.DataChannelInit{Ordered: &ordered, MaxRetransmits: &retransmits})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var started atomic.Bool
	dc.OnOpen(func() {
		if ctx.Err() != nil || !started.CompareAndSwap(false, true) {
			return
		}
		go func() {
			defer close(done)
			s := h.subscribe()
			defer h.unsubscribe(s)
			for {
				select {
				case <-ctx.Done():
					return
				case e := <-s.q.C():
					if !dataChannelEvent(e.name) {
						continue
					}
					if err := dc.SendText(string(e.data)); err != nil {
						return
					}
				}
			}
		}()
	})
	return func() {
		cancel()
		// The sender goroutine exists once the channel opened; a late
		// OnOpen after cancel starts nothing.
		if !started.CompareAndSwap(false, true) {
			<-done
		}
	}, nil
}
