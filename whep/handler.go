package whep

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/internal/rtcendpoint"
)

// Config configures a Handler.
type Config struct {
	// Publishers are the tracks offered to every viewer: audio, and video
	// per codec, or per codec and rendition (a ladder: several publishers
	// of one codec, each its VideoConfig.Rendition, largest first). A
	// viewer gets the audio when its offer has room for it and one video
	// publisher: the first codec of its offer sent; over a ladder, the
	// rung its bandwidth estimate carries (see the package comment), at
	// most the one its POST asked for with ?rendition=NAME (400 naming the
	// rungs when there is none of that name). The Handler does not close
	// them.
	Publishers []*Publisher
	// Token, when set, is required as "Authorization: Bearer <Token>" on
	// POST, PATCH and DELETE (not on the CORS preflight, which browsers
	// send without credentials).
	Token string
	// MaxViewers limits concurrent sessions; 0 means 64. Further offers get
	// 503.
	MaxViewers int
	// MaxBodyBytes limits the offer size; 0 means 64 KiB. Larger gets 413.
	MaxBodyBytes int64
	// GatherTimeout bounds the wait for ICE gathering before answering;
	// 0 means 10 s.
	GatherTimeout time.Duration
	// ConnectTimeout is how long a session may take, from its answer, to
	// connect (ICE and DTLS done); one that has not by then is ended and
	// its viewer slot given back, so offers that never connect cannot
	// hold the slots. 0 means 10 s.
	ConnectTimeout time.Duration
	// MaxUnconnectedPerAddr limits the sessions one remote address (an
	// IPv4 address, an IPv6 /64) may have still connecting; past it a
	// POST gets 429 Too Many Requests with a Retry-After. 0 means 4,
	// negative means no limit. The address is the TCP peer's: behind a
	// reverse proxy every viewer shares the proxy's, so raise it there.
	MaxUnconnectedPerAddr int
	// SettingEngine, when set, is used for every PeerConnection (ICE
	// ports, interfaces, loopback candidates for tests, timeouts).
	SettingEngine *webrtc.SettingEngine
	// ICEServers are used by the server's own PeerConnections (STUN to
	// learn its public address, TURN to relay) and are also handed to
	// viewers, as WHEP/WHIP (RFC 9725 section 4.6) prescribe, in one
	// `Link: <url>; rel="ice-server"` header per URL on the 201 answer and
	// on OPTIONS; TURN entries carry username, credential and
	// credential-type="password". Credentials go out on OPTIONS only when
	// no Token is set or the request carries it: a browser's CORS
	// preflight is unauthenticated and must not leak TURN secrets.
	ICEServers []webrtc.ICEServer

	// UDPPortMin and UDPPortMax, when UDPPortMax is non-zero, restrict the
	// server's ICE UDP ports to [UDPPortMin, UDPPortMax] (inclusive), so
	// that a firewall or container needs only that range open. They
	// override the same setting in SettingEngine.
	UDPPortMin, UDPPortMax uint16
	// NAT1To1IPs, when set, replace the address of every host candidate
	// with these (public) IPs: for a server behind a 1:1 NAT or in a
	// container with published ports, where the local address is useless
	// to viewers. One IP replaces all local addresses; several must be
	// "external/local" pairs as pion's address rewrite rules accept.
	NAT1To1IPs []string
	// IncludeLoopback adds 127.0.0.1/::1 host candidates to every answer.
	// pion leaves loopback out by default, which makes a viewer on the same
	// host unreachable when the machine has no other interface. Without
	// it, loopback candidates are still added automatically to sessions
	// whose POST arrived over a loopback connection (the viewer is on this
	// host, so loopback is the cheapest path and always works).
	IncludeLoopback bool

	// OnSession, when set, is called for every new session after the
	// viewer's offer was applied and before the answer is made, so that
	// it can add data channels (pion announces them in the answer when
	// the offer has an m=application section: hasData). It runs on the
	// POST's goroutine and must not block; the function it returns, if
	// any, runs once when the session ends.
	OnSession func(id string, pc *webrtc.PeerConnection, hasData bool) (cleanup func())
}

