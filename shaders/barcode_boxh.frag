#version 330 core
// Barcode pass, stage 2 of 3: horizontal box mean.
// Go reference: barcode.boxHPixel (barcode/stages.go); keep in sync.
//
// Input  uInput: stage 1 output, RGBA32F, w x 2h = uInputSize.
// Output: RGBA32F, same size (w x 2h): mean of the 2r+1 texels
//         (x-r .. x+r, y), clamped to the texture edge. Rows are independent,
//         so both stacked planes are filtered in one draw.
// Uniforms:
//   uRadius (int)  pooling radius r = barcode Params.WindowRadius (0..12)

uniform sampler2D uInput;
uniform ivec2 uInputSize;
uniform int uRadius;

out vec4 fragColor;

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec4 acc = vec4(0.0);
    for (int i = -uRadius; i <= uRadius; i++) {
        int x = clamp(p.x + i, 0, uInputSize.x - 1);
        acc += texelFetch(uInput, ivec2(x, p.y), 0);
    }
    fragColor = acc * (1.0 / float(2 * uRadius + 1));
}
