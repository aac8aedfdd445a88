package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/plugins"
	"github.com/shadercast/shadercast/trial"
)

const shaderUsage = `Usage:
  shadercast shader check [--deadline 2s] FILE...   parse, translate, compile and render 3 frames of each plugin (in a child process killed at the deadline)
  shadercast shader list [--shaders DIR]... [--json] every known pass with its inputs
`

// shaderCmd runs "shadercast shader check|list".
func shaderCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, shaderUsage)
		return 2
	}
	switch args[0] {
	case "check":
		return shaderCheck(args[1:], stdout, stderr)
	case "list":
		return shaderList(args[1:], stdout, stderr)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, shaderUsage)
		return 0
	}
	fmt.Fprintf(stderr, "shadercast shader: unknown command %q\n%s", args[0], shaderUsage)
	return 2
}

// checkSize is the test frame every checked plugin renders.
const checkWidth, checkHeight = 320, 180

func shaderCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("shader check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, shaderUsage); fs.PrintDefaults() }
	deadline := fs.Duration("deadline", trial.DefaultDeadline, "refuse a shader that does not render its frames within `D` (the service's --shader-deadline)")
	width := fs.Int("width", checkWidth, "frame width to render at")
	height := fs.Int("height", checkHeight, "frame height to render at")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	files := fs.Args()
	if len(files) == 0 {
		fmt.Fprintf(stderr, "shadercast shader check: no FILE given\n%s", shaderUsage)
		return 2
	}
	if *width < 16 || *height < 16 || *width > 7680 || *height > 4320 {
		fmt.Fprintf(stderr, "shadercast shader check: size %dx%d out of range (16x16 to 7680x4320)\n", *width, *height)
		return 2
	}
	opts := trial.Options{Deadline: *deadline, Width: *width, Height: *height}
	failed := 0
	for _, f := range files {
		res, err := checkOne(f, opts)
		if errors.Is(err, compositor.ErrNoGL) {
			fmt.Fprintf(stderr, "shadercast shader check: no OpenGL 3.3 context, so shaders cannot be compiled here (install Mesa's EGL and llvmpipe: libegl-mesa0 libgl1-mesa-dri): %v\n", err)
			return 1
		}
		if err != nil {
			failed++
			printDiagnostics(stderr, f, err)
			continue
		}
		plural := "es"
		if res.Passes == 1 {
			plural = ""
		}
		fmt.Fprintf(stdout, "%s: ok (%d pass%s, %dx%d)\n", f, res.Passes, plural, res.Width, res.Height)
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// checkOne reads f (and the .vs beside an ISF file) and has a child
// process parse, compile and render it through a pipeline like the
// service's: a shader that loops for ever costs the child, not us.
func checkOne(f string, opts trial.Options) (trial.Result, error) {
	src, err := os.ReadFile(f)
	if err != nil {
		return trial.Result{}, err
	}
	dir, base := filepath.Split(f)
	if dir == "" {
		dir = "."
	}
	sh := trial.Shader{File: f, Dir: dir, Base: base, Source: src}
	if ext := filepath.Ext(f); ext == ".fs" || ext == ".frag" {
		vs, err := os.ReadFile(strings.TrimSuffix(f, ext) + ".vs")
		switch {
		case err == nil:
			sh.Vertex = vs
		case !errors.Is(err, iofs.ErrNotExist):
			return trial.Result{}, err
		}
	}
	return trial.Run(context.Background(), sh, opts)
}

// printDiagnostics writes err like a compiler: one "file:line: message"
// per line, the file named as on the command line.
func printDiagnostics(w io.Writer, file string, err error) {
	var ce *compositor.CompileError
	if errors.As(err, &ce) && len(ce.Messages) > 0 {
		for _, m := range ce.Messages {
			fmt.Fprintln(w, m.String())
		}
		return
	}
	for _, line := range strings.Split(strings.TrimSpace(err.Error()), "\n") {
		if !strings.HasPrefix(line, file) && !strings.HasPrefix(line, filepath.Clean(file)) {
			line = file + ": " + line
		}
		fmt.Fprintln(w, line)
	}
}

func shaderList(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("shader list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var dirs []string
	fs.Var((*shaderDirs)(&dirs), "shaders", "also list the plugins in `DIR` (repeatable)")
	asJSON := fs.Bool("json", false, "print JSON: an array of passes with their inputs")
	fs.Usage = func() { fmt.Fprint(stderr, shaderUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "shadercast shader list: unexpected argument %q\n%s", fs.Arg(0), shaderUsage)
		return 2
	}
	r, err := plugins.Open(plugins.Options{Dirs: dirs, Builtins: true})
	if err != nil {
		fmt.Fprintf(stderr, "shadercast shader list: %v\n", err)
		return 1
	}
	defer r.Close()
	list := r.List()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(list); err != nil {
			fmt.Fprintf(stderr, "shadercast shader list: %v\n", err)
			return 1
		}
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, in := range list {
		src := in.File
		if src == "" {
			src = "built-in"
		} else if in.Builtin {
			src = "built-in " + src
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", in.Name, src, in.Description)
		for _, p := range in.Inputs {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", p.Name, p.Type, describeInput(p))
		}
		if in.LastError != "" {
			fmt.Fprintf(tw, "  error:\t%s\n", strings.ReplaceAll(in.LastError, "\n", " | "))
		}
	}
	tw.Flush()
	return 0
}

// describeInput is an input's default and range in a few words.
func describeInput(p plugins.Input) string {
	var parts []string
	if p.Default != nil {
		parts = append(parts, "default "+jsonText(p.Default))
	}
	if p.Min != nil || p.Max != nil {
		parts = append(parts, fmt.Sprintf("range %s..%s", jsonText(p.Min), jsonText(p.Max)))
	}
	if len(p.Values) > 0 {
		var vals []string
		for i, v := range p.Values {
			s := fmt.Sprint(v)
			if i < len(p.Labels) {
				s += "=" + p.Labels[i]
			}
			vals = append(vals, s)
		}
		parts = append(parts, "values "+strings.Join(vals, ", "))
	}
	return strings.Join(parts, "; ")
}

func jsonText(v any) string {
	if v == nil {
		return "-"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// shaderDirs is the repeatable --shaders flag.
type shaderDirs []string

func (d *shaderDirs) String() string { return strings.Join(*d, ",") }

func (d *shaderDirs) Set(v string) error {
	*d = append(*d, v)
	return nil
}
