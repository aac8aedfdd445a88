package generator_test

import (
	"context"
	"fmt"

	"github.com/shadercast/shadercast/generator"
	"github.com/shadercast/shadercast/media"
)

func Example() {
	ctx := context.Background()
	track, _ := generator.New(generator.KindVideo)
	stream := generator.NewMediaStream(track)
	sink := track.NewSink() // e.g. the encoder

	frame, _ := media.AllocVideoFrame(media.VideoFrameInit{Format: media.I420, CodedWidth: 2, CodedHeight: 2, Timestamp: 40000})
	_ = track.Writable().Write(ctx, frame) // Write owns and closes frame

	got, _ := sink.Next(ctx)
	fmt.Println(len(stream.VideoTracks()), got.Timestamp())
	got.Close() // the consumer owns what Next returns

	track.Writable().Close()
	_, err := sink.Next(ctx)
	fmt.Println(err, track.ReadyState())
	// Output:
	// 1 40000
	// generator: track ended ended
}
