module github.com/shadercast/shadercast

go 1.26.0

require (
	github.com/go-gl/gl v0.0.0-20231021071112-07e5d0ea2e71 // indirect
	github.com/makiuchi-d/gozxing v0.1.1 // indirect
	golang.org/x/image v0.47.0 // indirect
	golang.org/x/xerrors v0.0.0-20200804184101-5ec99f83aff1 // indirect
)
