package media_test

import (
	"fmt"

	"github.com/shadercast/shadercast/media"
)

// A producer (decoder, GPU readback) fills a pooled frame in place, then
// hands it on; consumers Clone what they keep and everyone Closes.
func ExampleAllocVideoFrame() {
	f, err := media.AllocVideoFrame(media.VideoFrameInit{
		Format: media.I420, CodedWidth: 5, CodedHeight: 3, Timestamp: 40000, Duration: 40000,
	})
	if err != nil {
		panic(err)
	}
	defer f.Close()
	for i := range f.Format().NumPlanes() {
		p, _ := f.Plane(i)
		for y := range p.Height {
			row := p.Data[y*p.Stride : y*p.Stride+p.Width]
			for x := range row {
				row[x] = 128
			}
		}
		fmt.Printf("plane %d: %dx%d stride %d\n", i, p.Width, p.Height, p.Stride)
	}
	kept, _ := f.Clone() // shares pixels
	defer kept.Close()
	fmt.Println(kept)
	// Output:
	// plane 0: 5x3 stride 5
	// plane 1: 3x2 stride 3
	// plane 2: 3x2 stride 3
	// VideoFrame(I420 5x3 ts=40000us dur=40000us bt709/limited)
}
