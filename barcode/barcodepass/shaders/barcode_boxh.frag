#version 330 core
// Barcode pass, stage 2 of 3: horizontal box mean of both planes.
// Go reference: barcode.boxHPixel (barcode/stages.go); keep in sync.
//
// Input  uInput, uInput1: stage 1 planes (RGBA32F, RG32F), w x h = uInputSize.
// Output: two targets of the same formats and size: the mean of the 2r+1
//         texels (x-r .. x+r, y), clamped to the texture edge.
// Defines:
//   RADIUS  pooling radius r = barcode Params.WindowRadius (0..12), a
//           compile-time constant so that the loop unrolls.

uniform sampler2D uInput;
uniform sampler2D uInput1;
uniform ivec2 uInputSize;
const int kRadius = RADIUS;

layout(location = 0) out vec4 plane0;
layout(location = 1) out vec2 plane1;

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec4 a = vec4(0.0);
    vec2 b = vec2(0.0);
    for (int i = -kRadius; i <= kRadius; i++) {
        ivec2 q = ivec2(clamp(p.x + i, 0, uInputSize.x - 1), p.y);
        a += texelFetch(uInput, q, 0);
        b += texelFetch(uInput1, q, 0).rg;
    }
    float inv = 1.0 / float(2 * kRadius + 1);
    plane0 = a * inv;
    plane1 = b * inv;
}
