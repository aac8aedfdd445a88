package whip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/internal/rtcendpoint"
	"github.com/shadercast/shadercast/whep"
)

// ClientConfig configures a push Client.
type ClientConfig struct {
	// URL is the WHIP endpoint to POST offers to.
	URL string
	// Token, when set, is sent as "Authorization: Bearer <Token>" on
	// POST and DELETE.
	Token string
	// Publishers are the tracks to push: one audio and one video track,
	// the video in one or more codecs (a publisher each, VP8 and H.264,
	// in the order of preference to offer). With several, the offer lists
	// them all and the push sends the codec the server's answer puts
	// first. They are shared with WHEP viewers: the push adds one more
	// PeerConnection bound to a publisher's track, not another encode
	// (an on-demand publisher encodes while the push holds it). The Client
	// does not close them.
	Publishers []*whep.Publisher
	// ICEServers and SettingEngine configure the client's PeerConnections.
	ICEServers    []webrtc.ICEServer
	SettingEngine *webrtc.SettingEngine
	// MinBackoff and MaxBackoff bound the wait between attempts; 0 means
	// 1 s and 30 s. The wait doubles after each failed attempt (with
	// jitter: a random 50–100% of it) and starts over from MinBackoff
	// after a session that stayed connected for MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// A Retry-After on a refused POST is honoured (up to 10 minutes) when
	// longer than the backoff; 401, 403 and 404 are logged at error level
	// and retried at MaxBackoff.
	//
	// ConnectTimeout bounds one attempt from POST to a connected
	// PeerConnection; 0 means 20 s.
	ConnectTimeout time.Duration
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Logger receives connection events; nil means slog.Default().
	Logger *slog.Logger
}

// ClientState is where a Client is in its connect/retry cycle.
type ClientState string

const (
	StateIdle       ClientState = "idle"       // Run not called yet
	StateConnecting ClientState = "connecting" // POST sent or ICE/DTLS under way
	StateConnected  ClientState = "connected"  // media flowing
	StateBackoff    ClientState = "backoff"    // waiting before the next attempt
	StateStopped    ClientState = "stopped"    // Run returned
)

// ClientStats is a snapshot of a Client, for the service's stats API.
type ClientStats struct {
	State    ClientState
	Attempts uint64 // offers POSTed (or tried to)
	Connects uint64 // attempts that reached connected
	// LastError is the last attempt's failure ("" before any).
	LastError   string
	LastErrorAt time.Time
	// ConnectedSince is when the current session connected (zero unless
	// connected); Resource is its WHIP resource URL.
	ConnectedSince time.Time
	Resource       string
	// NextAttempt is when the next attempt starts (in backoff).
	NextAttempt time.Time
	// VideoCodec is the video codec the last session sent (MIME type).
	VideoCodec string
}

// Client pushes whep.Publishers to a WHIP server and keeps the push up:
// a failed POST, an ICE failure or the server closing the session lead to
// a new attempt after a backoff, until Run's context ends.
type Client struct {
	cfg  ClientConfig
	log  *slog.Logger
	hc   *http.Client
	base *url.URL
	// video are the video publishers, in the order offered.
	video []*whep.Publisher

	mu      sync.Mutex
	st      ClientStats
	running bool
}

// NewClient checks cfg and returns a client; nothing connects before Run.
func NewClient(cfg ClientConfig) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("whip: client URL %q must be an http(s) URL", cfg.URL)
	}
	if len(cfg.Publishers) == 0 {
		return nil, errors.New("whip: client has no publishers")
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		return nil, fmt.Errorf("whip: MaxBackoff %v below MinBackoff %v", cfg.MaxBackoff, cfg.MinBackoff)
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 20 * time.Second
	}
	c := &Client{cfg: cfg, log: cfg.Logger, hc: cfg.HTTPClient, base: u, st: ClientStats{State: StateIdle}}
	audio := 0
	for _, p := range cfg.Publishers {
		if p.Kind() == webrtc.RTPCodecTypeVideo {
			c.video = append(c.video, p)
		} else {
			audio++
		}
	}
	if audio > 1 || len(c.video) == 0 {
		return nil, errors.New("whip: client needs one video track (in one or more codecs) and at most one audio track")
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.hc == nil {
		c.hc = http.DefaultClient
	}
	if _, err := c.newAPI(); err != nil {
		return nil, err
	}
	return c, nil
}

