// What the latent map takes from npm: regl draws the points with WebGL (ui/js/map_gl.js), d3-scale gives
// its axes' ticks, d3-contour the density contours. build.sh bundles this into ../map_libs.js, which sets
// globalThis.VaeMapLibs. (regl-scatterplot, measured against it, is a devDependency: bench/map_frames.py.)
import createREGL from "regl";
import { scaleLinear } from "d3-scale";
import { contourDensity } from "d3-contour";

globalThis.VaeMapLibs = { createREGL, scaleLinear, contourDensity };
