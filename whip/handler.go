package whip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/internal/rtcendpoint"
	"github.com/shadercast/shadercast/internal/safe"
	"github.com/shadercast/shadercast/processor"
	"github.com/shadercast/shadercast/source"
)

// Config configures a Handler.
type Config struct {
	// Token, when set, is required as "Authorization: Bearer <Token>" on
	// POST, PATCH and DELETE (not on the CORS preflight).
	Token string
	// MaxPublishers limits concurrent publications; 0 means 1. Further
	// offers get 409 Conflict.
	MaxPublishers int
	// MaxBodyBytes limits the offer size; 0 means 64 KiB. Larger gets 413.
	MaxBodyBytes int64
	// GatherTimeout bounds the wait for ICE gathering before answering;
	// 0 means 10 s.
	GatherTimeout time.Duration
	// ConnectTimeout is how long a publication may take, from its
	// answer, to deliver its first decoded keyframe (FirstFrame); one that has not
	// by then (it never connected, or sends nothing decodable) is ended
	// with ErrNotConnected and its publisher slot given back. 0 means
	// 10 s.
	ConnectTimeout time.Duration
	// MaxUnconnectedPerAddr limits the publications one remote address
	// (an IPv4 address, an IPv6 /64) may have before their first frame;
	// past it a POST gets 429 with a Retry-After. 0 means 4, negative
	// means no limit. The address is the TCP peer's (a reverse proxy's,
	// behind one).
	MaxUnconnectedPerAddr int
	// MaxWidth and MaxHeight bound the publisher's picture: a keyframe
	// larger than MaxWidth x MaxHeight is refused before the decoder
	// allocates for it, and the publication ends with an error wrapping
	// ErrTooLarge. 0 means 1920x1080.
	MaxWidth, MaxHeight int
	// MaxFrameBytes bounds one reassembled VP8 frame; a larger one ends
	// the publication the same way. 0 means 1 MiB (a 1080p keyframe is
	// typically 50-300 kB).
	MaxFrameBytes int
	// SettingEngine, when set, is used for every PeerConnection (ICE
	// ports, interfaces, timeouts: its ICE disconnected/failed timeouts
	// decide how fast a vanished publisher is noticed).
	SettingEngine *webrtc.SettingEngine
	// ICEServers are used by the server's PeerConnections and handed to
	// publishers as RFC 9725 section 4.6 prescribes: one
	// `Link: <url>; rel="ice-server"` header per URL on the 201 and on
	// OPTIONS, TURN ones with username and credential. Credentials go out
	// on OPTIONS only when no Token is set or the request carries it.
	ICEServers []webrtc.ICEServer
	// UDPPortMin and UDPPortMax, when UDPPortMax is non-zero, restrict the
	// server's ICE UDP ports (inclusive), so a firewall or container needs
	// only that range open. They override SettingEngine's range.
	UDPPortMin, UDPPortMax uint16
	// NAT1To1IPs, when set, replace the address of every host candidate
	// (a server behind a 1:1 NAT or in a container with published ports);
	// several must be "external/local" pairs.
	NAT1To1IPs []string
	// IncludeLoopback adds loopback candidates to every answer; without
	// it they are added only for POSTs that arrived over loopback.
	IncludeLoopback bool
	// VideoBuffer and AudioBuffer are the MaxBufferSize of the
	// publication's queues (drop oldest when the reader is slow); 0 means
	// 2 video frames and 10 audio blocks (200 ms).
	VideoBuffer, AudioBuffer int
	// JitterBuffer is how long the VP8 depacketizer waits for a missing
	// packet (reordered, or repaired by NACK) before giving up on it and
	// waiting for a keyframe instead; 0 means 200 ms. It is also the
	// extra latency of the frame before a loss.
	JitterBuffer time.Duration
	// PLIInterval is the least time between two PLIs while waiting for a
	// keyframe; 0 means 250 ms.
	PLIInterval time.Duration
	// OnPublish, when set, is called with each new publication once its
	// 201 answer is about to be sent, i.e. before it has connected: wait
	// for FirstFrame before putting it on air. It runs on the POST's
	// goroutine and should hand the publication off quickly.
	OnPublish func(*Publication)
	// Logger receives session events; nil means slog.Default().
	Logger *slog.Logger
}