// newAPI builds the sending pion API: VP8 and Opus, NACK (retransmission
// from the publishers' packets) and RTCP sender reports (which the server
// needs for lip sync and round-trip time).
// videoCodecs are the push's video codecs, one per video publisher, in
// their order, with the payload types the offer gives them.
func (c *Client) videoCodecs() []webrtc.RTPCodecParameters {
	var out []webrtc.RTPCodecParameters
	for i, p := range c.video {
		vc := p.Capability()
		vc.RTCPFeedback = rtcendpoint.VideoFeedback
		out = append(out, webrtc.RTPCodecParameters{RTPCodecCapability: vc, PayloadType: webrtc.PayloadType(96 + 2*i)})
	}
	return out
}

func (c *Client) newAPI() (*webrtc.API, error) {
	m, err := rtcendpoint.NewMediaEngine(c.videoCodecs())
	if err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if err := rtcendpoint.AddNACKAndReports(m, reg, nil); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	if c.cfg.SettingEngine != nil {
		se = *c.cfg.SettingEngine
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

// State is the client's current state.
func (c *Client) State() ClientState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.State
}

// Stats returns a snapshot of the client.
func (c *Client) Stats() ClientStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st
}

func (c *Client) update(f func(*ClientStats)) {
	c.mu.Lock()
	f(&c.st)
	c.mu.Unlock()
}

// maxRetryAfter caps the server's Retry-After.
const maxRetryAfter = 10 * time.Minute

// statusError is a non-201 answer to the POST.
type statusError struct {
	code       int
	reason     string
	retryAfter time.Duration
}

func (e *statusError) Error() string {
	return fmt.Sprintf("whip: server answered %d %s: %s", e.code, http.StatusText(e.code), e.reason)
}

// Run connects and keeps the push connected until ctx ends; then it
// DELETEs the session, closes the PeerConnection and returns ctx's error.
// It returns early only if Run is already running.
func (c *Client) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.running {
		c.mu.Unlock()
		return errors.New("whip: client already running")
	}
	c.running = true
	c.mu.Unlock()
	defer c.update(func(s *ClientStats) {
		s.State, s.ConnectedSince, s.Resource, s.NextAttempt = StateStopped, time.Time{}, "", time.Time{}
		c.running = false
	})
	backoff := c.cfg.MinBackoff
	for {
		connected, err := c.session(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if connected >= c.cfg.MaxBackoff {
			backoff = c.cfg.MinBackoff // it was a good session: start over
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(2*backoff, c.cfg.MaxBackoff)
		var se *statusError
		if errors.As(err, &se) {
			switch se.code {
			case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
				// Retrying will not help until somebody fixes the token
				// or the URL; keep trying slowly and say so loudly.
				c.log.Error("whip: push refused; check the URL and token", "url", c.cfg.URL, "status", se.code, "reason", se.reason)
				wait = c.cfg.MaxBackoff
			}
			if se.retryAfter > wait {
				// Honoured, within reason: a bogus day-long value must
				// not silence the push for a day.
				wait = min(se.retryAfter, maxRetryAfter)
			}
		}
		c.log.Warn("whip: push failed, retrying", "url", c.cfg.URL, "err", err, "in", wait)
		next := time.Now().Add(wait)
		c.update(func(s *ClientStats) {
			s.State, s.LastError, s.LastErrorAt, s.NextAttempt = StateBackoff, err.Error(), time.Now(), next
			s.ConnectedSince, s.Resource = time.Time{}, ""
		})
		tm := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			tm.Stop()
			return ctx.Err()
		case <-tm.C:
		}
	}
}

