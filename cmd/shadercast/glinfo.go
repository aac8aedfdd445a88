package main

import (
	"encoding/json"
	"io"

	"github.com/shadercast/shadercast/compositor"
)

func glinfo(w io.Writer) error {
	dev, err := compositor.OpenDevice(compositor.DeviceOptions{})
	if err != nil {
		return err
	}
	defer dev.Close()
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(dev.Info())
}
