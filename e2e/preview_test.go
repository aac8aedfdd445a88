package e2e

import (
	"bufio"
	"bytes"
	xbin "encoding/binary"
	"fmt"
	"image"
	"image/color"
	"math/bits"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startXvfb runs a virtual X server and returns its DISPLAY. It picks a
// random high display number (-displayfd alone starts from :0 and races
// with other tests' servers), runs with -noreset (a server whose last
// client left resets and drops connections arriving meanwhile) and ends
// with SIGTERM so that it removes its lock files.
func startXvfb(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("Xvfb"); err != nil {
		t.Fatalf("Xvfb not found (%v): install it with scripts/install-deps", err)
	}
	var lastErr string
	for attempt := 0; attempt < 5; attempt++ {
		n := 200 + rand.IntN(700)
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr tailBuffer
		stderr.max = 4096
		cmd := exec.Command("Xvfb", fmt.Sprintf(":%d", n), "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp", "-noreset")
		cmd.ExtraFiles = []*os.File{w}
		cmd.Stderr = &stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start Xvfb: %v", err)
		}
		w.Close()
		line := make(chan string, 1)
		go func() {
			s, _ := bufio.NewReader(r).ReadString('\n')
			line <- strings.TrimSpace(s)
			r.Close()
		}()
		select {
		case got := <-line:
			if got != "" {
				t.Cleanup(func() {
					cmd.Process.Signal(syscall.SIGTERM)
					done := make(chan struct{})
					go func() { cmd.Wait(); close(done) }()
					select {
					case <-done:
					case <-time.After(5 * time.Second):
						cmd.Process.Kill()
						<-done
					}
				})
				return ":" + got
			}
		case <-time.After(15 * time.Second):
		}
		cmd.Process.Kill()
		cmd.Wait()
		lastErr = stderr.String()
	}
	t.Fatalf("Xvfb did not start on 5 display numbers:\n%s", lastErr)
	return ""
}

// screenshot grabs the whole X screen with xwd and decodes it.
func screenshot(t *testing.T, display string) *image.RGBA {
	t.Helper()
	out, err := exec.Command("xwd", "-root", "-silent", "-display", display).Output()
	if err != nil {
		t.Fatalf("xwd (x11-apps, installed by scripts/install-deps): %v", err)
	}
	img, err := decodeXWD(out)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// decodeXWD reads a ZPixmap XWD dump of a 24/32-bit TrueColor screen.
func decodeXWD(b []byte) (*image.RGBA, error) {
	if len(b) < 100 {
		return nil, fmt.Errorf("xwd: %d bytes", len(b))
	}
	var h [25]uint32
	if err := xbin.Read(bytes.NewReader(b[:100]), xbin.BigEndian, &h); err != nil {
		return nil, err
	}
	hdrSize, format, width, height := h[0], h[2], int(h[4]), int(h[5])
	byteOrder, bpp, stride := h[7], int(h[11]), int(h[12])
	rmask, gmask, bmask, ncolors := h[14], h[15], h[16], h[19]
	if format != 2 || (bpp != 32 && bpp != 24) {
		return nil, fmt.Errorf("xwd: format %d, %d bits per pixel (want ZPixmap, 24 or 32)", format, bpp)
	}
	off := int(hdrSize) + int(ncolors)*12
	if len(b) < off+stride*height {
		return nil, fmt.Errorf("xwd: short pixel data")
	}
	var order xbin.ByteOrder = xbin.BigEndian
	if byteOrder == 0 {
		order = xbin.LittleEndian
	}
	chan8 := func(p, m uint32) uint8 { return uint8((p & m) >> bits.TrailingZeros32(m)) }
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	for y := 0; y < height; y++ {
		row := b[off+y*stride:]
		for x := 0; x < width; x++ {
			var p uint32
			if bpp == 32 {
				p = order.Uint32(row[4*x:])
			} else if byteOrder == 0 {
				p = uint32(row[3*x]) | uint32(row[3*x+1])<<8 | uint32(row[3*x+2])<<16
			} else {
				p = uint32(row[3*x])<<16 | uint32(row[3*x+1])<<8 | uint32(row[3*x+2])
			}
			img.SetRGBA(x, y, color.RGBA{chan8(p, rmask), chan8(p, gmask), chan8(p, bmask), 255})
		}
	}
	return img, nil
}

// TestPreviewWindow runs the binary with --preview on a virtual display:
// the screen shows the composited scene, highlight included.
func TestPreviewWindow(t *testing.T) {
	display := startXvfb(t)
	s := start(t, []string{"DISPLAY=" + display}, nil, "--preview")
	var shot *image.RGBA
	green, bright := 0, 0
	eventually(t, 30*time.Second, "the highlighted scene on the X screen", func() bool {
		shot = screenshot(t, display)
		green, bright = 0, 0
		for y := 0; y < shot.Rect.Dy(); y += 2 {
			for x := 0; x < shot.Rect.Dx(); x += 2 {
				c := shot.RGBAAt(x, y)
				if isHighlight(float64(c.R), float64(c.G), float64(c.B)) {
					green++
				}
				if int(c.R)+int(c.G)+int(c.B) > 150 {
					bright++
				}
			}
		}
		return green > 200 && bright > 20000
	})
	var st stats
	s.getJSON(t, "api/stats", "", &st)
	if st.Frames.Out == 0 {
		t.Errorf("no frames composited: %+v", st)
	}
	t.Logf("screen: %d highlight pixels, %d lit pixels (2-pixel grid)", green, bright)
}

// TestPreviewWithoutDisplay: a clear error at start, never a panic.
func TestPreviewWithoutDisplay(t *testing.T) {
	cmd := exec.Command(binary, "--listen", "127.0.0.1:0", "--preview")
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "DISPLAY=") && !strings.HasPrefix(e, "WAYLAND_DISPLAY=") {
			env = append(env, e)
		}
	}
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("want exit status 1, got %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "DISPLAY") || strings.Contains(string(out), "panic") {
		t.Errorf("error should name DISPLAY and not panic:\n%s", out)
	}
}