// ErrPublisherLost ends a publication whose PeerConnection failed or was
// closed without a DELETE (the publisher vanished or its network broke).
var ErrPublisherLost = errors.New("whip: publisher connection lost")

// ErrHandlerClosed ends the publications of a closed Handler.
var ErrHandlerClosed = errors.New("whip: handler closed")

// ErrNotConnected ends a publication that delivered no decoded keyframe
// within Config.ConnectTimeout.
var ErrNotConnected = errors.New("whip: publisher sent no picture in time")

// ErrTooLarge ends a publication whose video is larger than Config.MaxWidth
// x MaxHeight or whose frames exceed Config.MaxFrameBytes.
var ErrTooLarge = errors.New("whip: publisher's video is too large")

// HandlerStats counts what the handler refused or ended; cumulative.
type HandlerStats struct {
	// ConnectTimeouts are publications ended with ErrNotConnected.
	ConnectTimeouts uint64
	// AddrRefusals are POSTs answered 429 (Config.MaxUnconnectedPerAddr).
	AddrRefusals uint64
	// TooLarge are publications ended with ErrTooLarge.
	TooLarge uint64
	// Panics are publications ended by a panic recovered in their
	// receive loop (a bug reached by the publisher's data: logged with
	// its stack; the service goes on).
	Panics uint64
}

// Handler is a WHIP endpoint (an http.Handler). POST to the path it is
// mounted at creates a publication at <path>/<id>; DELETE of that URL ends
// it. Safe for concurrent use.
type Handler struct {
	cfg        Config
	log        *slog.Logger
	se, seLoop webrtc.SettingEngine
	// front is the HTTP side shared with the WHEP endpoint (auth, CORS,
	// Link headers, the offer's limits, the 201).
	front rtcendpoint.Front
	// unconnected counts each address's publications before their first
	// frame (Config.MaxUnconnectedPerAddr).
	unconnected                       *rtcendpoint.Unconnected
	connectTimeouts, tooLarge, panics atomic.Uint64

	// pubs are the live publications, the slots of POSTs still
	// negotiating, and every goroutine the handler starts.
	pubs rtcendpoint.Sessions[*Publication]
}

// Publication is one live publisher. Video is always present; Audio is nil
// when the offer sent no Opus. Both end (io.EOF after DELETE, else Err())
// when the publication does.
type Publication struct {
	ID    string
	Video source.Video
	Audio source.Audio

	h      *Handler
	pc     *webrtc.PeerConnection
	video  *processor.Video
	audio  *processor.Audio // nil without audio
	start  time.Time        // zero of the publication's clock
	failed chan struct{}
	// firstFrame is closed when the first decoded keyframe was queued;
	// release then gives back the address's unconnected count (or end
	// does, whichever is first).
	firstFrame     chan struct{}
	firstFrameOnce sync.Once
	release        func()
	// answered is closed when the answer is complete: the connect
	// deadline runs from then.
	answered chan struct{}
	once     sync.Once
	ended    bool // under h.pubs' lock
	done     chan struct{}
	err      error // set before done closes
	wg       sync.WaitGroup
	tracks   bool // under h.pubs' lock: receive loops may still register
	// videoTaken and audioTaken: the first track of each kind is decoded,
	// any further one is read and discarded.
	videoTaken, audioTaken atomic.Bool
	videoCodec             atomic.Value // string: the video track's MIME type
	st                     stats
}

// VideoCodec is the MIME type of the video the publisher sends (VP8 or
// H.264); "" until its track arrives.
func (p *Publication) VideoCodec() string {
	s, _ := p.videoCodec.Load().(string)
	return s
}

