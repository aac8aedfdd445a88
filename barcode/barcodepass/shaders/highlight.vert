#version 330 core
// Highlight geometry in image pixels (x right, y down); no flip, because
// row 0 of every target is the top of the image.
layout(location = 0) in vec2 aPos;
layout(location = 1) in vec4 aColor;
uniform vec2 uTargetSize;
out vec4 vColor;

void main() {
	gl_Position = vec4(aPos / uTargetSize * 2.0 - 1.0, 0.0, 1.0);
	vColor = aColor;
}
