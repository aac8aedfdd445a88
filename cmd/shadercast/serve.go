package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/shadercast/shadercast/barcode"
	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/source/testsrc"
)

// serve is, until the network service lands, the built-in test source run
// through the pipeline with its frames written as PNG files.
func serve(args []string, stdout, stderr io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	frames := fs.Int("frames", 90, "number of frames to render (0 = until interrupted)")
	every := fs.Int("every", 15, "write every `N`th frame as PNG")
	outDir := fs.String("out", "out/frames", "`DIR` for the highlighted PNG frames")
	width := fs.Int("width", 1280, "test source width")
	height := fs.Int("height", 720, "test source height")
	fps := fs.Float64("fps", 30, "test source frame rate (frames are rendered as fast as the GPU allows)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: shadercast [serve] [flags]

Renders the built-in test source (moving EAN-13, Code 128 and QR codes over
a textured background, a clock and a frame counter) through the GPU
pipeline with the barcode pass, and writes highlighted frames as PNG files.
The WebRTC service (WHEP viewers at http://127.0.0.1:8080/) replaces this
with the service issue; until then this command shows the pipeline's output
as files.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *every < 1 {
		return fmt.Errorf("-every must be at least 1")
	}
	src, err := testsrc.New(*width, *height, *fps)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return err
	}
	dev, err := compositor.OpenDevice(compositor.DeviceOptions{})
	if err != nil {
		return err
	}
	defer dev.Close()
	info := dev.Info()
	log.Info("OpenGL ready", "platform", info.Platform, "renderer", info.Renderer, "version", info.Version)
	pl, err := compositor.NewPipeline(dev, compositor.Config{Output: compositor.OutputRGBA}, compositor.NewBarcodePass(barcode.DefaultParams()))
	if err != nil {
		return err
	}
	defer pl.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	img := image.NewRGBA(image.Rect(0, 0, *width, *height))
	seen := map[string]int{}
	start := time.Now()
	var out compositor.Output
	n := 0
	for ; *frames == 0 || n < *frames; n++ {
		if ctx.Err() != nil {
			break
		}
		src.Render(n, img)
		ts := int64(float64(n) * 1e6 / *fps)
		frame, err := media.NewVideoFrame(img.Pix, media.VideoFrameInit{
			Format: media.RGBA, CodedWidth: *width, CodedHeight: *height,
			Timestamp: ts, Duration: int64(1e6 / *fps),
		})
		if err != nil {
			return err
		}
		err = pl.Process(ctx, frame, &out)
		frame.Close()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return err
		}
		for _, d := range out.Detections {
			seen[d.Format+" "+d.RawValue]++
		}
		if n%*every == 0 {
			rgba, err := imageFromFrame(out.Frame)
			if err == nil {
				path := filepath.Join(*outDir, fmt.Sprintf("frame-%05d.png", n))
				err = writePNG(path, rgba)
				log.Info("wrote frame", "path", path, "barcodes", len(out.Detections))
			}
			if err != nil {
				out.Frame.Close()
				return err
			}
		}
		out.Frame.Close()
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "rendered %d frames in %.1fs (%.1f fps) with the barcode pass; highlighted PNG frames in %s\n",
		n, elapsed.Seconds(), float64(n)/elapsed.Seconds(), *outDir)
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(stdout, "  %-40s in %d frames\n", k, seen[k])
	}
	return nil
}