// Done is closed when the publication has ended.
func (p *Publication) Done() <-chan struct{} { return p.done }

// FirstFrame is closed once the first keyframe was decoded and queued on
// Video: the publisher is connected and sends pictures. A publication
// that never gets there ends (ErrNotConnected) after
// Config.ConnectTimeout, so wait for this or Done.
func (p *Publication) FirstFrame() <-chan struct{} { return p.firstFrame }

// Stats returns the handler's counters.
func (h *Handler) Stats() HandlerStats {
	return HandlerStats{ConnectTimeouts: h.connectTimeouts.Load(), AddrRefusals: h.unconnected.Refused(),
		TooLarge: h.tooLarge.Load(), Panics: h.panics.Load()}
}

// Err says why the publication ended: io.EOF for DELETE or Close,
// ErrPublisherLost, ErrHandlerClosed; nil while it is live.
func (p *Publication) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Close ends the publication (the publisher's PeerConnection is closed, as
// if it had sent DELETE). It waits for the receive loops.
func (p *Publication) Close() error {
	p.h.end(p, io.EOF)
	return nil
}

// NewHandler checks the configuration and returns the handler.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.MaxPublishers <= 0 {
		cfg.MaxPublishers = 1
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	if cfg.GatherTimeout <= 0 {
		cfg.GatherTimeout = 10 * time.Second
	}
	if cfg.VideoBuffer <= 0 {
		cfg.VideoBuffer = 2
	}
	if cfg.AudioBuffer <= 0 {
		cfg.AudioBuffer = 10
	}
	if cfg.JitterBuffer <= 0 {
		cfg.JitterBuffer = 200 * time.Millisecond
	}
	if cfg.PLIInterval <= 0 {
		cfg.PLIInterval = 250 * time.Millisecond
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = rtcendpoint.DefaultConnectTimeout
	}
	if cfg.MaxUnconnectedPerAddr == 0 {
		cfg.MaxUnconnectedPerAddr = rtcendpoint.DefaultMaxUnconnectedPerAddr
	}
	if cfg.MaxWidth <= 0 || cfg.MaxHeight <= 0 {
		cfg.MaxWidth, cfg.MaxHeight = 1920, 1080
	}
	if cfg.MaxFrameBytes <= 0 {
		cfg.MaxFrameBytes = 1 << 20
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	se, seLoop, err := rtcendpoint.SettingEngines("whip", cfg.SettingEngine, cfg.UDPPortMin, cfg.UDPPortMax, cfg.NAT1To1IPs, cfg.IncludeLoopback)
	if err != nil {
		return nil, err
	}
	if _, err := newIngestAPI(se); err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, log: log, se: se, seLoop: seLoop,
		unconnected: rtcendpoint.NewUnconnected(cfg.MaxUnconnectedPerAddr),
		front:       rtcendpoint.NewFront("whip", cfg.Token, cfg.MaxBodyBytes, cfg.ICEServers)}
	h.front.Post, h.front.Delete, h.front.NotFound = h.post, h.delete, "no such publication"
	return h, nil
}

// h264Profiles are the H.264 profiles ingest decodes, as the first two
// bytes of profile-level-id (the level does not take part in matching,
// RFC 6184 8.2.2): constrained baseline as browsers and GStreamer offer
// it (42e0, 42c0), baseline, main (4d00, 4d40) and high (6400, 640c
// constrained high).
var h264Profiles = []string{"42e0", "42c0", "4200", "4d00", "4d40", "6400", "640c"}

