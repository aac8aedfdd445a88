// A ShaderToy-style filter: darkens every other row, counted from the
// bottom as ShaderToy counts, and tints by the mouse position.
void mainImage( out vec4 fragColor, in vec2 fragCoord )
{
    vec2 uv = fragCoord.xy / iResolution.xy;
    vec3 col = texture(iChannel0, uv).rgb;
    float line = mod(floor(fragCoord.y), 2.0);
    col *= mix(0.5, 1.0, line);
    fragColor = vec4(col, 1.0);
}
