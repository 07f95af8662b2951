"""jepakit-pointjepa: Point-JEPA (arXiv 2404.16432) as a jepakit plugin: farthest-point-sampled patches of a point
cloud embedded by a mini-PointNet, put in a spatially contiguous order by the sequencer, and masked as contiguous
runs of that order; point-cloud data from real 3-D models (Sweet Home 3D's furniture), parametric shapes, or
the user's own .ply/.obj/.npy/.xyz files."""

__version__ = "0.1.0"
