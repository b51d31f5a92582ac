// What the latent map takes from npm: regl-scatterplot draws the points with WebGL, d3-scale keeps
// its view in data coordinates (and gives the ticks), d3-contour gives the density contours.
// build.sh bundles this into ../map_libs.js, which sets globalThis.VaeMapLibs.
import createScatterplot from "regl-scatterplot";
import { scaleLinear } from "d3-scale";
import { contourDensity } from "d3-contour";

globalThis.VaeMapLibs = { createScatterplot, scaleLinear, contourDensity };
