"""The render wing: pictures out of arrays, with no browser and no model.

Holds: images (uint8 images, grids, PNG, GIF, thumbnails), map_layout (where things go on a 2-D map: its box,
grids of places, ellipse outlines), map_image (a latent map as a PNG, drawn with Pillow).

May import: nothing of the project outside this wing.
"""
