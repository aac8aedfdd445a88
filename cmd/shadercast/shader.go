package main

import (
	"fmt"
	"io"
)

// shaderCmd runs "shadercast shader check|list".
func shaderCmd(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "shadercast shader: not built yet")
	return 2
}