// Handler is a WHEP endpoint (an http.Handler). POST to the path it is
// mounted at creates a session at <path>/<session-id>; DELETE of that URL ends
// it. Safe for concurrent use.
type Handler struct {
	cfg Config
	// video are the video codecs registered for viewers (videoCodecs).
	video []webrtc.RTPCodecParameters
	// ladders are the codecs with publishers of several rungs, by MIME
	// type in lower case (see ladder).
	ladders map[string]ladder
	// se is the setting engine of every PeerConnection; seLoop is se with
	// loopback candidates, for offers that arrived over loopback (see
	// Config.IncludeLoopback). The pion API is built per PeerConnection
	// (newAPI) because each needs its own congestion-control factory.
	se, seLoop webrtc.SettingEngine
	// front is the HTTP side shared with the WHIP endpoint (auth, CORS,
	// Link headers, the offer's limits, the 201).
	front rtcendpoint.Front

	// unconnected counts each remote address's sessions that have not
	// connected yet (Config.MaxUnconnectedPerAddr).
	unconnected *rtcendpoint.Unconnected
	// connectTimeouts and nacksRefused count what HandlerStats reports.
	connectTimeouts, nacksRefused atomic.Uint64

	// sessions are the live sessions, the slots of POSTs still
	// negotiating, and every session goroutine.
	sessions rtcendpoint.Sessions[*session]
}

// HandlerStats counts what the handler refused or ended; cumulative.
type HandlerStats struct {
	// ConnectTimeouts are sessions ended because they had not connected
	// within Config.ConnectTimeout.
	ConnectTimeouts uint64
	// AddrRefusals are POSTs answered 429 because their address had
	// Config.MaxUnconnectedPerAddr sessions still connecting.
	AddrRefusals uint64
	// NACKsRefused are viewers' NACKs not served because they asked for
	// more resends than rtcendpoint.ResendRate allows (a flood).
	NACKsRefused uint64
	// Renditions counts the connected viewers by the rendition they
	// receive (VideoConfig.Rendition; "" for publishers without one).
	Renditions map[string]int
}

// Stats returns the handler's counters.
func (h *Handler) Stats() HandlerStats {
	st := HandlerStats{ConnectTimeouts: h.connectTimeouts.Load(), AddrRefusals: h.unconnected.Refused(),
		NACKsRefused: h.nacksRefused.Load(), Renditions: map[string]int{}}
	for _, s := range h.sessions.List() {
		switch {
		case s.lt != nil:
			cur, _ := s.lt.rung()
			st.Renditions[s.lt.rungs[cur].Rendition()]++
		case s.video != nil:
			st.Renditions[s.video.Rendition()]++
		}
	}
	return st
}

type session struct {
	id     string
	pc     *webrtc.PeerConnection
	failed chan struct{} // signalled by pion's state callback
	// connected is signalled by pion's state callback on the first
	// "connected"; release gives back the address's unconnected count
	// (then or when the session ends, whichever is first).
	connected chan struct{}
	release   func()
	// answered is closed when the answer is complete: the connect
	// deadline runs from then.
	answered chan struct{}
	once     sync.Once
	ended    bool // under Handler.sessions' lock: end has started, never register it
	done     chan struct{}
	// lt is the session's video track over a ladder, video its video
	// publisher otherwise (nil without video). Written by negotiate
	// before the session is registered.
	lt    *layerTrack
	video *Publisher
	// detach unregisters the session's bandwidth estimator from the video
	// publishers. Written by negotiate before any goroutine that may call
	// end exists, read by end.
	detach []func()
}

var errClosed = errors.New("whep: handler closed")

