// Package generator is the server-side twin of the browser's
// MediaStreamTrackGenerator (W3C "MediaStreamTrack Insertable Streams",
// mediacapture-transform): application code writes media.VideoFrame or
// media.AudioData values into a Writable, and they come out of a Track that
// the rest of shadercast (typically the encoder, through a Sink) consumes
// like any other live track.
//
// # Mapping to the web API
//
//	new MediaStreamTrackGenerator({kind})  New(kind) / NewWithOptions
//	generator.writable                     Track.Writable()
//	writer.write(frame)                    Writable.Write(ctx, frame)
//	writer.close() / writer.abort(reason)  Writable.Close() / Writable.Abort(reason)
//	track.id, kind, label                  ID(), Kind(), Label()/SetLabel
//	track.enabled                          Enabled()/SetEnabled
//	track.muted                            Muted()/SetMuted
//	track.readyState                       ReadyState()
//	track.stop(), track.clone()            Stop(), Clone()
//	track.onended                          OnEnded
//	track.getSettings()                    Settings()
//	MediaStreamTrackProcessor / a sink     Track.NewSink() + Sink.Next(ctx)
//	new MediaStream([tracks])              NewMediaStream(tracks...)
//
// # Semantics and deliberate differences
//
// The track is real time, not a buffer: every sink has a small bounded
// queue (Options.QueueSize, default 1) and a write that finds it full drops
// the OLDEST queued frame, so a slow consumer sees the newest picture
// instead of falling further behind, and Write never waits for a consumer.
// Drops are counted in Stats.
//
// Frame ownership follows WebCodecs: Write takes ownership of the frame and
// always closes it, on success and on every error, so a producer never has
// to decide who closes. Each sink receives its own Clone; whoever calls
// Sink.Next owns the frame it returns and must Close it.
//
// A disabled track (SetEnabled(false)) keeps its timing but blanks the
// content, as browsers do: video becomes black frames of the written
// frame's format, size, timestamp and duration; audio becomes silence of
// the written data's format, rate, channel count, length and timestamp.
// Enabled is per track object (clones have their own), Muted belongs to the
// shared source: in the web muted describes the source, and here only the
// application sets it. A write while muted is dropped and counted.
//
// Our choice, not the browser's: the source keeps the last written frame,
// and a sink attached later starts with it immediately, so an encoder that
// attaches mid-stream does not wait for the next write to produce output.
//
// A track ends when it is stopped (only that clone), when the last live
// clone is stopped (which also closes the Writable), or when the Writable
// is closed or aborted (all clones). OnEnded runs once per track object.
// Sinks of an ended track drain what is queued and then report ErrEnded.
package generator