// newIngestAPI builds the receiving pion API: VP8, H.264 (each profile of
// h264Profiles in packetization modes 1 and 0) and Opus; NACK (so the
// publisher repairs most losses before they are gaps), RTCP receiver
// reports, and TWCC feedback for the publisher's bandwidth estimation.
func newIngestAPI(se webrtc.SettingEngine) (*webrtc.API, error) {
	video := []webrtc.RTPCodecParameters{{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: rtcendpoint.VideoFeedback},
		PayloadType:        96,
	}}
	pt := webrtc.PayloadType(97)
	for _, profile := range h264Profiles {
		for _, mode := range []string{"1", "0"} {
			video = append(video, webrtc.RTPCodecParameters{
				RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: rtcendpoint.VideoFeedback,
					SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=" + mode + ";profile-level-id=" + profile + "1f"},
				PayloadType: pt,
			})
			if pt++; pt == rtcendpoint.Opus.PayloadType {
				pt++
			}
		}
	}
	m, err := rtcendpoint.NewMediaEngine(video)
	if err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if err := rtcendpoint.AddNACKAndReports(m, reg, nil); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureTWCCSender(m, reg); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

// Publications returns the live publications.
func (h *Handler) Publications() []*Publication {
	return h.pubs.List()
}

// Close ends every publication (ErrHandlerClosed), refuses new ones (503)
// and waits for every goroutine it started. Idempotent.
func (h *Handler) Close() error {
	h.pubs.Close(func(p *Publication) { h.end(p, ErrHandlerClosed) })
	return nil
}

// ServeHTTP implements WHIP.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.front.ServeHTTP(w, r) }

func (h *Handler) delete(id string) bool {
	p, ok := h.pubs.Get(id)
	if ok {
		h.end(p, io.EOF)
	}
	return ok
}

func (h *Handler) reserve() (int, error) {
	return h.pubs.Reserve(h.cfg.MaxPublishers, ErrHandlerClosed, func(n int) (int, error) {
		return http.StatusConflict, fmt.Errorf("%d publisher(s) already live; this endpoint accepts %d at a time", n, h.cfg.MaxPublishers)
	})
}