// NewHandler checks that the pion API builds (VP8 and Opus only, TWCC with
// GCC, NACK and RTCP reports, the ICE settings of cfg) and returns the
// handler; each PeerConnection gets its own API (see newAPI).
func NewHandler(cfg Config) (*Handler, error) {
	if len(cfg.Publishers) == 0 {
		return nil, errors.New("whep: no publishers")
	}
	if cfg.MaxViewers <= 0 {
		cfg.MaxViewers = 64
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	if cfg.GatherTimeout <= 0 {
		cfg.GatherTimeout = 10 * time.Second
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = rtcendpoint.DefaultConnectTimeout
	}
	if cfg.MaxUnconnectedPerAddr == 0 {
		cfg.MaxUnconnectedPerAddr = rtcendpoint.DefaultMaxUnconnectedPerAddr
	}
	se, seLoop, err := rtcendpoint.SettingEngines("whep", cfg.SettingEngine, cfg.UDPPortMin, cfg.UDPPortMax, cfg.NAT1To1IPs, cfg.IncludeLoopback)
	if err != nil {
		return nil, err
	}
	video := videoCodecs(cfg.Publishers)
	// Build once to report configuration errors here rather than per POST.
	if _, err := newAPI(se, video, bweLimits{initial: 1, min: 1, max: 1}, func(*estimator) {}, nil); err != nil {
		return nil, err
	}
	h := &Handler{
		cfg: cfg, se: se, seLoop: seLoop, video: video, ladders: ladders(cfg.Publishers),
		unconnected: rtcendpoint.NewUnconnected(cfg.MaxUnconnectedPerAddr),
		front:       rtcendpoint.NewFront("whep", cfg.Token, cfg.MaxBodyBytes, cfg.ICEServers),
	}
	h.front.Post, h.front.Delete, h.front.NotFound = h.post, h.delete, "no such session"
	h.front.Extensions = map[string]rtcendpoint.Extension{"layer": {Rel: LayerRel, Serve: h.layer}}
	return h, nil
}

// videoCodecs are the video codecs the handler registers: those of its
// publishers, each once, in the publishers' order. H.264 comes twice: as
// sent (constrained baseline) and as baseline, which viewers that offer
// only baseline decode too (constrained baseline is a subset of it).
func videoCodecs(pubs []*Publisher) []webrtc.RTPCodecParameters {
	var out []webrtc.RTPCodecParameters
	seen := map[string]bool{}
	for _, p := range pubs {
		c := p.Capability()
		if p.Kind() != webrtc.RTPCodecTypeVideo || seen[c.MimeType] {
			continue
		}
		seen[c.MimeType] = true
		c.RTCPFeedback = rtcendpoint.VideoFeedback
		switch c.MimeType {
		case webrtc.MimeTypeVP8:
			out = append(out, webrtc.RTPCodecParameters{RTPCodecCapability: c, PayloadType: 96})
		case webrtc.MimeTypeH264:
			out = append(out, webrtc.RTPCodecParameters{RTPCodecCapability: c, PayloadType: 102})
			plid := c.SDPFmtpLine[strings.LastIndex(c.SDPFmtpLine, "=")+1:]
			c.SDPFmtpLine = h264Fmtp("4200" + plid[4:])
			out = append(out, webrtc.RTPCodecParameters{RTPCodecCapability: c, PayloadType: 104})
		}
	}
	return out
}

// newAPI builds the pion API for one PeerConnection (the publishers'
// video codecs, Opus, TWCC with GCC send-side bandwidth estimation, NACK
// and RTCP reports); got receives the PeerConnection's estimator when it
// is created.
func newAPI(se webrtc.SettingEngine, video []webrtc.RTPCodecParameters, l bweLimits, got func(*estimator), nacksRefused *atomic.Uint64) (*webrtc.API, error) {
	// Only what we can send: an offer without any of them then has no
	// codec in common, and the session is refused instead of binding a
	// track to a codec we never produce.
	m, err := rtcendpoint.NewMediaEngine(video)
	if err != nil {
		return nil, err
	}
	// Order matters: the first registered interceptor is the innermost
	// on the send path. GCC (cc) must see each packet after the TWCC
	// header-extension interceptor stamped its transport-wide sequence
	// number, which is what the viewer's feedback refers to; NACK
	// retransmissions then pass through both and are counted too.
	reg := &interceptor.Registry{}
	ccf, err := newEstimatorFactory(l, got)
	if err != nil {
		return nil, err
	}
	reg.Add(ccf)
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(m, reg); err != nil {
		return nil, err
	}
	if err := rtcendpoint.AddNACKAndReports(m, reg, nacksRefused); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

// Sessions returns the number of live sessions.
func (h *Handler) Sessions() int { return h.sessions.Len() }

// Close ends every session, refuses new ones (503) and waits for all
// session goroutines. It is idempotent.
func (h *Handler) Close() error {
	h.sessions.Close(h.end)
	return nil
}

// ServeHTTP implements WHEP.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.front.ServeHTTP(w, r) }

func (h *Handler) delete(id string) bool {
	s, ok := h.sessions.Get(id)
	if ok {
		h.end(s)
	}
	return ok
}

// reserve takes a viewer slot, so that concurrent POSTs cannot overshoot
// MaxViewers while they negotiate.
func (h *Handler) reserve() (int, error) {
	return h.sessions.Reserve(h.cfg.MaxViewers, errClosed, func(int) (int, error) {
		return http.StatusServiceUnavailable, errors.New("too many viewers")
	})
}

func (h *Handler) post(w http.ResponseWriter, r *http.Request, body string) {
	if err := checkOffer(body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// Without BUNDLE, the viewer gets its first video section (its first
	// section when it wants no video) and the others are rejected.
	offer, unbundled, err := rtcendpoint.BundleOne(body, wantsVideo(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	release, ok := h.unconnected.Admit(w, r, "sessions", h.cfg.ConnectTimeout)
	if !ok {
		return
	}
	if code, err := h.reserve(); err != nil {
		release()
		w.Header().Set("Retry-After", "10")
		http.Error(w, err.Error(), code)
		return
	}
	se := h.se
	if rtcendpoint.FromLoopback(r) {
		se = h.seLoop
	}
	s, answer, code, err := h.negotiate(r.Context(), se, offer, r.URL.Query().Get("rendition"), release)
	if err == nil && unbundled != nil {
		if answer, err = unbundled.Answer(answer); err != nil {
			code = http.StatusInternalServerError
		}
	}
	if s == nil {
		release()
	}
	if err == nil {
		err = h.sessions.Settle(s.id, s, true, func(closed bool) error {
			switch {
			case closed:
				return errClosed
			case s.ended:
				// The connection failed while we were still gathering.
				return errors.New("connection failed during negotiation")
			}
			return nil
		})
		if err != nil {
			code = http.StatusServiceUnavailable
		}
	} else {
		h.sessions.Settle("", nil, false, nil)
	}
	if err != nil {
		if s != nil {
			h.end(s)
		}
		http.Error(w, err.Error(), code)
		return
	}
	var exts []string
	if s.lt != nil {
		exts = append(exts, "layer")
	}
	h.front.Answer(w, r, s.id, answer, exts...)
}

// negotiate creates the PeerConnection for offer and returns the session
// (also on error, when it has one to clean up) and the complete answer.
func (h *Handler) negotiate(ctx context.Context, se webrtc.SettingEngine, offer, rendition string, release func()) (*session, string, int, error) {
	if rendition != "" && !h.hasRendition(rendition) {
		return nil, "", http.StatusBadRequest, fmt.Errorf("no rendition %q: this server has %s", rendition, strings.Join(h.renditions(), ", "))
	}
	// The estimator is created synchronously inside NewPeerConnection
	// (interceptor Build), by this PeerConnection's own factory.
	var est *estimator
	api, err := newAPI(se, h.video, h.bweLimits(), func(e *estimator) { est = e }, &h.nacksRefused)
	if err != nil {
		return nil, "", http.StatusInternalServerError, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: h.cfg.ICEServers})
	if err != nil {
		return nil, "", http.StatusInternalServerError, err
	}
	s := &session{id: rtcendpoint.NewID(), pc: pc, failed: make(chan struct{}, 1), done: make(chan struct{}),
		connected: make(chan struct{}, 1), release: release, answered: make(chan struct{})}
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateConnected {
			select {
			case s.connected <- struct{}{}:
			default:
			}
		}
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			// The viewer vanished (ICE failed) or the connection was
			// closed. Only signal: ending the session from pion's
			// callback would call pc.Close inside pion.
			select {
			case s.failed <- struct{}{}:
			default:
			}
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return s, "", http.StatusBadRequest, errors.New("bad offer: " + err.Error())
	}
	// AddTrack after the offer reuses the offer's recvonly transceivers of
	// the right kind. Only kinds the offer has room for are added; a track
	// added without one would just sit in an unused transceiver.
	var senders []*webrtc.RTPSender
	var pubs []*Publisher
	free := map[webrtc.RTPCodecType]int{}
	for _, t := range pc.GetTransceivers() {
		if t.Sender() == nil && t.Mid() != "" {
			free[t.Kind()]++
		}
	}
	// One video publisher per viewer: the codec its offer prefers, in the
	// rendition it asked for. Over a ladder the viewer gets its own track
	// that moves between rungs (layerTrack), starting at that rendition.
	video := h.chooseVideo(offer, rendition)
	var lt *layerTrack
	var readers []func() // each sender's RTCP reader
	for _, p := range h.cfg.Publishers {
		if free[p.Kind()] == 0 || p.Kind() == webrtc.RTPCodecTypeVideo && p != video {
			continue
		}
		free[p.Kind()]--
		if l := h.ladders[strings.ToLower(p.Codec())]; p.Kind() == webrtc.RTPCodecTypeVideo && len(l) > 1 {
			if lt, err = newLayerTrack(l, slices.Index(l, p), p.track.StreamID()); err != nil {
				return s, "", http.StatusInternalServerError, err
			}
			s.lt = lt
			s.detach = append(s.detach, lt.Close)
			snd, err := pc.AddTrack(lt.out)
			if err != nil {
				return s, "", http.StatusInternalServerError, err
			}
			senders, readers = append(senders, snd), append(readers, func() { lt.ReadRTCP(snd) })
			continue
		}
		snd, err := p.Attach(pc)
		if err != nil {
			return s, "", http.StatusInternalServerError, err
		}
		if p.Kind() == webrtc.RTPCodecTypeVideo {
			s.video = p
		}
		s.detach = append(s.detach, p.Hold())
		senders, pubs = append(senders, snd), append(pubs, p)
		readers = append(readers, func() { p.ReadRTCP(snd) })
	}
	if len(senders) == 0 {
		return s, "", http.StatusBadRequest, fmt.Errorf("offer has no audio or video section to receive into with a codec in common: this server sends %s", h.sends())
	}
	if est != nil && lt == nil {
		s.detach = append(s.detach, attachEstimator(s.id, est, pubs)...)
	}
	if h.cfg.OnSession != nil {
		if f := h.cfg.OnSession(s.id, pc, strings.Contains(offer, "\nm=application ")); f != nil {
			s.detach = append(s.detach, f)
		}
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return s, "", http.StatusBadRequest, errors.New("cannot answer offer: " + err.Error())
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return s, "", http.StatusBadRequest, errors.New("cannot answer offer: " + err.Error())
	}
	if !h.negotiated(pc, senders) {
		return s, "", http.StatusBadRequest, fmt.Errorf("no codec in common: this server sends %s", h.sends())
	}
	// RTCP readers run for the life of the PeerConnection: they end when
	// pc.Close makes ReadRTCP fail.
	for _, read := range readers {
		if !h.spawn(read) {
			return s, "", http.StatusServiceUnavailable, errClosed
		}
	}
	if lt != nil && !h.spawn(func() { h.adaptLayers(s, lt, est, pubs) }) {
		return s, "", http.StatusServiceUnavailable, errClosed
	}
	if !h.spawn(func() { h.watch(s) }) {
		return s, "", http.StatusServiceUnavailable, errClosed
	}
	tm := time.NewTimer(h.cfg.GatherTimeout)
	defer tm.Stop()
	select {
	case <-gathered:
	case <-tm.C:
		return s, "", http.StatusGatewayTimeout, errors.New("ICE gathering timed out")
	case <-ctx.Done():
		return s, "", http.StatusServiceUnavailable, ctx.Err()
	}
	close(s.answered)
	return s, pc.LocalDescription().SDP, 0, nil
}

// adaptLayers moves a ladder viewer between rungs as its bandwidth
// estimate goes (layerTrack.adapt), every adaptInterval until the session
// ends. Its estimate counts for a rung's encode only on the smallest rung,
// the one with nowhere lower to go: above it a poor viewer moves down
// instead of lowering the picture of everybody on its rung.
func (h *Handler) adaptLayers(s *session, lt *layerTrack, est *estimator, others []*Publisher) {
	audio := 0
	for _, p := range others {
		if p.Kind() == webrtc.RTPCodecTypeAudio {
			audio += int(p.bwe.target.Load())
		}
	}
	bottom := lt.rungs[len(lt.rungs)-1]
	var detach func()
	defer func() {
		if detach != nil {
			detach()
		}
	}()
	tk := time.NewTicker(adaptInterval)
	defer tk.Stop()
	for {
		select {
		case <-s.done:
			return
		case now := <-tk.C:
			var l linkState
			if est != nil && est.feedback.Load() > 0 {
				l.share = videoShare(est.GetTargetBitrate(), audio, 1)
				st := est.GetStats()
				loss, _ := st["averageLoss"].(float64)
				l.congested = loss > lossCongested || st["usage"] == "overuse"
			}
			lt.adapt(l, now)
			cur, _ := lt.rung()
			switch onBottom := lt.rungs[cur] == bottom; {
			case onBottom && detach == nil && est != nil:
				detach = bottom.addViewer(&viewerBWE{session: s.id, est: est, audio: audio, nVideo: 1})
			case !onBottom && detach != nil:
				detach()
				detach = nil
			}
		}
	}
}

// ladders groups the video publishers by codec, in pubs' order, keeping
// the codecs with more than one (a rendition ladder).
func ladders(pubs []*Publisher) map[string]ladder {
	out := map[string]ladder{}
	for _, p := range pubs {
		if p.Kind() == webrtc.RTPCodecTypeVideo {
			k := strings.ToLower(p.Codec())
			out[k] = append(out[k], p)
		}
	}
	for k, l := range out {
		if len(l) < 2 {
			delete(out, k)
		}
	}
	return out
}

// watch ends s when its connection fails, or when it has not connected
// within ConnectTimeout of its answer (gathering, bounded by
// GatherTimeout, is not the viewer's time); it returns when s ends.
func (h *Handler) watch(s *session) {
	var deadline <-chan time.Time
	answered := s.answered
	for {
		select {
		case <-s.failed:
			h.end(s)
			return
		case <-s.done:
			return
		case <-answered:
			answered = nil
			tm := time.NewTimer(h.cfg.ConnectTimeout)
			defer tm.Stop()
			deadline = tm.C
		case <-s.connected:
			s.release()
			answered, deadline = nil, nil
		case <-deadline:
			h.connectTimeouts.Add(1)
			h.end(s)
			return
		}
	}
}

// wantsVideo is the section of an offer without BUNDLE a viewer is
// answered in: its first video section, or its first audio or video
// section when it has no video.
func wantsVideo(offer string) func(*sdp.MediaDescription) bool {
	video := strings.Contains(offer, "\nm=video ")
	return func(md *sdp.MediaDescription) bool {
		m := md.MediaName.Media
		return m == "video" || !video && m == "audio"
	}
}

// checkOffer refuses, before pion sees it, an offer that is not SDP, has
// too many media sections (rtcendpoint.ParseOffer) or has no audio or
// video section at all.
func checkOffer(offer string) error {
	sd, err := rtcendpoint.ParseOffer(offer)
	if err != nil {
		return err
	}
	for _, md := range sd.MediaDescriptions {
		if m := md.MediaName.Media; m == "audio" || m == "video" {
			return nil
		}
	}
	return errors.New("offer has no audio or video section to receive into")
}

// bweLimits are the GCC bounds for a new PeerConnection (see bweLimits),
// derived from the publishers a viewer may get: the range of estimates over
// which some video share lies between its publisher's floor and ceiling.
// The initial estimate is what is being sent now, so a new viewer does not
// move the shared target before its feedback says anything.
func (h *Handler) bweLimits() bweLimits {
	var audio, n, floor, ceiling, cur int
	for _, p := range h.cfg.Publishers {
		if p.Kind() != webrtc.RTPCodecTypeVideo {
			audio += int(p.bwe.target.Load())
			continue
		}
		if n == 0 || p.bwe.floor < floor {
			floor = p.bwe.floor
		}
		n++
		ceiling = max(ceiling, p.bwe.ceiling)
		cur = max(cur, int(p.bwe.target.Load()))
	}
	// A viewer receives one video publisher (its codec, its rung).
	total := func(share int) int { return share*videoShareDen/videoShareNum + audio }
	// GCC may estimate up to twice the largest bitrate sent: a rendition
	// ladder's viewers move up when their estimate carries the rung
	// above, and a capped estimate would sit right at the top's need.
	l := bweLimits{min: total(floor), max: total(2 * ceiling)}
	l.min = max(l.min, 1) // audio only: GCC still needs sane bounds
	l.max = max(l.max, l.min)
	l.initial = clampInt(total(cur), l.min, l.max)
	return l
}

// attachEstimator registers a session's estimator with the video publishers
// it is attached to, with the audio sent on the same transport, and returns
// the funcs that unregister it.
func attachEstimator(id string, est *estimator, pubs []*Publisher) []func() {
	var audio, nVideo int
	for _, p := range pubs {
		if p.Kind() == webrtc.RTPCodecTypeVideo {
			nVideo++
		} else {
			audio += int(p.bwe.target.Load())
		}
	}
	var out []func()
	for _, p := range pubs {
		if p.Kind() == webrtc.RTPCodecTypeVideo {
			out = append(out, p.addViewer(&viewerBWE{session: id, est: est, audio: audio, nVideo: nVideo}))
		}
	}
	return out
}

// negotiated reports whether at least one of our senders ended up in a
// sending m-section with a codec: pion answers an offer without a common
// codec with rejected or inactive sections rather than an error.
func (h *Handler) negotiated(pc *webrtc.PeerConnection, senders []*webrtc.RTPSender) bool {
	for _, t := range pc.GetTransceivers() {
		snd := t.Sender()
		if snd == nil || t.Mid() == "" {
			continue
		}
		ours := false
		for _, s := range senders {
			ours = ours || s == snd
		}
		d := t.Direction()
		if !ours || (d != webrtc.RTPTransceiverDirectionSendonly && d != webrtc.RTPTransceiverDirectionSendrecv) {
			continue
		}
		if len(snd.GetParameters().Codecs) > 0 && len(snd.GetParameters().Encodings) > 0 {
			return true
		}
	}
	return false
}

// spawn runs f on a goroutine that Close waits for, unless the handler is
// closed already (WaitGroup.Add must not race with a Wait at zero).
func (h *Handler) spawn(f func()) bool { return h.sessions.Go(f) }

// end closes s's PeerConnection and forgets it. Idempotent; safe from any
// goroutine except pion's callbacks.
func (h *Handler) end(s *session) {
	s.once.Do(func() {
		h.sessions.Remove(s.id, s, func() { s.ended = true })
		for _, f := range s.detach {
			f()
		}
		if s.release != nil {
			s.release()
		}
		s.pc.Close()
		close(s.done)
	})
	<-s.done
}

// chooseVideo is the video publisher for a viewer: of the codecs the
// offer's first video section lists, in its order of preference (the
// order of its payload types), the first that a publisher sends; nil when
// none is. The answer lists every codec in common (as pion makes it); the
// sender sends the chosen one, and viewers decode by payload type. Of a
// codec's publishers, the viewer gets the one of the rendition it asked
// for, else the first (Config.Publishers' order: the ladder's top).
func (h *Handler) chooseVideo(offer, rendition string) *Publisher {
	sd, err := rtcendpoint.ParseOffer(offer)
	if err != nil {
		return nil
	}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "video" {
			continue
		}
		for _, name := range rtcendpoint.CodecOrder(md) {
			for _, p := range h.cfg.Publishers {
				if p.Kind() == webrtc.RTPCodecTypeVideo && strings.EqualFold(p.Codec(), "video/"+name) &&
					(rendition == "" || p.Rendition() == rendition) {
					return p
				}
			}
		}
		return nil
	}
	return nil
}

// renditions lists the ladder's rungs the handler sends, in its
// publishers' order.
func (h *Handler) renditions() []string {
	var out []string
	for _, p := range h.cfg.Publishers {
		if r := p.Rendition(); r != "" && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

func (h *Handler) hasRendition(name string) bool { return slices.Contains(h.renditions(), name) }

// sends lists the codecs the handler sends, for errors.
func (h *Handler) sends() string {
	var names []string
	for _, c := range h.video {
		if n := strings.TrimPrefix(c.MimeType, "video/"); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, p := range h.cfg.Publishers {
		if p.Kind() == webrtc.RTPCodecTypeAudio {
			names = append(names, "opus")
			break
		}
	}
	return strings.Join(names, ", ")
}
