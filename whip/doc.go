// Package whip is shadercast's WHIP (WebRTC-HTTP Ingestion Protocol, RFC
// 9725) support, both ways, using pion.
//
// Handler is the ingest endpoint: a publisher (OBS, a browser, another
// shadercast) POSTs an SDP offer and gets 201 Created with the answer and a
// Location to DELETE when done. The answer is sent after ICE gathering
// completes (non-trickle), so PATCH (trickle ICE / ICE restart) is answered
// 405. The offer must send VP8 video (400 "no VP8 video" otherwise: the
// service composites video, so an audio-only publisher is refused too);
// Opus audio is optional. By default one publisher may be live at a time
// (Config.MaxPublishers); another POST gets 409 Conflict with the reason
// and a Retry-After, since the conflict clears when the live one leaves.
//
// Each accepted offer becomes a Publication: its Video (and Audio, when
// the offer sends Opus) are processor queues, i.e. source.Video and
// source.Audio, fed with frames decoded from the network. VP8 is
// depacketized with pion's samplebuilder; since libvpx decodes a frame
// whose reference was lost without complaint, the receive loop watches RTP
// sequence numbers and, after any gap, decodes nothing until the next
// keyframe, asking for it with PLI (rate-limited, repeated while waiting).
// NACK is negotiated so that most losses are repaired before they become
// gaps. Timestamps are microseconds from the RTP clocks, unwrapped and made
// monotonic, each stream anchored at the arrival time of its first packet
// on the publication's clock so that audio and video share one clock.
//
// Untrusted publishers: a publication that has not delivered a decoded
// keyframe within Config.ConnectTimeout (default 10 s) of its answer ends
// with ErrNotConnected, giving its slot back; one remote address (IPv4, or
// an IPv6 /64) may have at most Config.MaxUnconnectedPerAddr (default 4)
// publications before their first picture (429 past it). FirstFrame tells
// when the first keyframe was decoded, which is when a consumer should put
// the publication on air: before that it may be a squatter that never
// connects. The VP8 frame header is read before libvpx sees a keyframe: a
// picture over Config.MaxWidth x MaxHeight (default 1920x1080), or a
// reassembled frame over MaxFrameBytes (1 MiB), ends the publication with
// ErrTooLarge before anything is allocated for it. A panic in a receive
// loop (a decoder bug reached by the publisher's data) is recovered: the
// publication ends with the *safe.PanicError, the handler logs it once and
// counts it (HandlerStats), and every other publication goes on.
//
// A publication ends on DELETE (readers get io.EOF), when the
// PeerConnection fails or closes (the publisher vanished: readers get
// ErrPublisherLost), on Publication.Close, or on Handler.Close.
//
// Client pushes shadercast's own whep.Publishers to an external WHIP
// server, sharing the one encode with the WHEP viewers, and reconnects with
// exponential backoff until its context ends.
package whip