func (h *Handler) post(w http.ResponseWriter, r *http.Request, body string) {
	hasAudio, err := checkOffer(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	offer, unbundled, err := rtcendpoint.BundleOne(body, decodableVideo)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if unbundled != nil && unbundled.Rejected > 0 {
		// Only the video section is answered: its audio cannot come.
		hasAudio = false
	}
	release, ok := h.unconnected.Admit(w, r, "publications", h.cfg.ConnectTimeout)
	if !ok {
		return
	}
	if code, err := h.reserve(); err != nil {
		release()
		w.Header().Set("Retry-After", "5")
		http.Error(w, err.Error(), code)
		return
	}
	se := h.se
	if rtcendpoint.FromLoopback(r) {
		se = h.seLoop
	}
	p, answer, code, err := h.negotiate(r.Context(), se, offer, hasAudio, release)
	if err == nil && unbundled != nil {
		if answer, err = unbundled.Answer(answer); err != nil {
			code = http.StatusInternalServerError
		}
	}
	if p == nil {
		release()
	}
	if err == nil {
		err = h.pubs.Settle(p.ID, p, true, func(closed bool) error {
			switch {
			case closed:
				return ErrHandlerClosed
			case p.ended:
				return errors.New("connection failed during negotiation")
			}
			return nil
		})
		if err != nil {
			code = http.StatusServiceUnavailable
		}
	} else {
		h.pubs.Settle("", nil, false, nil)
	}
	if err != nil {
		if p != nil {
			h.end(p, err)
		}
		http.Error(w, err.Error(), code)
		return
	}
	h.log.Info("whip: publication started", "id", p.ID, "remote", r.RemoteAddr, "audio", hasAudio)
	if unbundled != nil && unbundled.Rejected > 0 {
		h.log.Warn("whip: the offer has no BUNDLE group: only its video section is answered, its other sections are rejected (offer with bundle-policy max-bundle or max-compat to send audio too)",
			"id", p.ID, "rejected", unbundled.Rejected)
	}
	if h.cfg.OnPublish != nil {
		h.cfg.OnPublish(p)
	}
	h.front.Answer(w, r, p.ID, answer)
}

// checkOffer parses the offer and requires a section sending VP8 or
// H.264 video; it reports whether one also sends Opus audio. Sections in
// any order count, bundle-only ones too (port 0 with a=bundle-only, RFC
// 8843: max-bundle offers send all but the first that way). The reasons
// are the 400's body, so they say what to change.
func checkOffer(offer string) (hasAudio bool, err error) {
	sd, err := rtcendpoint.ParseOffer(offer)
	if err != nil {
		return false, err
	}
	var decodable, videoSent bool
	for _, md := range sd.MediaDescriptions {
		if _, bundleOnly := md.Attribute("bundle-only"); md.MediaName.Port.Value == 0 && !bundleOnly {
			continue // rejected/disabled section
		}
		if !sends(md) {
			continue
		}
		switch md.MediaName.Media {
		case "video":
			videoSent = true
			decodable = decodable || decodableVideo(md)
		case "audio":
			hasAudio = hasAudio || rtcendpoint.HasCodec(md, "opus")
		}
	}
	switch {
	case !videoSent:
		return false, errors.New("offer sends no video: this endpoint ingests VP8 or H.264 video (with optional Opus audio)")
	case !decodable:
		return false, errors.New("no VP8 or H.264 in the offer's video: this endpoint decodes those two")
	}
	return hasAudio, nil
}

// sends reports whether a section sends media (not recvonly, not
// inactive).
func sends(md *sdp.MediaDescription) bool {
	for _, a := range md.Attributes {
		if a.Key == "recvonly" || a.Key == "inactive" {
			return false
		}
	}
	return true
}

// decodableVideo reports whether md sends video this endpoint decodes.
func decodableVideo(md *sdp.MediaDescription) bool {
	return md.MediaName.Media == "video" && sends(md) && (rtcendpoint.HasCodec(md, "VP8") || rtcendpoint.HasCodec(md, "H264"))
}

func (h *Handler) negotiate(ctx context.Context, se webrtc.SettingEngine, offer string, hasAudio bool, release func()) (*Publication, string, int, error) {
	api, err := newIngestAPI(se)
	if err != nil {
		return nil, "", http.StatusInternalServerError, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: h.cfg.ICEServers})
	if err != nil {
		return nil, "", http.StatusInternalServerError, err
	}
	p := &Publication{
		ID: rtcendpoint.NewID(), h: h, pc: pc, start: time.Now(), failed: make(chan struct{}, 1), done: make(chan struct{}),
		firstFrame: make(chan struct{}), release: release, answered: make(chan struct{}),
		video: processor.NewVideo(processor.Options{MaxBufferSize: h.cfg.VideoBuffer}), tracks: true,
	}
	p.Video = p.video
	if hasAudio {
		p.audio = processor.NewAudio(processor.Options{MaxBufferSize: h.cfg.AudioBuffer})
		p.Audio = p.audio
	}
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			// Only signal: ending from pion's callback would call
			// pc.Close inside pion.
			select {
			case p.failed <- struct{}{}:
			default:
			}
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
		// pion may call this after pc.Close returned; the flag keeps
		// wg.Add from racing with end's Wait.
		taken := false
		h.pubs.Locked(func() {
			if taken = p.tracks; taken {
				p.wg.Add(1)
			}
		})
		if !taken {
			return
		}
		defer p.wg.Done()
		// One track of each kind feeds the queues; a second one (an
		// offer with two video sections) would interleave two pictures.
		switch {
		case tr.Kind() == webrtc.RTPCodecTypeVideo && ingestCodecs[strings.ToLower(tr.Codec().MimeType)] != nil &&
			p.videoTaken.CompareAndSwap(false, true):
			p.videoCodec.Store(tr.Codec().MimeType)
			h.run(p, func() error { return p.receiveVideo(tr) })
		case tr.Kind() == webrtc.RTPCodecTypeAudio && p.audio != nil && p.audioTaken.CompareAndSwap(false, true):
			h.run(p, func() error { return p.receiveAudio(tr) })
		default:
			// Read and discard, so the interceptors keep working.
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
			}
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return p, "", http.StatusBadRequest, errors.New("bad offer: " + err.Error())
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return p, "", http.StatusBadRequest, errors.New("cannot answer offer: " + err.Error())
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return p, "", http.StatusBadRequest, errors.New("cannot answer offer: " + err.Error())
	}
	if !h.spawn(func() { h.watch(p) }) {
		return p, "", http.StatusServiceUnavailable, ErrHandlerClosed
	}
	tm := time.NewTimer(h.cfg.GatherTimeout)
	defer tm.Stop()
	select {
	case <-gathered:
	case <-tm.C:
		return p, "", http.StatusGatewayTimeout, errors.New("ICE gathering timed out")
	case <-ctx.Done():
		return p, "", http.StatusServiceUnavailable, ctx.Err()
	}
	close(p.answered)
	return p, pc.LocalDescription().SDP, 0, nil
}

