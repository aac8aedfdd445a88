#version 330 core
// Barcode highlight: flat colour, alpha-blended onto the frame in place.
in vec4 vColor;
out vec4 fragColor;

void main() {
	fragColor = vColor;
}
