package e2e

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/shadercast/shadercast/internal/livekittest"
	"github.com/shadercast/shadercast/internal/rtctest"
)

// lkSubscriber is a LiveKit participant (LiveKit's Go SDK) that decodes
// the video it is sent and counts the sound.
type lkSubscriber struct {
	room *lksdk.Room

	mu        sync.Mutex
	frames    int
	w, h      int
	codec     string
	from      string // the publisher's identity
	audioPkts int
	wg        sync.WaitGroup
}

func subscribeLiveKit(t *testing.T, lk *livekittest.Server, room, identity string) *lkSubscriber {
	t.Helper()
	// The SDK logs every state change of its PeerConnections; the test
	// says what matters.
	lksdk.SetLogger(logger.GetDiscardLogger())
	sub := &lkSubscriber{}
	cb := lksdk.NewRoomCallback()
	cb.ParticipantCallback.OnTrackSubscribed = func(tr *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
		sub.wg.Add(1)
		go func() {
			defer sub.wg.Done()
			if tr.Kind() == webrtc.RTPCodecTypeAudio {
				for {
					if _, _, err := tr.ReadRTP(); err != nil {
						return
					}
					sub.mu.Lock()
					sub.audioPkts++
					sub.mu.Unlock()
				}
			}
			sub.readVideo(tr, rp.Identity())
		}()
	}
	r, err := lksdk.ConnectToRoom(lk.URL, lksdk.ConnectInfo{APIKey: livekittest.APIKey, APISecret: livekittest.APISecret,
		RoomName: room, ParticipantIdentity: identity}, cb)
	if err != nil {
		t.Fatalf("joining LiveKit room %s: %v\n%s", room, err, lk.Log())
	}
	sub.room = r
	t.Cleanup(func() {
		r.Disconnect()
		sub.wg.Wait()
	})
	return sub
}

func (s *lkSubscriber) readVideo(tr *webrtc.TrackRemote, from string) {
	dec, depay, err := rtctest.NewDecoder(tr.Codec().MimeType)
	if err != nil {
		return
	}
	defer dec.Close()
	s.mu.Lock()
	s.codec, s.from = tr.Codec().MimeType, from
	s.mu.Unlock()
	sb := samplebuilder.New(256, depay, 90000)
	for {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		sb.Push(p)
		for smp := sb.Pop(); smp != nil; smp = sb.Pop() {
			f, err := dec.Decode(smp.Data, 0)
			if err != nil {
				continue
			}
			s.mu.Lock()
			s.frames++
			s.w, s.h = f.CodedWidth(), f.CodedHeight()
			s.mu.Unlock()
			f.Close()
		}
	}
}

func (s *lkSubscriber) state() (frames, w, h, audio int, codec, from string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frames, s.w, s.h, s.audioPkts, s.codec, s.from
}

// TestLiveKitWHIPPush: --whip-push into a real LiveKit server's WHIP
// ingest, with a LiveKit access token; a subscriber in the room (LiveKit's
// Go SDK) decodes the 1280x720 video and hears the sound. LiveKit killed
// and started again, the push publishes again by itself.
func TestLiveKitWHIPPush(t *testing.T) {
	lk := livekittest.Start(t)
	s := start(t, []string{"SHADERCAST_WHIP_PUSH_TOKEN=" + lk.Token("shadercast", "studio", true)}, nil,
		"--no-barcode", "--whip-push", lk.HTTP+"/whip/v1")
	sub := subscribeLiveKit(t, lk, "studio", "viewer")
	eventually(t, 30*time.Second, "decoded video and sound from LiveKit", func() bool {
		frames, _, _, audio, _, _ := sub.state()
		return frames >= 60 && audio >= 50
	})
	frames, w, h, audio, codec, from := sub.state()
	t.Logf("from %q: %d frames %dx%d in %s, %d audio packets", from, frames, w, h, codec, audio)
	if w != 1280 || h != 720 || from != "shadercast" || !strings.HasPrefix(strings.ToLower(codec), "video/") {
		t.Errorf("the subscriber got %dx%d %s from %q; want 1280x720 from shadercast", w, h, codec, from)
	}
	var st struct {
		Push struct {
			State string `json:"state"`
		} `json:"whipPush"`
	}
	s.getJSON(t, "api/stats", "", &st)
	if st.Push.State == "" {
		t.Errorf("/api/stats has no whipPush state")
	}

	// LiveKit goes away (SIGKILL) and comes back: the push publishes
	// again by itself.
	lk.Kill()
	time.Sleep(2 * time.Second)
	lk.Restart()
	again := subscribeLiveKit(t, lk, "studio", "viewer2")
	eventually(t, 60*time.Second, "video from LiveKit after its restart", func() bool {
		frames, _, _, _, _, _ := again.state()
		return frames >= 30
	})
	s.getJSON(t, "api/stats", "", &st)
	t.Logf("after LiveKit's restart: push %+v", st.Push)
}