// watch ends p when its connection fails, or when it has delivered no
// picture within ConnectTimeout of its answer (gathering, bounded by
// GatherTimeout, is not the publisher's time); it returns when p ends.
func (h *Handler) watch(p *Publication) {
	var deadline <-chan time.Time
	answered, first := p.answered, p.firstFrame
	for {
		select {
		case <-p.failed:
			h.end(p, ErrPublisherLost)
			return
		case <-p.done:
			return
		case <-answered:
			answered = nil
			tm := time.NewTimer(h.cfg.ConnectTimeout)
			defer tm.Stop()
			deadline = tm.C
		case <-first:
			p.release()
			answered, first, deadline = nil, nil, nil
		case <-deadline:
			h.connectTimeouts.Add(1)
			reason := "did not connect"
			if p.pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
				reason = "connected but sent no decodable keyframe"
			}
			h.end(p, fmt.Errorf("%w: %s within %v", ErrNotConnected, reason, h.cfg.ConnectTimeout))
			return
		}
	}
}

// run runs one of p's receive loops. They decode the publisher's data: a
// panic there (a decoder bug that data reaches) ends this publication
// through fail, never the process, and so does the error a loop returns.
func (h *Handler) run(p *Publication, loop func() error) {
	if err := safe.Do(loop); err != nil {
		h.fail(p, err)
	}
}

// fail ends p because its receive loop returned err (an oversized
// picture, a recovered panic): logged once here, counted, and ended from
// another goroutine because end waits for the receive loops.
func (h *Handler) fail(p *Publication, err error) {
	var pe *safe.PanicError
	switch {
	case errors.As(err, &pe):
		h.panics.Add(1)
		h.log.Error("whip: publication failed: recovered panic in its receive loop", "id", p.ID, "err", err, "stack", string(pe.Stack))
	case errors.Is(err, ErrTooLarge):
		h.tooLarge.Add(1)
		h.log.Warn("whip: publisher refused", "id", p.ID, "err", err)
	default:
		h.log.Warn("whip: publication failed", "id", p.ID, "err", err)
	}
	h.spawn(func() { h.end(p, err) })
}

func (h *Handler) spawn(f func()) bool { return h.pubs.Go(f) }

// end closes p's PeerConnection, waits for its receive loops and ends its
// streams with reason. Idempotent; safe from any goroutine except pion's
// callbacks.
func (h *Handler) end(p *Publication, reason error) {
	p.once.Do(func() {
		h.pubs.Remove(p.ID, p, func() {
			p.ended = true
			p.tracks = false
			if p.release != nil {
				p.release()
			}
		})
		p.pc.Close()
		p.wg.Wait()
		p.video.P.Close(reason)
		if p.audio != nil {
			p.audio.P.Close(reason)
		}
		p.err = reason
		close(p.done)
		h.log.Info("whip: publication ended", "id", p.ID, "reason", reason)
	})
	<-p.done
}
