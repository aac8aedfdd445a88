//go:build !service

package main

import (
	"errors"
	"io"
	"log/slog"
)

// Temporary while the service's packages land.
func serve(args []string, stdout, stderr io.Writer, log *slog.Logger) error {
	return errors.New("serve: being integrated")
}
