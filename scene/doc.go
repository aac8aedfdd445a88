// Package scene describes what shadercast composes: named sources, scenes
// made of ordered layers that show them, and the programme (the scene on
// air), on one canvas. It is the model only: parsing a scenes file or an API
// body (Parse), checking it (Validate, with every error placed by its JSON
// path and line), and the geometry of a layer (Place). Opening sources and
// drawing layers belong to the packages that do I/O and GL; this one has no
// dependencies, so that the service, the compositor and tests share one
// meaning of a description.
//
// The model follows OBS (sources apart from the scene items that show
// them, z-order by list position, scenes as sources) and GStreamer's
// glvideomixer (per-layer rectangle and alpha); docs/SCENES.md says where
// it differs and why.
package scene
