// Command shadercast is the GPU video compositor: frames in, shader passes
// (barcode highlighting first), I420 out.
//
//	shadercast [serve] [flags]      run on the built-in test source
//	shadercast detect [flags] IMAGE...
//	shadercast glinfo               describe the OpenGL context
//
// Run "shadercast COMMAND -h" for a command's flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/shadercast/shadercast/trial"
)

func main() {
	// A trial render of a shader (see package trial) runs in a child of
	// this program; it must not parse flags or start anything else.
	trial.RunChildIfRequested()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `shadercast: GPU video compositor (frames -> shader passes -> I420)

Usage:
  shadercast [serve] [flags]          serve the composited stream over WebRTC (default)
  shadercast shader check FILE...     check ISF/ShaderToy plugins; shader list: every pass
  shadercast detect [flags] IMAGE...  find and read barcodes in still images
  shadercast glinfo                   print the OpenGL context shadercast renders with

Run "shadercast COMMAND -h" for the flags of a command.
`

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	var err error
	switch cmd {
	case "serve":
		err = serve(args, stdout, stderr, logger)
	case "detect":
		return detect(args, stdout, stderr)
	case "shader":
		return shaderCmd(args, stdout, stderr)
	case "glinfo":
		err = glinfo(stdout)
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "shadercast: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "shadercast %s: %v\n", cmd, err)
		return 1
	}
	return 0
}