// session makes one attempt and, once connected, holds it until it fails
// or ctx ends. It returns how long it was connected and why it ended.
func (c *Client) session(ctx context.Context) (time.Duration, error) {
	c.update(func(s *ClientStats) { s.State, s.NextAttempt = StateConnecting, time.Time{}; s.Attempts++ })
	api, err := c.newAPI()
	if err != nil {
		return 0, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: c.cfg.ICEServers})
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	var resource string
	defer func() {
		if resource != "" {
			c.delete(resource)
		}
		pc.Close()
		wg.Wait() // RTCP readers end with the PeerConnection
	}()
	ended := make(chan webrtc.PeerConnectionState, 1)
	up := make(chan struct{}, 1)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			select {
			case up <- struct{}{}:
			default:
			}
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			select {
			case ended <- st:
			default:
			}
		}
	})
	// Publisher.Attach would add a sendrecv transceiver; WHIP wants
	// sendonly. Either way the transceiver is bound to a publisher's
	// shared track, so no extra encode. The video one starts with the
	// first codec's track and offers every codec of the push.
	type sending struct {
		p  *whep.Publisher
		tr *webrtc.RTPTransceiver
	}
	var sends []sending
	var video *webrtc.RTPTransceiver
	for _, p := range c.cfg.Publishers {
		if p.Kind() == webrtc.RTPCodecTypeVideo && p != c.video[0] {
			continue
		}
		tr, err := pc.AddTransceiverFromTrack(p.Track(), webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return 0, err
		}
		if p.Kind() == webrtc.RTPCodecTypeVideo {
			video = tr
			if err := tr.SetCodecPreferences(c.videoCodecs()); err != nil {
				return 0, err
			}
		}
		sends = append(sends, sending{p, tr})
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout)
	defer cancel()
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return 0, err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return 0, err
	}
	select {
	case <-gathered:
	case <-actx.Done():
		return 0, fmt.Errorf("whip: ICE gathering: %w", actx.Err())
	}
	answer, loc, err := c.post(actx, pc.LocalDescription().SDP)
	if err != nil {
		return 0, err
	}
	resource = loc
	if video != nil {
		// The codec the server's answer puts first is the one sent; the
		// track is chosen before the answer is applied, which starts it.
		p := c.answered(answer, video.Mid())
		if p != c.video[0] {
			if err := video.Sender().ReplaceTrack(p.Track()); err != nil {
				return 0, fmt.Errorf("whip: sending %s: %w", p.Codec(), err)
			}
		}
		for i := range sends {
			if sends[i].tr == video {
				sends[i].p = p
			}
		}
		c.update(func(s *ClientStats) { s.VideoCodec = p.Codec() })
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return 0, fmt.Errorf("whip: bad answer: %w", err)
	}
	for _, sd := range sends {
		// An on-demand publisher encodes while the push lasts.
		defer sd.p.Hold()()
		p, snd := sd.p, sd.tr.Sender()
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.ReadRTCP(snd) // PLI/FIR from the server become keyframes
		}()
	}
	select {
	case <-up:
	case st := <-ended:
		return 0, fmt.Errorf("whip: connection %s before it was up", st)
	case <-actx.Done():
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("whip: not connected within %v", c.cfg.ConnectTimeout)
	}
	since := time.Now()
	c.update(func(s *ClientStats) {
		s.State, s.ConnectedSince, s.Resource = StateConnected, since, resource
		s.Connects++
	})
	c.log.Info("whip: pushing", "url", c.cfg.URL, "resource", resource)
	select {
	case st := <-ended:
		return time.Since(since), fmt.Errorf("whip: connection %s", st)
	case <-ctx.Done():
		return time.Since(since), ctx.Err()
	}
}

// post sends the offer and returns the answer and the resource URL.
func (c *Client) post(ctx context.Context, offer string) (string, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, strings.NewReader(offer))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/sdp")
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("whip: POST: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", "", fmt.Errorf("whip: reading answer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		reason := strings.TrimSpace(string(body))
		if len(reason) > 200 {
			reason = reason[:200] + "…"
		}
		return "", "", &statusError{code: resp.StatusCode, reason: reason, retryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", "", errors.New("whip: 201 without Location")
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "", "", fmt.Errorf("whip: bad Location %q: %w", loc, err)
	}
	// The Location is relative to the URL the offer went to (RFC 9725).
	return string(body), resp.Request.URL.ResolveReference(u).String(), nil
}

// delete ends the server's session; best effort, bounded, not bound to
// Run's context (which is usually what just ended).
func (c *Client) delete(resource string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, resource, nil)
	if err != nil {
		return
	}
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.log.Debug("whip: DELETE failed", "resource", resource, "err", err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// retryAfter parses Retry-After (seconds or an HTTP date); 0 if absent or
// unparsable.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t))
	}
	return 0
}

// answered is the video publisher whose codec the answer lists first in
// the video section mid (the first video publisher when the answer names
// none of them).
func (c *Client) answered(answer, mid string) *whep.Publisher {
	sd := &sdp.SessionDescription{}
	if sd.UnmarshalString(answer) != nil {
		return c.video[0]
	}
	for _, md := range sd.MediaDescriptions {
		if m, _ := md.Attribute("mid"); m != mid {
			continue
		}
		for _, name := range rtcendpoint.CodecOrder(md) {
			for _, p := range c.video {
				if strings.EqualFold(p.Codec(), "video/"+name) {
					return p
				}
			}
		}
	}
	return c.video[0]
}
